"""Pipeline benchmark: a session of 10 conversations × 5 turns against the fake OpenAI server.

For a fixed per-call latency L it measures, in one run:
- the session's wall time with the documented worker layout (retrieval workers of their
  own, generation and judging on threads; C = their threads in all);
- the same calls one after another (one worker thread), the sequential baseline;
- the bound max(critical path, total calls × L ÷ C), where the critical path is one
  conversation's sequential calls (turn 1, then a query rewrite + generation for each
  follow-up, then the last answer's judge call);
and, with a zero-latency server, the orchestration overhead per question.

Usage: python benchmarks/pipeline_bench.py [--latency-ms 500] [--threads 8 --processes 2]
       [--retrieval-pool threads|prefork --retrieval-concurrency 8 --retrieval-processes 2] [--shared]
Uses its own database (assay_bench) and Redis database; needs `make services`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["ASSAY_DB_NAME"] = "assay_bench"
os.environ["ASSAY_REDIS_DB"] = "14"
os.environ["LOG_LEVEL"] = "WARNING"
# Workers run as in production: with DEBUG on, Django keeps and formats every query.
os.environ["DEBUG"] = "0"

CONVERSATIONS, TURNS = 10, 5
QUESTIONS = [
    "What is Sparse Adapter Tuning?",
    "How many parameters does it train?",
    "Does it slow down inference?",
    "What learning rate does it use?",
    "How does it compare to full fine-tuning?",
]


def _ensure_database() -> None:
    from config import embedded

    embedded.start()
    import psycopg

    settings = embedded.database_settings(name="postgres")
    with psycopg.connect(host=settings["HOST"], user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'assay_bench'").fetchone()
        if not exists:
            conn.execute("CREATE DATABASE assay_bench")


def _start_fake(latency_ms: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_openai", "--port", "0", "--latency-ms", str(latency_ms),
         "--judge-json"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    base_url = proc.stdout.readline().strip()
    return proc, base_url


@dataclass(frozen=True)
class Pool:
    """One kind of worker process: its queues, pool, threads or processes, and how many."""

    queues: str
    pool: str = "threads"
    concurrency: int = 8
    processes: int = 1

    def describe(self) -> str:
        return f"{self.processes} x `-Q {self.queues} -P {self.pool} -c {self.concurrency}`"


# Everything in one thread: the sequential baseline and the orchestration overhead.
ONE_THREAD = [Pool(queues="ingest,retrieval,generation,judging", concurrency=1)]


def _start_workers(layout: list[Pool]) -> list[subprocess.Popen]:
    from config.celery_app import app

    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                pool.queues,
                "-P",
                pool.pool,
                "-c",
                str(pool.concurrency),
                "-n",
                f"bench-{n}-{i}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "warning",
            ],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for n, pool in enumerate(layout)
        for i in range(pool.processes)
    ]
    deadline = time.monotonic() + 120
    while len(app.control.ping(timeout=0.5) or []) < len(procs):
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start")
    return procs


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _run_session(*, team, corpus, base_url: str, layout: list[Pool]) -> tuple[float, int]:
    """Wall time of one session on freshly started workers, after a two-turn warm-up
    session per worker process (a worker's first turn opens its database connections and
    HTTP pool and runs the embedding model for the first time: a one-off, not per-question
    overhead)."""
    from sessions.models import Answer

    workers = _start_workers(layout)
    try:
        _session_until_done(team=team, corpus=corpus, base_url=base_url, conversations=len(workers), turns=2)
        wall, session = _session_until_done(
            team=team, corpus=corpus, base_url=base_url, conversations=CONVERSATIONS, turns=TURNS
        )
        assert Answer.objects.filter(question__session=session, status="ok").count() == CONVERSATIONS * TURNS
        return wall, CONVERSATIONS * TURNS
    finally:
        for worker in workers:
            _stop(worker)


def _session_until_done(*, team, corpus, base_url: str, conversations: int, turns: int):
    from sessions.question_files import ConversationInput, QuestionInput
    from sessions.services import session_create, session_start
    from sessions.session_settings import SessionSettings

    session = session_create(
        team=team,
        corpus=corpus,
        name=f"bench {conversations}x{turns}",
        conversations=[
            ConversationInput(label=f"c{i}", questions=[QuestionInput(text=q) for q in QUESTIONS[:turns]])
            for i in range(conversations)
        ],
        settings=SessionSettings(
            generator_provider="openai",
            generator_model="fake",
            llm_base_url=base_url,
            judge_provider="openai",
            judge_model="fake-judge",
        ),
    )
    started = time.monotonic()
    session_start(session=session)
    while True:
        session.refresh_from_db(fields=["status"])
        if session.status in ("completed", "completed_with_errors", "cancelled"):
            break
        time.sleep(0.01)
    wall = time.monotonic() - started
    assert session.status == "completed", session.status
    return wall, session


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8, help="threads per generation/judging worker process")
    parser.add_argument("--processes", type=int, default=2, help="generation/judging worker processes")
    parser.add_argument("--retrieval-pool", choices=["threads", "prefork"], default="threads")
    parser.add_argument("--retrieval-concurrency", type=int, default=8, help="per retrieval worker process")
    parser.add_argument("--retrieval-processes", type=int, default=2, help="retrieval worker processes")
    parser.add_argument(
        "--shared", action="store_true", help="the layout before the retrieval stage: every queue on the same workers"
    )
    parser.add_argument("--only-concurrent", action="store_true", help="skip the sequential and zero-latency runs")
    parser.add_argument("--only-overhead", action="store_true", help="only the zero-latency run")
    args = parser.parse_args()
    _ensure_database()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.services import team_create
    from corpora.models import Corpus
    from corpora.services import corpus_create, document_ingest, document_upload
    from tests.sessions.pipeline_support import CORPUS_TEXT

    team = team_create(name="Bench", slug="bench")
    corpus = Corpus.objects.filter(team=team, name="bench").first()
    if corpus is None:
        corpus = corpus_create(team=team, name="bench")
        path = ROOT / "var" / "bench_notes.md"
        path.parent.mkdir(exist_ok=True)
        path.write_text(CORPUS_TEXT)
        document, _ = document_upload(corpus=corpus, file=path)
        document_ingest(document_id=document.pk)

    if args.shared:
        everything = "ingest,retrieval,generation,judging"
        layout = [Pool(queues=everything, concurrency=args.threads, processes=args.processes)]
    else:
        layout = [
            Pool(
                queues="retrieval",
                pool=args.retrieval_pool,
                concurrency=args.retrieval_concurrency,
                processes=args.retrieval_processes,
            ),
            Pool(queues="generation,judging", concurrency=args.threads, processes=args.processes),
        ]
    threads = sum(pool.concurrency * pool.processes for pool in layout)
    latency = args.latency_ms / 1000
    calls = CONVERSATIONS * TURNS + CONVERSATIONS * (TURNS - 1) + CONVERSATIONS * TURNS  # gen + rewrite + judge
    critical = (1 + 2 * (TURNS - 1) + 1) * latency
    bound = max(critical, calls * latency / threads)

    if args.only_overhead:
        _overhead(team=team, corpus=corpus)
        return
    fake, base_url = _start_fake(args.latency_ms)
    try:
        wall, _ = _run_session(team=team, corpus=corpus, base_url=base_url, layout=layout)
        sequential = None
        if not args.only_concurrent:
            sequential, _ = _run_session(team=team, corpus=corpus, base_url=base_url, layout=ONE_THREAD)
    finally:
        _stop(fake)
    print(f"session: {CONVERSATIONS} conversations x {TURNS} turns, {calls} LLM calls, L = {args.latency_ms} ms")
    print("workers: " + "; ".join(pool.describe() for pool in layout) + f" ({threads} threads or processes in all)")
    print(f"critical path {critical:.2f} s; calls x L / C = {calls * latency / threads:.2f} s; bound {bound:.2f} s")
    print(f"wall time {wall:.2f} s = {wall / bound:.2f} x bound (target <= 1.2)")
    if sequential is None:
        return
    print(
        f"one after another (1 thread): {sequential:.2f} s (calls x L = {calls * latency:.2f} s); "
        f"speed-up {sequential / wall:.1f}x"
    )
    _overhead(team=team, corpus=corpus)


def _overhead(*, team, corpus) -> None:
    fake0, base_url0 = _start_fake(0)
    try:
        zero_wall, questions = _run_session(team=team, corpus=corpus, base_url=base_url0, layout=ONE_THREAD)
    finally:
        _stop(fake0)

    print(
        f"zero-latency server, 1 thread: {zero_wall:.2f} s for {questions} questions = "
        f"{1000 * zero_wall / questions:.1f} ms orchestration per question (target <= 50 ms; includes "
        f"retrieval, 4 task hand-offs and the judge's bookkeeping)"
    )


if __name__ == "__main__":
    main()
