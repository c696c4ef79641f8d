"""The one place where ratings become a weighted score."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from judging.rubric import RubricSpec

ONE_DECIMAL = Decimal("0.1")


def weighted_score(*, ratings: Mapping[str, str], rubric: RubricSpec) -> Decimal:
    """Σ weight × points over the rubric's criteria, rounded half up to one decimal.

    ``ratings`` maps criterion key to scale label. Every criterion must be rated
    with a label on the scale; extra keys are ignored.
    """
    points_by_label = {level.label: level.points for level in rubric.scale}
    total = Decimal(0)
    for criterion in rubric.criteria:
        if criterion.key not in ratings:
            raise ValueError(f"No rating for criterion {criterion.name!r}.")
        label = ratings[criterion.key]
        if label not in points_by_label:
            raise ValueError(
                f"Rating {label!r} for {criterion.name!r} is not on the scale ({', '.join(points_by_label)})."
            )
        total += Decimal(criterion.weight) * Decimal(points_by_label[label])
    return total.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class MeanSummary:
    """A mean that says how many items it stands for; missing items are not zeros."""

    mean: Decimal | None
    n_scored: int
    n_total: int
    n_missing: int
    # Why the missing ones have no score: three different things, never lumped together.
    n_failed: int = 0
    n_unparseable: int = 0
    n_pending: int = 0

    @property
    def missing_text(self) -> str:
        """``2 failed, 1 unparseable``: the missing items by reason."""
        reasons = ((self.n_failed, "failed"), (self.n_unparseable, "unparseable"), (self.n_pending, "pending"))
        parts = [f"{count} {label}" for count, label in reasons if count]
        unexplained = self.n_missing - self.n_failed - self.n_unparseable - self.n_pending
        if unexplained > 0:
            parts.append(f"{unexplained} not scored")
        return ", ".join(parts)

    def __str__(self) -> str:
        if self.mean is None:
            text = f"no score: 0 of {self.n_total} judged"
        else:
            text = f"mean {self.mean} over {self.n_scored} of {self.n_total} judged"
        if self.n_missing:
            text += f"; {self.missing_text}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "mean": None if self.mean is None else str(self.mean),
            "n_scored": self.n_scored,
            "n_total": self.n_total,
            "n_missing": self.n_missing,
            "n_failed": self.n_failed,
            "n_unparseable": self.n_unparseable,
            "n_pending": self.n_pending,
        }


MISSING_REASONS = ("failed", "unparseable", "pending")


def mean_with_count(values: Iterable[Decimal | None], *, missing_reasons: Iterable[str] = ()) -> MeanSummary:
    """Mean of the scored values; ``None`` entries are counted as missing, and
    ``missing_reasons`` (one of MISSING_REASONS per missing entry) says why."""
    scored: list[Decimal] = []
    total = 0
    for value in values:
        total += 1
        if value is not None:
            scored.append(Decimal(value))
    mean = (sum(scored, Decimal(0)) / len(scored)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP) if scored else None
    reasons = Counter(missing_reasons)
    return MeanSummary(
        mean=mean,
        n_scored=len(scored),
        n_total=total,
        n_missing=total - len(scored),
        n_failed=reasons["failed"],
        n_unparseable=reasons["unparseable"],
        n_pending=reasons["pending"],
    )
