"""Judge-only benchmark: N ready answers judged against the fake OpenAI server at latency L.

Measures, in one run, for a concurrency C (items judged at once):
- `manage.py judge --input X --output Y --concurrency C` as a shell runs it, and the same
  command on an empty input (Django's start-up and the rubric, not judging);
- a judge-only batch (the API's kind "answers") on a judging worker
  (`-Q judging -P threads -c C`), from its start to the session completed;
against the bound N × L ÷ C (target: wall time ≤ 1.2 × bound).

Usage: python benchmarks/judge_bench.py [--items 128] [--latency-ms 500] [--concurrency 8]
Uses its own database (assay_bench) and Redis database; needs `make services`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.pipeline_bench import Pool, _ensure_database, _start_fake, _start_workers, _stop  # noqa: E402

ITEM_CONTEXT = "[Doc: sat.md] Sparse Adapter Tuning (SAT) updates 0.8% of the weights of a pretrained model."


def _items(n: int) -> list[dict]:
    return [
        {
            "id": i,
            "question": f"How many weights does SAT update (item {i})?",
            "answer": "SAT updates 0.8% of the weights of the pretrained model.",
            "context": [ITEM_CONTEXT],
        }
        for i in range(1, n + 1)
    ]


def _command(*, items: list[dict], base_url: str, concurrency: int) -> float:
    """Wall time of `manage.py judge` in a subprocess, start-up included."""
    env = {**os.environ, "LLM_BASE_URL": base_url, "LLM_MODEL": "fake-judge"}
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.json", Path(tmp) / "out.json"
        source.write_text(json.dumps(items))
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "manage.py", "judge", "--input", str(source), "--output", str(target),
             "--concurrency", str(concurrency)],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.monotonic() - started
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        results = json.loads(target.read_text())["results"]
    assert [r["id"] for r in results] == [item["id"] for item in items], "results out of order"
    assert all(r["status"] == "ok" for r in results), "an item was not judged"
    return wall


def _batch(*, items: list[dict], base_url: str, concurrency: int) -> float:
    """Wall time of a judge-only batch on a fresh judging worker, after a warm-up batch."""
    os.environ.update({"LLM_BASE_URL": base_url, "LLM_MODEL": "fake-judge"})
    from accounts.services import team_create
    from sessions.batches import BatchRequest, batch_submit
    from sessions.models import EvaluationSession
    from sessions.session_settings import SessionSettings

    team = team_create(name="Bench", slug="bench")
    settings = SessionSettings(judge_provider="openai", judge_model="fake-judge", llm_base_url=base_url)

    def run(batch_items: list[dict]) -> float:
        started = time.monotonic()
        outcome = batch_submit(
            team=team,
            user=None,
            request=BatchRequest(kind="answers", name="judge bench", items=batch_items, settings=settings),
            fingerprint="",
        )
        session = outcome.batch.session
        while True:
            session.refresh_from_db(fields=["status"])
            if not session.is_active:
                break
            time.sleep(0.01)
        wall = time.monotonic() - started
        assert session.status == EvaluationSession.Status.COMPLETED, session.status
        return wall

    workers = _start_workers([Pool(queues="judging", concurrency=concurrency)])
    try:
        run(items[: min(len(items), concurrency)])  # opens the worker's connections and HTTP pool
        return run(items)
    finally:
        for worker in workers:
            _stop(worker)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=128)
    parser.add_argument("--latency-ms", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    _ensure_database()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    items = _items(args.items)
    bound = args.items * args.latency_ms / 1000 / args.concurrency
    fake, base_url = _start_fake(args.latency_ms)
    try:
        start_up = _command(items=[], base_url=base_url, concurrency=args.concurrency)
        command = _command(items=items, base_url=base_url, concurrency=args.concurrency)
        batch = _batch(items=items, base_url=base_url, concurrency=args.concurrency)
    finally:
        _stop(fake)
    print(f"{args.items} items, L = {args.latency_ms} ms, C = {args.concurrency}: bound N x L / C = {bound:.2f} s")
    print(
        f"manage.py judge: {command:.2f} s = {command / bound:.2f} x bound, start-up included "
        f"(an empty input takes {start_up:.2f} s; judging {command - start_up:.2f} s = "
        f"{(command - start_up) / bound:.2f} x bound) (target <= 1.2)"
    )
    print(f"judge-only batch on a worker (-P threads -c C): {batch:.2f} s = {batch / bound:.2f} x bound (<= 1.2)")


if __name__ == "__main__":
    main()
