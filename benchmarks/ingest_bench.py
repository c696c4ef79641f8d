"""Ingestion throughput (chunks per second) and memory with the local all-MiniLM-L6-v2 model.

    python benchmarks/ingest_bench.py [--synthetic-chars 400000] [--pdf-pages 500] [--xlsx-rows 50000]

Runs ``corpora.services.document_upload`` and ``document_ingest`` in-process (store the
upload, parse, chunk, embed, store the chunks and make them searchable) on the sample
corpus and on a larger synthetic Markdown text, in a throwaway database
(``assay_bench_ingest``) that is dropped afterwards. The model is loaded (and warmed)
before timing, as a worker would have it loaded. ``--pdf-pages`` and ``--xlsx-rows``
also generate a PDF of that many pages and a one-sheet workbook of that many rows (in a
temporary folder, deleted afterwards) and report each one's time and the process's peak
resident memory while ingesting it (the peak is reset before each, from the RSS with the
model loaded).
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


_WORDS = [
    "adapter", "sparse", "gradient", "memory", "latency", "mask", "warmup", "fine-tuning", "model",
    "layer", "weights", "accuracy", "training", "inference", "parameters", "benchmark", "table",
]  # fmt: skip


def _synthetic_pdf(path: Path, pages: int) -> None:
    """``pages`` pages, each a heading and five paragraphs of about 60 words."""
    import random

    from fpdf import FPDF

    rng = random.Random(5)
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    for page in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(0, 10, f"Section {page}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for _ in range(5):
            text = " ".join(rng.choice(_WORDS) for _ in range(60)).capitalize() + "."
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    pdf.output(str(path))


def _synthetic_workbook(path: Path, rows: int) -> None:
    """One sheet: a header row and ``rows`` rows of experiment results (6 columns)."""
    import random

    import xlsxwriter

    rng = random.Random(6)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("Runs")
    sheet.write_row(0, 0, ["Run", "Method", "Dataset", "Learning rate", "Accuracy", "Latency ms"])
    for row in range(1, rows + 1):
        sheet.write_row(
            row,
            0,
            [
                f"run-{row}",
                rng.choice(["LoRA", "SAT", "Full FT", "Adapter"]),
                rng.choice(["SST-2", "MNLI", "QNLI"]),
                rng.choice([1e-4, 3e-4, 1e-3]),
                round(rng.uniform(70, 95), 2),
                rng.randint(5, 90),
            ],
        )
    workbook.close()


def _rss_mb(field: str) -> float:
    """VmRSS or VmHWM (peak) of this process, in MB, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> bool:
    """Make VmHWM start again from the current RSS (Linux 4.0+); False if not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic-chars", type=int, default=400_000)
    parser.add_argument("--pdf-pages", type=int, default=0, help="also ingest a generated PDF of this many pages")
    parser.add_argument("--xlsx-rows", type=int, default=0, help="also ingest a generated workbook of this many rows")
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
    from corpora.services import corpus_create
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
            from llm.embeddings import BATCH_THREADS

            print(
                f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}; "
                f"documents embedded with {BATCH_THREADS} threads"
            )
            for label, files in (("sample corpus", sample), (f"synthetic {synthetic.stat().st_size:,} B", [synthetic])):
                chunks, started = 0, time.perf_counter()
                for path in files:
                    chunks += _ingest(corpus, path)
                elapsed = time.perf_counter() - started
                rate = chunks / elapsed
                print(f"{label}: {len(files)} file(s), {chunks} chunks in {elapsed:.2f} s = {rate:.1f} chunks/s")
            large = []
            if args.pdf_pages:
                large.append((f"PDF, {args.pdf_pages} pages", Path(tmp) / "large.pdf", _synthetic_pdf, args.pdf_pages))
            if args.xlsx_rows:
                large.append(
                    (
                        f"workbook, {args.xlsx_rows:,} rows",
                        Path(tmp) / "large.xlsx",
                        _synthetic_workbook,
                        args.xlsx_rows,
                    )
                )
            for label, path, generate, size in large:
                generate(path, size)
                rss_before = _rss_mb("VmRSS")
                exact = _reset_peak_rss()
                started = time.perf_counter()
                chunks = _ingest(corpus, path)
                elapsed = time.perf_counter() - started
                peak = _rss_mb("VmHWM") if exact else float("nan")
                print(
                    f"{label} ({path.stat().st_size / 1e6:.1f} MB): {chunks} chunks in {elapsed:.1f} s = "
                    f"{chunks / elapsed:.1f} chunks/s; RSS {rss_before:.0f} MB before, peak {peak:.0f} MB "
                    f"(+{peak - rss_before:.0f} MB)"
                )
    finally:
        connections.close_all()
        _admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    return 0


def _ingest(corpus, path: Path) -> int:
    """Upload and ingest one file; its chunk count (a failure is printed)."""
    from corpora.services import document_ingest, document_upload

    document, _ = document_upload(corpus=corpus, file=path, enqueue=False)
    document = document_ingest(document_id=document.pk)
    if document.status != "ready":
        print(f"  {path.name} FAILED: {document.error_message}")
    return document.chunk_count


if __name__ == "__main__":
    raise SystemExit(main())
