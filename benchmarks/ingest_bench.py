"""Ingestion throughput (chunks per second) with the local all-MiniLM-L6-v2 model.

    python benchmarks/ingest_bench.py [--synthetic-chars 400000]

Runs ``corpora.services.document_ingest`` in-process (parse, chunk, embed, store) on the
sample corpus and on a larger synthetic Markdown text, in a throwaway database
(``assay_bench_ingest``) that is dropped afterwards. The model is loaded (and warmed)
before timing, as a worker would have it loaded.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
BENCH_DB = "assay_bench_ingest"


def _admin(sql: str) -> None:
    import psycopg

    from config import embedded

    settings = embedded.database_settings(name="postgres")
    with psycopg.connect(dbname="postgres", host=settings["HOST"], user=settings["USER"], autocommit=True) as conn:
        conn.execute(sql)


def _synthetic_markdown(chars: int) -> str:
    import random

    rng = random.Random(3)
    words = [
        "adapter", "sparse", "gradient", "memory", "latency", "mask", "warmup", "fine-tuning", "model",
        "layer", "weights", "accuracy", "training", "inference", "parameters", "benchmark", "table",
        "results", "ablation", "learning", "rate", "batch", "sequence", "token", "attention",
    ]  # fmt: skip
    parts, size, section = [], 0, 0
    while size < chars:
        if size // 6000 >= section:
            section += 1
            parts.append(f"\n## Section {section}\n")
        sentences = []
        for _ in range(rng.randint(3, 7)):
            sentence = " ".join(rng.choice(words) for _ in range(rng.randint(8, 22)))
            sentences.append(sentence.capitalize() + ".")
        paragraph = " ".join(sentences)
        parts.append(paragraph + "\n")
        size += len(paragraph)
    return "# Synthetic report\n" + "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic-chars", type=int, default=400_000)
    args = parser.parse_args(argv)

    _admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    _admin(f"CREATE DATABASE {BENCH_DB}")
    os.environ["ASSAY_DB_NAME"] = BENCH_DB
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from make_sample_corpus import write_sample_corpus

    from accounts.services import team_create
    from corpora.services import corpus_create, document_ingest, document_upload
    from llm.embeddings import get_embedder

    try:
        call_command("migrate", verbosity=0)
        with tempfile.TemporaryDirectory() as tmp:
            settings.MEDIA_ROOT = Path(tmp) / "media"
            get_embedder(name="local:all-MiniLM-L6-v2").embed(["warm up"] * 8)
            team = team_create(name="Ingest benchmark")
            corpus = corpus_create(team=team, name="bench")
            sample = [p for p in write_sample_corpus(out=Path(tmp) / "sample") if p.suffix != ".json"]
            synthetic = Path(tmp) / "synthetic.md"
            synthetic.write_text(_synthetic_markdown(args.synthetic_chars))
            import torch

            print(
                f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}; "
                f"torch {torch.__version__} with {torch.get_num_threads()} threads"
            )
            for label, files in (("sample corpus", sample), (f"synthetic {synthetic.stat().st_size:,} B", [synthetic])):
                chunks, started = 0, time.perf_counter()
                for path in files:
                    document, _ = document_upload(corpus=corpus, file=path, enqueue=False)
                    document = document_ingest(document_id=document.pk)
                    assert document.status == "ready", document.error_message
                    chunks += document.chunk_count
                elapsed = time.perf_counter() - started
                rate = chunks / elapsed
                print(f"{label}: {len(files)} file(s), {chunks} chunks in {elapsed:.2f} s = {rate:.1f} chunks/s")
    finally:
        connections.close_all()
        _admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
