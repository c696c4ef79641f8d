"""Probe benchmark: the demo's questions through the real pipeline, with robustness probes.

Ingests the sample corpus (scripts/make_sample_corpus.py: the SAT paper, its results
workbook and blog post) once, then runs the demo's question set as an evaluation session
with the offline provider (generator and judge) and robustness on, in this process, and
prints what the session page's robustness section shows: per strategy how many probes
were made and skipped and how often every expected criterion dropped below the genuine
answer's rating, the AUROC of weighted scores and the worst case. ``--verbose`` lists
each probe that did not pull its expected criteria down.

Usage: python benchmarks/probe_bench.py [--verbose]
Uses its own database (assay_bench_probes); needs `make services`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["ASSAY_DB_NAME"] = "assay_bench_probes"
os.environ["DEBUG"] = "0"
os.environ["LLM_BASE_URL"] = ""  # the offline provider, whatever the shell says

DB_NAME = "assay_bench_probes"


def _ensure_database() -> None:
    from config import embedded

    embedded.start()
    import psycopg

    settings = embedded.database_settings(name="postgres")
    with psycopg.connect(host=settings["HOST"], user="postgres", dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f"CREATE DATABASE {DB_NAME}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--verbose", action="store_true", help="list the probes whose criteria did not drop")
    args = parser.parse_args()
    _ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    from tests.support.demo_probes import demo_robustness, probe_misses

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        session, summary = demo_robustness(out=Path(tmp))
    elapsed = time.perf_counter() - started
    print(f"session #{session.pk}: {session.status}, ran in {elapsed:.0f} s (load: {os.getloadavg()[0]:.1f})")
    print(f"{'strategy':<20} {'probes':>6} {'skipped':>7} {'dropped':>8}  rate   mean fake")
    for strategy in summary.strategies:
        rate = "-" if strategy.rate is None else f"{strategy.rate:.0%}"
        print(
            f"{strategy.strategy:<20} {strategy.probes:>6} {strategy.skipped:>7} "
            f"{strategy.all_expected_dropped:>3}/{strategy.judged:<4}  {rate:>5}  {strategy.mean_fake_score}"
        )
    auroc = "-" if summary.auroc is None else f"{summary.auroc:.3f}"
    print(
        f"AUROC {auroc}; worst fake {summary.worst_fake_score} ({summary.worst_fake_strategy}); "
        f"lowest genuine {summary.lowest_genuine_score}"
    )
    print(summary.verdict)
    if args.verbose:
        for miss in probe_misses(session=session):
            print("-" * 80)
            print(miss)


if __name__ == "__main__":
    main()
