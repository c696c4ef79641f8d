from __future__ import annotations

from decimal import Decimal

import pytest

from judging.rubric import DEFAULT_RUBRIC, CriterionSpec, RubricSpec, ScaleLevel
from judging.scoring import MeanSummary, mean_with_count, weighted_score

KEYS = ("relevance", "faithfulness", "completeness", "clarity", "conciseness")


def _ratings(*labels: str) -> dict[str, str]:
    return dict(zip(KEYS, labels, strict=True))


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (("Excellent",) * 5, "100.0"),
        (("Excellent", "Excellent", "Excellent", "Excellent", "Good"), "98.0"),
        (("Fair", "Bad", "Fair", "Fair", "Good"), "58.0"),
        (("Worse",) * 5, "20.0"),
    ],
)
def test_design_examples(labels: tuple[str, ...], expected: str) -> None:
    score = weighted_score(ratings=_ratings(*labels), rubric=DEFAULT_RUBRIC)
    assert score == Decimal(expected)
    assert str(score) == expected


def test_missing_criterion_raises() -> None:
    ratings = _ratings(*("Good",) * 5)
    del ratings["clarity"]
    with pytest.raises(ValueError, match="No rating for criterion 'Clarity'"):
        weighted_score(ratings=ratings, rubric=DEFAULT_RUBRIC)


def test_unknown_label_raises() -> None:
    with pytest.raises(ValueError, match="'Superb' for 'Relevance' is not on the scale"):
        weighted_score(ratings=_ratings("Superb", "Good", "Good", "Good", "Good"), rubric=DEFAULT_RUBRIC)


def test_rounds_half_up_to_one_decimal() -> None:
    rubric = RubricSpec(
        name="custom",
        version=1,
        criteria=(
            CriterionSpec(key="a", name="A", description="?", weight=Decimal("0.55")),
            CriterionSpec(key="b", name="B", description="?", weight=Decimal("0.45")),
        ),
        scale=(ScaleLevel("Top", 100), ScaleLevel("Mid", 81)),
        instructions="",
    )
    # 0.55 × 100 + 0.45 × 81 = 91.45 → 91.5 (half up, not half even)
    assert weighted_score(ratings={"a": "Top", "b": "Mid"}, rubric=rubric) == Decimal("91.5")


def test_mean_counts_missing_items_by_reason_not_as_zero() -> None:
    summary = mean_with_count(
        [Decimal("80.0")] * 46 + [Decimal("100.0")] + [None, None, None],
        missing_reasons=["failed", "unparseable", "pending"],
    )
    assert summary == MeanSummary(
        mean=Decimal("80.4"), n_scored=47, n_total=50, n_missing=3, n_failed=1, n_unparseable=1, n_pending=1
    )
    assert str(summary) == "mean 80.4 over 47 of 50 judged; 1 failed, 1 unparseable, 1 pending"
    two_failed = mean_with_count([Decimal("50.0"), None, None], missing_reasons=["failed", "failed"])
    assert str(two_failed) == "mean 50.0 over 1 of 3 judged; 2 failed"


def test_mean_without_missing_items_and_without_any_score() -> None:
    assert str(mean_with_count([Decimal("58.0"), Decimal("98.0")])) == "mean 78.0 over 2 of 2 judged"
    empty = mean_with_count([None], missing_reasons=["unparseable"])
    assert empty.mean is None
    assert str(empty) == "no score: 0 of 1 judged; 1 unparseable"
    assert empty.to_dict() == {
        "mean": None,
        "n_scored": 0,
        "n_total": 1,
        "n_missing": 1,
        "n_failed": 0,
        "n_unparseable": 1,
        "n_pending": 0,
    }
