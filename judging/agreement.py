"""Judge–human agreement: how often reviewers' ratings match the judge's, per criterion.

Counted over the judgments a reviewer looked at, i.e. confirmed or overrode: a confirmed
criterion agrees with the judge, an overridden one carries the reviewer's latest rating.
Reported beside the robustness figures, never mixed into them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from judging.rubric import RubricSpec


@dataclass(frozen=True)
class CriterionAgreement:
    criterion: str
    name: str
    n: int
    exact: float | None  # share of identical ratings
    within_one: float | None  # share at most one scale level apart
    kappa: float | None  # Cohen's kappa with linear weights on the ordered scale

    def to_dict(self) -> dict[str, object]:
        return {
            "criterion": self.criterion,
            "name": self.name,
            "n": self.n,
            "exact": self.exact,
            "within_one": self.within_one,
            "weighted_kappa": self.kappa,
        }


@dataclass(frozen=True)
class AgreementSummary:
    reviewed: int  # judgments a reviewer confirmed or overrode
    confirmed: int
    overridden: int
    criteria: list[CriterionAgreement]

    def to_dict(self) -> dict[str, object]:
        return {
            "reviewed": self.reviewed,
            "confirmed": self.confirmed,
            "overridden": self.overridden,
            "criteria": [c.to_dict() for c in self.criteria],
        }


def weighted_kappa(*, pairs: Sequence[tuple[int, int]], levels: int) -> float | None:
    """Cohen's kappa with linear disagreement weights |i - j| / (levels - 1).

    ``pairs`` are (judge level, reviewer level) indexes in 0..levels-1. None when there
    are no pairs or when chance agreement is already perfect (every rating the same on
    both sides), where kappa is undefined.
    """
    if not pairs or levels < 2:
        return None
    n = len(pairs)
    judge_counts = [0] * levels
    human_counts = [0] * levels
    for a, b in pairs:
        judge_counts[a] += 1
        human_counts[b] += 1
    observed = sum(abs(a - b) for a, b in pairs) / (levels - 1) / n
    expected = (
        sum(judge_counts[i] * human_counts[j] * abs(i - j) for i in range(levels) for j in range(levels))
        / (levels - 1)
        / (n * n)
    )
    if expected == 0:
        return None
    return 1 - observed / expected


def agreement_summary(
    *, rubric: RubricSpec, reviewed: Sequence[tuple[dict[str, str], dict[str, str]]], confirmed: int, overridden: int
) -> AgreementSummary:
    """``reviewed``: per reviewed judgment, (judge's ratings, reviewer's ratings) by criterion key."""
    order = [level.label for level in rubric.levels_best_first()]
    position = {label: index for index, label in enumerate(order)}
    criteria = []
    for criterion in rubric.criteria:
        pairs = [
            (position[judge[criterion.key]], position[human[criterion.key]])
            for judge, human in reviewed
            if judge.get(criterion.key) in position and human.get(criterion.key) in position
        ]
        n = len(pairs)
        criteria.append(
            CriterionAgreement(
                criterion=criterion.key,
                name=criterion.name,
                n=n,
                exact=sum(a == b for a, b in pairs) / n if n else None,
                within_one=sum(abs(a - b) <= 1 for a, b in pairs) / n if n else None,
                kappa=weighted_kappa(pairs=pairs, levels=len(order)),
            )
        )
    return AgreementSummary(reviewed=len(reviewed), confirmed=confirmed, overridden=overridden, criteria=criteria)
