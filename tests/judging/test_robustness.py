from __future__ import annotations

import json
from decimal import Decimal

import pytest

from judging.robustness import ProbeOutcome, auroc, robustness_summary
from judging.rubric import DEFAULT_RUBRIC

GOOD = dict.fromkeys(("relevance", "faithfulness", "completeness", "clarity", "conciseness"), "Excellent")


def test_auroc_is_the_probability_a_genuine_answer_outscores_a_fake() -> None:
    assert auroc(genuine=[90, 80], fake=[10, 20]) == 1.0
    assert auroc(genuine=[10], fake=[90]) == 0.0
    assert auroc(genuine=[50, 50], fake=[50]) == 0.5
    assert auroc(genuine=[2, 1], fake=[1, 3]) == pytest.approx(0.375)
    assert auroc(genuine=[], fake=[1]) is None


def _outcome(strategy: str, expected: tuple[str, ...], probe: dict[str, str] | None, score: str | None, key: str):
    return ProbeOutcome(
        strategy=strategy,
        expected_criteria=expected,
        genuine_ratings=GOOD,
        genuine_score=Decimal("100.0") if key == "a" else Decimal("78.0"),
        probe_ratings=probe,
        probe_score=None if score is None else Decimal(score),
        genuine_key=key,
    )


def test_summary_counts_drops_per_strategy_and_criterion() -> None:
    items = [
        _outcome("truncation", ("completeness",), {**GOOD, "completeness": "Fair"}, "96.0", "a"),
        _outcome("truncation", ("completeness",), GOOD, "100.0", "b"),
        _outcome("padding", ("conciseness", "clarity"), {**GOOD, "conciseness": "Bad", "clarity": "Good"}, "92.0", "a"),
        _outcome("padding", ("conciseness", "clarity"), None, None, "b"),
    ]
    summary = robustness_summary(rubric=DEFAULT_RUBRIC, items=items)
    truncation, padding = summary.strategies
    assert (truncation.probes, truncation.judged, truncation.all_expected_dropped) == (2, 2, 1)
    assert truncation.criteria["completeness"].rate == 0.5
    assert (padding.probes, padding.judged, padding.all_expected_dropped) == (2, 1, 1)
    assert padding.criteria["clarity"].dropped == 1
    assert summary.n_unjudged == 1
    assert (summary.n_genuine, summary.n_fake) == (2, 3)
    assert summary.worst_fake_strategy == "truncation"
    assert summary.worst_fake_score == Decimal("100.0")
    assert summary.lowest_genuine_score == Decimal("78.0")
    assert not summary.separated
    assert summary.verdict.startswith("The judge did not separate genuine from fake answers (AUROC 0.42;")
    json.dumps(summary.to_dict())


def test_verdict_says_when_the_judge_separated_the_answers() -> None:
    items = [
        _outcome("off_topic", ("relevance",), {**GOOD, "relevance": "Worse"}, "62.0", "a"),
        _outcome("off_topic", ("relevance",), {**GOOD, "relevance": "Worse"}, "60.0", "b"),
    ]
    summary = robustness_summary(rubric=DEFAULT_RUBRIC, items=items)
    assert summary.separated
    assert summary.verdict == (
        "The judge separated genuine from fake answers (AUROC 1.00; worst fake 62.0 < lowest genuine 78.0)"
    )
    assert summary.to_dict()["strategies"][0]["mean_fake_score"] == "61.0"
