"""Judge calibration benchmark: the offline judge on the labelled calibration set.

Judges every item of ``tests/judging/data/calibration.json`` with the offline judge and the
default rubric, and prints for each split (``tune``, ``holdout``) the AUROC of genuine
against fake answers, overall and per fake category, the mean scores, the lowest genuine
score against the median fake, and the time per answer: the judge's own logic (embeddings
cached) and the embedding (all-MiniLM-L6-v2 on the CPU, loaded once, never downloaded).

Usage: python benchmarks/judge_calibration_bench.py [--split tune|holdout|all]
Needs no database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["HF_HUB_OFFLINE"] = "1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["tune", "holdout", "all"], default="all")
    args = parser.parse_args()

    import django

    django.setup()
    from judging.robustness import auroc
    from tests.judging.calibration_support import calibration_items, local_embedder, offline_score

    embed, spent = local_embedder()
    splits = ["tune", "holdout"] if args.split == "all" else [args.split]
    for split in splits:
        chosen = calibration_items(split=split)

        spent.clear()
        started = time.perf_counter()
        scores = [offline_score(item=item, embed=embed) for item in chosen]  # embeds every text once
        first_pass = time.perf_counter() - started
        started = time.perf_counter()
        for item in chosen:  # embeddings cached: the judge's own logic
            offline_score(item=item, embed=embed)
        logic = (time.perf_counter() - started) / len(chosen)
        genuine = [s for s, item in zip(scores, chosen, strict=True) if item["label"] == "genuine"]
        fake = [s for s, item in zip(scores, chosen, strict=True) if item["label"] == "fake"]
        print(
            f"{split}: {len(genuine)} genuine / {len(fake)} fake; AUROC {auroc(genuine=genuine, fake=fake):.3f}; "
            f"genuine mean {statistics.mean(genuine):.1f}, fake mean {statistics.mean(fake):.1f}; "
            f"lowest genuine {min(genuine)}, median fake {statistics.median(fake)}"
        )
        for category in sorted({item["category"] for item in chosen if item["label"] == "fake"}):
            group = [s for s, item in zip(scores, chosen, strict=True) if item["category"] == category]
            print(f"  {category:24} n={len(group):2}  AUROC {auroc(genuine=genuine, fake=group):.3f}")
        print(
            f"  per answer: judge logic {logic * 1000:.0f} ms (embeddings cached); "
            f"embedding {sum(spent) / len(chosen) * 1000:.0f} ms; first pass {first_pass / len(chosen) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
