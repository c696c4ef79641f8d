"""Judge-only items run side by side: `manage.py judge` keeps the input's order, never
runs more than its concurrency at once, and one failing item loses no other."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from judging.services import judge_items, rubric_default_ensure
from tests.support.judge_load import HoldingJudge, judge_items_numbered

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def openai_judge(settings, fake_openai):
    settings.LLM_BASE_URL = fake_openai.base_url
    settings.LLM_MODEL = "fake-judge"
    settings.LLM_MAX_RETRIES = 0
    return fake_openai


def _judge(tmp_path: Path, items: list[dict], *args: str) -> tuple[list[dict], str, str]:
    source, target = tmp_path / "in.json", tmp_path / "out.json"
    source.write_text(json.dumps(items))
    out, err = io.StringIO(), io.StringIO()
    call_command("judge", "--input", str(source), "--output", str(target), *args, stdout=out, stderr=err)
    return json.loads(target.read_text())["results"], out.getvalue(), err.getvalue()


def test_results_keep_the_input_order_when_items_finish_out_of_order(openai_judge):
    # Item 1 is held longest, so it ends last; its result still comes first.
    judge = HoldingJudge(hold=0.05, slow={1: 0.6, 2: 0.3})
    openai_judge.set_responder(judge)
    items = judge_items_numbered(6)
    finished: list[int] = []
    results = judge_items(
        items=items,
        rubric=rubric_default_ensure(),
        provider="openai",
        concurrency=3,
        on_done=lambda index, result: finished.append(index),
    )
    assert [r["id"] for r in results] == [item["id"] for item in items]
    assert [r["question"] for r in results] == [item["question"] for item in items]
    assert all(r["status"] == "ok" and r["weighted_score"] is not None for r in results)
    assert sorted(finished) == list(range(6)) and finished[-1] == 0 and finished != sorted(finished)
    assert sorted(judge.arrived[:3]) == [1, 2, 3]  # items start in input order


def test_the_command_runs_at_most_its_concurrency_at_once(openai_judge, tmp_path):
    judge = HoldingJudge(hold=0.25)
    openai_judge.set_responder(judge)
    results, out, err = _judge(tmp_path, judge_items_numbered(9), "--concurrency", "3")
    assert judge.peak == 3
    assert [r["id"] for r in results] == [f"q{i}" for i in range(1, 10)]
    assert "Judging" in err and "9/9" in err  # the progress bar, on stderr
    assert "Judging" not in out and out.splitlines()[0].startswith("#q1: ")
    assert "Judged 9 items (openai)" in out


@pytest.mark.parametrize(
    ("judge_concurrency", "worker_concurrency"),
    [(2, 8), (0, 2)],  # JUDGE_CONCURRENCY when set, else a worker's thread count
)
def test_concurrency_defaults_to_the_setting(openai_judge, tmp_path, settings, judge_concurrency, worker_concurrency):
    settings.JUDGE_CONCURRENCY = judge_concurrency
    settings.CELERY_WORKER_CONCURRENCY = worker_concurrency
    judge = HoldingJudge(hold=0.2)
    openai_judge.set_responder(judge)
    _judge(tmp_path, judge_items_numbered(6))
    assert judge.peak == 2


def test_an_item_whose_judge_call_fails_is_reported_and_the_others_are_kept(openai_judge, tmp_path):
    openai_judge.set_responder(HoldingJudge(hold=0.05))
    results, out, _ = _judge(tmp_path, judge_items_numbered(5, failing=3), "--concurrency", "4")
    assert [r["status"] for r in results] == ["ok", "ok", "failed", "ok", "ok"]
    failed = results[2]
    assert failed["id"] == "q3" and failed["error"] and failed["weighted_score"] is None
    assert all(len(r["verdicts"]) == 5 for i, r in enumerate(results) if i != 2)
    assert "#q3: failed" in out and "mean" in out and "over 4 of 5 scored" in out


def test_a_bad_item_is_named_before_any_is_judged(openai_judge, tmp_path):
    openai_judge.set_responder(HoldingJudge(hold=0.0))
    items = judge_items_numbered(4)
    del items[2]["answer"]
    with pytest.raises(CommandError, match="Item 3 needs 'question' and 'answer'"):
        _judge(tmp_path, items)
    assert not openai_judge.requests_to("/chat/completions")
    with pytest.raises(CommandError, match="at least 1"):
        _judge(tmp_path, judge_items_numbered(1), "--concurrency", "0")


def test_manage_py_judge_in_a_shell_keeps_its_output_and_draws_the_bar_on_stderr(openai_judge, tmp_path):
    """As an outside script runs it: `manage.py judge --input X --output Y`."""
    openai_judge.set_responder(HoldingJudge(hold=0.0))
    source, target = tmp_path / "in.json", tmp_path / "out.json"
    source.write_text(json.dumps(judge_items_numbered(3)))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "ASSAY_DB_NAME": connection.settings_dict["NAME"],
        "LLM_BASE_URL": openai_judge.base_url,
        "LLM_MODEL": "fake-judge",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "judge", "--input", str(source), "--output", str(target)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 4 and [line.split(":")[0] for line in lines[:3]] == ["#q1", "#q2", "#q3"]
    assert lines[-1].startswith("Judged 3 items (openai); mean ") and lines[-1].endswith(f"Written to {target}")
    assert "3/3" in done.stderr
    assert [r["id"] for r in json.loads(target.read_text())["results"]] == ["q1", "q2", "q3"]
