"""The calibration set (``data/calibration.json``) as the judge reads it; shared by the
calibration test and ``benchmarks/judge_calibration_bench.py``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from judging.offline_judge import offline_judge
from judging.rubric import DEFAULT_RUBRIC
from judging.scoring import weighted_score

DATA = Path(__file__).parent / "data" / "calibration.json"


def calibration_items(*, split: str) -> list[dict[str, Any]]:
    return [item for item in json.loads(DATA.read_text(encoding="utf-8")) if item["split"] == split]


def offline_score(*, item: dict[str, Any], embed: Callable[[list[str]], np.ndarray]) -> float:
    """The offline judge's weighted score for one item, with the default rubric."""
    history = [
        (turn["question"], turn["answer"]) if isinstance(turn, dict) else tuple(turn) for turn in item["history"]
    ]
    verdict = offline_judge(
        rubric=DEFAULT_RUBRIC,
        question=item["question"],
        history=history,
        context=item["context"],
        answer=item["answer"],
        embed=embed,
    )
    ratings = {key: label for key, (label, _) in verdict.ratings.items()}
    return float(weighted_score(ratings=ratings, rubric=DEFAULT_RUBRIC))
