"""The offline judge's learned combiner: the stored model is what a refit on the tune split
gives (so a feature changed without a refit fails here), and the judge runs on it."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from benchmarks.fit_offline_judge import C_GRID, fit, groups_of, tune_table
from judging.combiner import FEATURES, MODEL_PATH, features, load_model
from judging.offline_judge import analyse, offline_judge
from judging.rubric import DEFAULT_RUBRIC


def _close(stored: Any, refit: Any, path: str = "") -> list[str]:
    """Where two stored models differ (floats to 1e-4: the last stored digit may differ across BLAS builds)."""
    if isinstance(stored, dict) and isinstance(refit, dict):
        if set(stored) != set(refit):
            return [f"{path}: keys {sorted(set(stored) ^ set(refit))}"]
        return [d for key in stored for d in _close(stored[key], refit[key], f"{path}.{key}")]
    if isinstance(stored, list) and isinstance(refit, list):
        if len(stored) != len(refit):
            return [f"{path}: {len(stored)} entries, refit {len(refit)}"]
        return [d for i, (a, b) in enumerate(zip(stored, refit, strict=True)) for d in _close(a, b, f"{path}[{i}]")]
    if isinstance(stored, float) or isinstance(refit, float):
        return [] if math.isclose(stored, refit, abs_tol=1e-4) else [f"{path}: stored {stored}, refit {refit}"]
    return [] if stored == refit else [f"{path}: stored {stored!r}, refit {refit!r}"]


@pytest.mark.timeout(900)  # embeds the 116 tune items
def test_refitting_on_the_tune_split_reproduces_the_stored_model(embed: Callable[[list[str]], np.ndarray]) -> None:
    stored = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert stored.pop("fitted_on")
    names, x, y, groups = tune_table(embed)
    assert names == list(FEATURES) and len(y) >= 100 and 0 < y.sum() < len(y)
    refit = fit(names, x, y, groups)
    differences = _close(stored, refit)
    assert not differences, "Refit with `python benchmarks/fit_offline_judge.py`:\n" + "\n".join(differences)
    # Every coefficient points the way its feature's evidence does (0 where it is free).
    assert all(e["coef"] * e["direction"] >= 0 for e in stored["features"])
    # Cross-validated, not just fitted: the figure the docs report sits beside the fit's own.
    assert refit["tune_cv_auroc"] <= refit["tune_fit_auroc"]
    # The rule's choice lies inside the grid, so a wider grid would not move it; and no weaker
    # regularisation beats it by more than one reordered pair per fold.
    grid = [float(c) for c in refit["cv_auroc_by_C"]]
    assert min(grid) < refit["C"] < max(grid) and refit["C"] in C_GRID
    assert max(refit["cv_auroc_by_C"].values()) - refit["tune_cv_auroc"] <= refit["cv_resolution"] + 1e-4


def test_groups_join_items_that_share_a_question_or_a_context() -> None:
    items = [
        {"question": "Q1", "context": ["a", "b"]},
        {"question": "q1 ", "context": ["c"]},  # same question as the first
        {"question": "Q2", "context": ["c"]},  # same context as the second
        {"question": "Q3", "context": ["b", "a"]},  # the first's context, in another order
        {"question": "Q4", "context": ["d"]},
    ]
    assert groups_of(items) == [0, 0, 0, 0, 1]


@pytest.mark.parametrize("label", ["genuine", "fake"])
def test_the_judge_rates_faithfulness_from_the_stored_models_probability(embed, sample_items, label) -> None:
    stored = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    model = load_model()
    entries = stored["features"]
    assert model.features == [e["name"] for e in entries] and all(name in FEATURES for name in model.features)
    item = sample_items[0]
    answer = item["answer"] if label == "genuine" else "It uses a quantum annealer with 512 qubits to rank passages."
    arguments = {"question": item["question"], "history": item["history"], "context": item["context"]}
    verdict = offline_judge(rubric=DEFAULT_RUBRIC, answer=answer, embed=embed, **arguments)
    # The probability, worked out here from the stored JSON alone: a logistic of a dot product.
    values = features(analyse(answer=answer, embed=embed, **arguments), model.features)
    logit = stored["intercept"] + sum((values[e["name"]] - e["mean"]) / e["scale"] * e["coef"] for e in entries)
    expected = 1 / (1 + math.exp(-logit))
    assert verdict.evidence["faithfulness"]["probability_right"] == pytest.approx(expected, abs=1e-3)
    assert verdict.evidence["relevance"]["probability_right"] == pytest.approx(expected, abs=1e-3)
