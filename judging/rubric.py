"""Rubrics as plain data: criteria, weights, a rating scale and judge instructions.

A rubric is immutable once built; the database models (owned by ``judging.models``)
convert to and from :class:`RubricSpec` so that scoring, prompting and parsing never
depend on the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ScaleLevel:
    """One rating on the scale, e.g. ``Excellent`` worth 100 points."""

    label: str
    points: int


@dataclass(frozen=True)
class CriterionSpec:
    """One criterion; ``description`` is the question the judge answers."""

    key: str
    name: str
    description: str
    weight: Decimal


@dataclass(frozen=True)
class RubricSpec:
    name: str
    version: int
    criteria: tuple[CriterionSpec, ...]
    scale: tuple[ScaleLevel, ...]
    instructions: str

    def criterion(self, key: str) -> CriterionSpec:
        for criterion in self.criteria:
            if criterion.key == key:
                return criterion
        raise KeyError(key)

    def level(self, label: str) -> ScaleLevel:
        for level in self.scale:
            if level.label == label:
                return level
        raise KeyError(label)

    def levels_best_first(self) -> tuple[ScaleLevel, ...]:
        return tuple(sorted(self.scale, key=lambda level: level.points, reverse=True))


DEFAULT_SCALE: tuple[ScaleLevel, ...] = (
    ScaleLevel(label="Excellent", points=100),
    ScaleLevel(label="Good", points=80),
    ScaleLevel(label="Fair", points=60),
    ScaleLevel(label="Bad", points=40),
    ScaleLevel(label="Worse", points=20),
)

DEFAULT_INSTRUCTIONS = (
    "You are an impartial evaluator of answers produced by a retrieval-augmented "
    "question answering system. Judge the answer only against the question, the "
    "conversation history and the retrieved context you are given. For every "
    "criterion choose exactly one rating from the scale and give a one-paragraph "
    "rationale that cites the evidence (claims supported or not by the context, "
    "missing aspects, repetition)."
)

DEFAULT_RUBRIC = RubricSpec(
    name="Default RAG rubric",
    version=1,
    criteria=(
        CriterionSpec(
            key="relevance",
            name="Relevance",
            description="Does the answer address the question asked?",
            weight=Decimal("0.5"),
        ),
        CriterionSpec(
            key="faithfulness",
            name="Faithfulness",
            description="Is every claim supported by the given context?",
            weight=Decimal("0.2"),
        ),
        CriterionSpec(
            key="completeness",
            name="Completeness",
            description="Does it cover the major aspects the context supports?",
            weight=Decimal("0.1"),
        ),
        CriterionSpec(
            key="clarity",
            name="Clarity",
            description="Is it well structured and unambiguous?",
            weight=Decimal("0.1"),
        ),
        CriterionSpec(
            key="conciseness",
            name="Conciseness",
            description="Is it free of repetition and padding?",
            weight=Decimal("0.1"),
        ),
    ),
    scale=DEFAULT_SCALE,
    instructions=DEFAULT_INSTRUCTIONS,
)


def validate_rubric(spec: RubricSpec) -> list[str]:
    """Return readable errors; an empty list means the rubric is usable."""
    errors: list[str] = []
    if not spec.name.strip():
        errors.append("The rubric needs a name.")
    if not spec.criteria:
        errors.append("A rubric needs at least one criterion.")
    if len(spec.scale) < 2:
        errors.append("The scale needs at least two levels.")

    seen_keys: set[str] = set()
    seen_names: set[str] = set()
    total = Decimal(0)
    for criterion in spec.criteria:
        label = criterion.name or criterion.key or "(unnamed)"
        if not criterion.key.strip():
            errors.append(f"Criterion {label!r} needs a key.")
        if not criterion.name.strip():
            errors.append(f"Criterion {criterion.key!r} needs a name.")
        if criterion.key in seen_keys:
            errors.append(f"Criterion key {criterion.key!r} is used more than once.")
        seen_keys.add(criterion.key)
        if criterion.name.casefold() in seen_names:
            errors.append(f"Criterion name {criterion.name!r} is used more than once.")
        seen_names.add(criterion.name.casefold())
        weight = Decimal(criterion.weight)
        if not (Decimal(0) < weight <= Decimal(1)):
            errors.append(f"Criterion {label!r} has weight {weight}; weights must be greater than 0 and at most 1.")
        total += weight
    if spec.criteria and total != Decimal(1):
        errors.append(f"Weights must sum to exactly 1; they sum to {total}.")

    seen_labels: set[str] = set()
    seen_points: set[int] = set()
    for level in spec.scale:
        if not level.label.strip():
            errors.append("Every scale level needs a label.")
        if level.label.casefold() in seen_labels:
            errors.append(f"Scale label {level.label!r} is used more than once.")
        seen_labels.add(level.label.casefold())
        if not (0 <= level.points <= 100):
            errors.append(
                f"Scale level {level.label!r} is worth {level.points} points; points must be between 0 and 100."
            )
        if level.points in seen_points:
            errors.append(f"Two scale levels are worth {level.points} points; each level needs its own value.")
        seen_points.add(level.points)
    return errors
