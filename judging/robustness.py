"""Summaries of judge robustness probes: did the expected criteria drop, and do weighted
scores separate genuine from fake answers (AUROC and the worst case)?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from judging.rubric import RubricSpec

SEPARATION_AUROC = 0.9  # below this the judge does not separate genuine from fake answers


def auroc(*, genuine: Sequence[float], fake: Sequence[float]) -> float | None:
    """Probability that a random genuine answer outscores a random fake (ties count 0.5).

    This is the Mann-Whitney U statistic divided by the number of pairs; None when
    either side is empty.
    """
    if not genuine or not fake:
        return None
    ordered = sorted([(float(v), 1) for v in genuine] + [(float(v), 0) for v in fake])
    # Rank sum of the genuine scores, ties sharing their average rank.
    rank_sum = 0.0
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1][0] == ordered[index][0]:
            end += 1
        average_rank = (index + end) / 2 + 1
        rank_sum += average_rank * sum(1 for _, is_genuine in ordered[index : end + 1] if is_genuine)
        index = end + 1
    n_genuine, n_fake = len(genuine), len(fake)
    u = rank_sum - n_genuine * (n_genuine + 1) / 2
    return u / (n_genuine * n_fake)


@dataclass(frozen=True)
class ProbeOutcome:
    """One probe next to the genuine answer it was made from; None where unjudged."""

    strategy: str
    expected_criteria: tuple[str, ...]
    genuine_ratings: Mapping[str, str] | None
    genuine_score: Decimal | None
    probe_ratings: Mapping[str, str] | None
    probe_score: Decimal | None
    genuine_key: str | None = None  # identifies the genuine answer (deduplicates its score)


@dataclass
class CriterionDrop:
    criterion: str
    dropped: int = 0
    compared: int = 0

    @property
    def rate(self) -> float | None:
        return self.dropped / self.compared if self.compared else None

    def to_dict(self) -> dict[str, object]:
        return {"criterion": self.criterion, "dropped": self.dropped, "compared": self.compared, "rate": self.rate}


@dataclass
class StrategySummary:
    strategy: str
    expected_criteria: tuple[str, ...]
    probes: int = 0
    skipped: int = 0  # genuine answers the strategy could not make a probe from
    judged: int = 0
    all_expected_dropped: int = 0
    criteria: dict[str, CriterionDrop] = field(default_factory=dict)
    mean_fake_score: Decimal | None = None

    @property
    def rate(self) -> float | None:
        """Share of judged probes on which every expected criterion dropped."""
        return self.all_expected_dropped / self.judged if self.judged else None

    def to_dict(self) -> dict[str, object]:
        return {
            "strategy": self.strategy,
            "expected_criteria": list(self.expected_criteria),
            "probes": self.probes,
            "skipped": self.skipped,
            "judged": self.judged,
            "all_expected_dropped": self.all_expected_dropped,
            "rate": self.rate,
            "criteria": [drop.to_dict() for drop in self.criteria.values()],
            "mean_fake_score": None if self.mean_fake_score is None else str(self.mean_fake_score),
        }


@dataclass
class RobustnessSummary:
    strategies: list[StrategySummary]
    auroc: float | None
    n_genuine: int
    n_fake: int
    n_unjudged: int
    worst_fake_strategy: str | None
    worst_fake_score: Decimal | None
    lowest_genuine_score: Decimal | None
    separated: bool
    verdict: str

    def to_dict(self) -> dict[str, object]:
        return {
            "strategies": [s.to_dict() for s in self.strategies],
            "auroc": self.auroc,
            "n_genuine": self.n_genuine,
            "n_fake": self.n_fake,
            "n_unjudged": self.n_unjudged,
            "worst_fake_strategy": self.worst_fake_strategy,
            "worst_fake_score": None if self.worst_fake_score is None else str(self.worst_fake_score),
            "lowest_genuine_score": None if self.lowest_genuine_score is None else str(self.lowest_genuine_score),
            "separated": self.separated,
            "verdict": self.verdict,
        }


def _verdict(*, value: float | None, worst_fake: Decimal | None, lowest_genuine: Decimal | None) -> tuple[bool, str]:
    if value is None or worst_fake is None or lowest_genuine is None:
        return False, "Not enough judged answers to tell whether the judge separates genuine from fake answers."
    if value >= SEPARATION_AUROC and worst_fake < lowest_genuine:
        return True, (
            f"The judge separated genuine from fake answers (AUROC {value:.2f}; "
            f"worst fake {worst_fake} < lowest genuine {lowest_genuine})"
        )
    if value >= SEPARATION_AUROC:
        return False, (
            f"The judge mostly separated genuine from fake answers, but not always (AUROC {value:.2f}; "
            f"worst fake {worst_fake} ≥ lowest genuine {lowest_genuine})"
        )
    return False, (
        f"The judge did not separate genuine from fake answers (AUROC {value:.2f}; "
        f"worst fake {worst_fake} vs lowest genuine {lowest_genuine})"
    )


def robustness_summary(
    *,
    rubric: RubricSpec,
    items: list[ProbeOutcome],
    skipped: Mapping[str, tuple[tuple[str, ...], int]] | None = None,
) -> RobustnessSummary:
    """Per strategy and expected criterion: how often the probe's rating fell strictly below
    the genuine answer's (in points); overall: AUROC of weighted scores and the worst case.

    ``skipped``: strategy → (expected criteria, how many genuine answers it could not make a
    probe from), e.g. fabricated numbers for answers without figures."""
    points = {level.label: level.points for level in rubric.scale}
    by_strategy: dict[str, StrategySummary] = {}
    for strategy, (expected, count) in (skipped or {}).items():
        if count:
            by_strategy[strategy] = StrategySummary(
                strategy=strategy,
                expected_criteria=tuple(expected),
                criteria={c: CriterionDrop(criterion=c) for c in expected},
                skipped=count,
            )
    fake_scores: list[tuple[Decimal, str]] = []
    genuine_scores: dict[str, Decimal] = {}
    unjudged = 0
    for index, item in enumerate(items):
        summary = by_strategy.setdefault(
            item.strategy,
            StrategySummary(
                strategy=item.strategy,
                expected_criteria=tuple(item.expected_criteria),
                criteria={c: CriterionDrop(criterion=c) for c in item.expected_criteria},
            ),
        )
        summary.probes += 1
        if item.genuine_score is not None:
            genuine_scores[item.genuine_key if item.genuine_key is not None else f"#{index}"] = Decimal(
                item.genuine_score
            )
        if item.probe_score is not None:
            fake_scores.append((Decimal(item.probe_score), item.strategy))
        if item.probe_ratings is None or item.genuine_ratings is None:
            unjudged += 1
            continue
        summary.judged += 1
        every = True
        for criterion in item.expected_criteria:
            drop = summary.criteria.setdefault(criterion, CriterionDrop(criterion=criterion))
            genuine_label = item.genuine_ratings.get(criterion)
            probe_label = item.probe_ratings.get(criterion)
            if genuine_label not in points or probe_label not in points:
                every = False
                continue
            drop.compared += 1
            if points[probe_label] < points[genuine_label]:
                drop.dropped += 1
            else:
                every = False
        summary.all_expected_dropped += every

    for summary in by_strategy.values():
        scores = [score for score, strategy in fake_scores if strategy == summary.strategy]
        if scores:
            summary.mean_fake_score = (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.1"))

    genuine_values = list(genuine_scores.values())
    value = auroc(genuine=[float(v) for v in genuine_values], fake=[float(s) for s, _ in fake_scores])
    worst = max(fake_scores, key=lambda pair: pair[0]) if fake_scores else None
    lowest = min(genuine_values) if genuine_values else None
    separated, text = _verdict(value=value, worst_fake=worst[0] if worst else None, lowest_genuine=lowest)
    return RobustnessSummary(
        strategies=list(by_strategy.values()),
        auroc=value,
        n_genuine=len(genuine_values),
        n_fake=len(fake_scores),
        n_unjudged=unjudged,
        worst_fake_strategy=worst[1] if worst else None,
        worst_fake_score=worst[0] if worst else None,
        lowest_genuine_score=lowest,
        separated=separated,
        verdict=text,
    )
