"""Report export benchmark: a 500-question session with robustness probes, exported four ways.

    python benchmarks/report_bench.py [--questions 500] [--strategies 7] [--formats pdf,xlsx,csv,json]

Builds a judged session in its own database (``assay_bench_reports``, dropped afterwards):
N questions in conversations of 5 turns, each with a ~600-character answer, five passages,
a ~2,500-character prompt, five verdicts with rationales, and one judged probe per
strategy. Then, for each format, it times what the export task runs (read the report,
render, return bytes) in a forked process, with that process's peak resident memory,
and prints the size of the file. Needs `make services`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import time
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


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _measure_in_child(*, session_id: int, fmt: str) -> dict:
    """Export in a forked process, so its peak RSS is the export's own (plus what it inherited)."""
    from django.db import connections

    from sessions.models import EvaluationSession
    from sessions.reports.exports import export_content

    connections.close_all()  # neither process may share the other's database socket
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: export, report, exit
        os.close(read_end)
        before = _rss_mb()
        started = time.perf_counter()
        content = export_content(session=EvaluationSession.objects.get(pk=session_id), fmt=fmt)
        result = {"seconds": time.perf_counter() - started, "size": len(content), "rss_before": before}
        result["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if fmt == "pdf":
            from pypdf import PdfReader

            result["pages"] = len(PdfReader(io.BytesIO(content)).pages)
        connections.close_all()
        os.write(write_end, json.dumps(result).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)


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

    from tests.sessions.report_support import build_session

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    session, probes = build_session(questions=args.questions, strategies=args.strategies)
    print(
        f"session: {args.questions} questions, {probes} judged probes (built in {time.perf_counter() - started:.1f} s)"
    )
    print(f"{'format':<8} {'seconds':>8} {'RSS before MB':>14} {'peak RSS MB':>12} {'size MB':>8}")
    for fmt in args.formats.split(","):
        result = _measure_in_child(session_id=session.pk, fmt=fmt)
        pages = f"  ({result['pages']} pages)" if result.get("pages") else ""
        print(
            f"{fmt:<8} {result['seconds']:>8.1f} {result['rss_before']:>14.0f} {result['peak_rss']:>12.0f}"
            f" {result['size'] / 2**20:>8.1f}{pages}"
        )
    from django.db import connections

    connections.close_all()
    if not args.keep:
        _admin("DROP DATABASE IF EXISTS assay_bench_reports")


if __name__ == "__main__":
    main()
