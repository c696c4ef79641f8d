from __future__ import annotations

import dataclasses
from decimal import Decimal

from judging.rubric import DEFAULT_RUBRIC, CriterionSpec, RubricSpec, ScaleLevel, validate_rubric


def _with(**changes: object) -> RubricSpec:
    return dataclasses.replace(DEFAULT_RUBRIC, **changes)


def _criteria(*weights: str) -> tuple[CriterionSpec, ...]:
    return tuple(
        CriterionSpec(key=f"c{i}", name=f"Criterion {i}", description="?", weight=Decimal(w))
        for i, w in enumerate(weights)
    )


def test_default_rubric_matches_design() -> None:
    assert [c.key for c in DEFAULT_RUBRIC.criteria] == [
        "relevance",
        "faithfulness",
        "completeness",
        "clarity",
        "conciseness",
    ]
    assert [c.weight for c in DEFAULT_RUBRIC.criteria] == [Decimal("0.5"), Decimal("0.2")] + [Decimal("0.1")] * 3
    assert [(s.label, s.points) for s in DEFAULT_RUBRIC.scale] == [
        ("Excellent", 100),
        ("Good", 80),
        ("Fair", 60),
        ("Bad", 40),
        ("Worse", 20),
    ]
    assert DEFAULT_RUBRIC.criterion("relevance").description == "Does the answer address the question asked?"
    assert validate_rubric(DEFAULT_RUBRIC) == []


def test_weights_must_sum_to_exactly_one() -> None:
    errors = validate_rubric(_with(criteria=_criteria("0.5", "0.2", "0.1", "0.1", "0.05")))
    assert errors == ["Weights must sum to exactly 1; they sum to 0.95."]


def test_thirds_do_not_sum_to_one_in_decimal() -> None:
    assert validate_rubric(_with(criteria=_criteria("0.333", "0.333", "0.334"))) == []
    assert any("sum to exactly 1" in e for e in validate_rubric(_with(criteria=_criteria("0.33", "0.33", "0.33"))))


def test_weights_must_be_positive_and_at_most_one() -> None:
    errors = validate_rubric(_with(criteria=_criteria("0", "1")))
    assert any("weight 0" in e for e in errors)
    errors = validate_rubric(_with(criteria=_criteria("1.5", "-0.5")))
    assert sum("greater than 0 and at most 1" in e for e in errors) == 2


def test_duplicate_keys_names_and_labels_are_reported() -> None:
    criteria = _criteria("0.5", "0.5")
    duplicate = (criteria[0], dataclasses.replace(criteria[0], weight=Decimal("0.5")))
    errors = validate_rubric(_with(criteria=duplicate))
    assert any("key 'c0' is used more than once" in e for e in errors)
    assert any("name 'Criterion 0' is used more than once" in e for e in errors)
    scale = (ScaleLevel("Pass", 100), ScaleLevel("pass", 0))
    assert any("label 'pass' is used more than once" in e for e in validate_rubric(_with(scale=scale)))


def test_scale_needs_two_levels_with_points_in_range() -> None:
    assert "The scale needs at least two levels." in validate_rubric(_with(scale=(ScaleLevel("Only", 100),)))
    errors = validate_rubric(_with(scale=(ScaleLevel("Super", 120), ScaleLevel("Fail", -1))))
    assert sum("points must be between 0 and 100" in e for e in errors) == 2


def test_rubric_needs_a_criterion() -> None:
    assert "A rubric needs at least one criterion." in validate_rubric(_with(criteria=()))
