"""Report export benchmark: a 500-question session with robustness probes, exported four ways.

    python benchmarks/report_bench.py [--questions 500] [--strategies 7] [--formats pdf,xlsx,csv,json]

Builds a judged session in its own database (``assay_bench_reports``, dropped afterwards):
N questions in conversations of 5 turns, each with a ~600-character answer, five passages,
a ~2,500-character prompt, five verdicts with rationales, and one judged probe per
strategy. Then, for each format, it times what the export task runs (read the report,
render, write bytes) and the peak of Python memory allocated meanwhile (tracemalloc),
and prints the size of the file. Needs `make services`.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["ASSAY_DB_NAME"] = "assay_bench_reports"
os.environ["LOG_LEVEL"] = "WARNING"
os.environ["DEBUG"] = "0"  # with DEBUG on, Django keeps every query


def _admin(sql: str) -> None:
    import psycopg

    from config import embedded

    embedded.start()
    settings = embedded.database_settings(name="postgres")
    with psycopg.connect(host=settings["HOST"], user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--strategies", type=int, default=7)
    parser.add_argument("--formats", default="pdf,xlsx,csv,json")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    _admin("DROP DATABASE IF EXISTS assay_bench_reports")
    _admin("CREATE DATABASE assay_bench_reports")
    import django

    django.setup()
    from django.core.management import call_command

    from sessions.reports.exports import export_content
    from tests.sessions.report_support import build_session

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    session, probes = build_session(questions=args.questions, strategies=args.strategies)
    print(
        f"session: {args.questions} questions, {probes} judged probes (built in {time.perf_counter() - started:.1f} s)"
    )
    print(f"{'format':<8} {'seconds':>8} {'peak MB (py)':>13} {'size MB':>8}")
    for fmt in args.formats.split(","):
        tracemalloc.start()
        started = time.perf_counter()
        content = export_content(session=session, fmt=fmt)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        extra = ""
        if fmt == "pdf":
            import io

            from pypdf import PdfReader

            extra = f"  ({len(PdfReader(io.BytesIO(content)).pages)} pages)"
        print(f"{fmt:<8} {elapsed:>8.1f} {peak / 2**20:>13.0f} {len(content) / 2**20:>8.1f}{extra}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS: {rss:.0f} MB")
    from django.db import connections

    connections.close_all()
    if not args.keep:
        _admin("DROP DATABASE IF EXISTS assay_bench_reports")


if __name__ == "__main__":
    main()
