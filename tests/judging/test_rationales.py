"""Every rationale agrees with its rating and cites its evidence, over many verdicts: the
sample set's answers and their probes, and the calibration set's genuine and fake answers
(the held-out third; the demo's verdicts are checked in test_demo_probes.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from judging.offline_judge import offline_judge
from judging.probes import make_probes
from judging.rubric import DEFAULT_RUBRIC
from tests.judging.rationale_checks import rationale_problem

CALIBRATION = Path(__file__).parent / "data" / "calibration.json"


def _history(turns: list[Any]) -> list[tuple[str, str]]:
    return [(t["question"], t["answer"]) if isinstance(t, dict) else (t[0], t[1]) for t in turns]


def _problems(items: list[dict[str, Any]], embed: Callable[[list[str]], np.ndarray]) -> tuple[list[str], int, int]:
    top = DEFAULT_RUBRIC.levels_best_first()[0].label
    problems: list[str] = []
    best = below = 0
    for item in items:
        verdict = offline_judge(
            rubric=DEFAULT_RUBRIC,
            question=item["question"],
            history=_history(item["history"]),
            context=item["context"],
            answer=item["answer"],
            embed=embed,
        )
        for key, (label, rationale) in verdict.ratings.items():
            best += label == top
            below += label != top
            why = rationale_problem(criterion=key, label=label, top=top, rationale=rationale, answer=item["answer"])
            if why:
                problems.append(f"{item.get('id', item['question'][:40])} {key}: {why}: {rationale}")
    return problems, best, below


@pytest.fixture(scope="module")
def probe_items(sample_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items = []
    for item in sample_items:
        drafts = make_probes(question=item["question"], genuine_answer=item["answer"], context=item["context"], seed=5)
        items += [item] + [dict(item, id=f"{item['id']}/{d.strategy}", answer=d.fake_answer) for d in drafts]
    return items


def test_sample_answers_and_probes_have_rationales_that_agree_with_their_ratings(probe_items, embed) -> None:
    problems, best, below = _problems(probe_items, embed)
    assert best > 100 and below > 100
    assert not problems, "\n".join(problems)


def test_calibration_answers_have_rationales_that_agree_with_their_ratings(embed) -> None:
    # The held-out split: the calibration test has embedded it already in a full run.
    items = [i for i in json.loads(CALIBRATION.read_text(encoding="utf-8")) if i["split"] == "holdout"]
    problems, best, below = _problems(items, embed)
    assert best > 80 and below > 60
    assert not problems, "\n".join(problems[:20])
