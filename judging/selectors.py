"""Reads for judging: rubrics as specs, effective (overridden) ratings."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.models import Team
from judging.models import Confirmation, Criterion, Judgment, Override, Rubric
from judging.rubric import CriterionSpec, RubricSpec, ScaleLevel
from judging.scoring import weighted_score


def rubric_default() -> Rubric | None:
    """The shared default rubric (made by a migration; ``judging.services.rubric_default_ensure``
    makes it again if it was deleted)."""
    return Rubric.objects.filter(team__isnull=True, is_default=True).order_by("-version").first()


def rubrics_for_team(*, team: Team) -> QuerySet[Rubric]:
    return Rubric.objects.filter(Q(team=team) | Q(team__isnull=True)).prefetch_related("criteria")


_SPEC_CACHE: dict[tuple[int, int], RubricSpec] = {}
_CRITERION_IDS_CACHE: dict[tuple[int, int], dict[str, int]] = {}


def _cached_if_locked(cache: dict, rubric: Rubric, build):
    """Locked rubrics never change again, so what is read from them can be kept."""
    key = (rubric.pk, rubric.version)
    if rubric.locked and key in cache:
        return cache[key]
    value = build(rubric)
    if rubric.locked:
        cache[key] = value
    return value


def rubric_spec(*, rubric: Rubric) -> RubricSpec:
    """The rubric as plain data. Cached for locked rubrics."""
    return _cached_if_locked(_SPEC_CACHE, rubric, _rubric_spec)


def rubric_criterion_ids(*, rubric: Rubric) -> dict[str, int]:
    """The rubric's criterion ids by key. Cached for locked rubrics."""
    return _cached_if_locked(_CRITERION_IDS_CACHE, rubric, lambda r: dict(r.criteria.values_list("key", "pk")))


def _rubric_spec(rubric: Rubric) -> RubricSpec:
    criteria = sorted(rubric.criteria.all(), key=lambda c: c.position)
    return RubricSpec(
        name=rubric.name,
        version=rubric.version,
        criteria=tuple(
            CriterionSpec(key=c.key, name=c.name, description=c.description, weight=Decimal(c.weight)) for c in criteria
        ),
        scale=tuple(ScaleLevel(label=level["label"], points=int(level["points"])) for level in rubric.scale),
        instructions=rubric.instructions,
    )


@dataclass
class EffectiveRating:
    key: str
    name: str
    rating: str
    points: int
    rationale: str
    judge_rating: str
    overridden: bool = False
    overrides: list[Override] = field(default_factory=list)


def judgment_effective(*, judgment: Judgment, spec: RubricSpec) -> tuple[list[EffectiveRating], Decimal | None]:
    """The judge's verdicts with reviewers' overrides applied (latest wins); and the score.

    Expects `verdicts__criterion` and `overrides` prefetched when called in a loop.
    """
    verdicts = {v.criterion.key: v for v in judgment.verdicts.all()}
    overrides_by_key: dict[str, list[Override]] = defaultdict(list)
    criteria_by_id = {}
    for verdict in verdicts.values():
        criteria_by_id[verdict.criterion_id] = verdict.criterion.key
    for override in judgment.overrides.all():
        key = criteria_by_id.get(override.criterion_id)
        if key is None:
            key = Criterion.objects.get(pk=override.criterion_id).key
        overrides_by_key[key].append(override)
    ratings: list[EffectiveRating] = []
    for criterion in spec.criteria:
        verdict = verdicts.get(criterion.key)
        if verdict is None:
            continue
        history = sorted(overrides_by_key.get(criterion.key, []), key=lambda o: (o.created_at, o.pk))
        label = history[-1].new_rating if history else verdict.rating
        ratings.append(
            EffectiveRating(
                key=criterion.key,
                name=criterion.name,
                rating=label,
                points=spec.level(label).points,
                rationale=verdict.rationale,
                judge_rating=verdict.rating,
                overridden=bool(history),
                overrides=history,
            )
        )
    if judgment.status != Judgment.Status.OK or len(ratings) != len(spec.criteria):
        return ratings, None
    score = weighted_score(ratings={r.key: r.rating for r in ratings}, rubric=spec)
    return ratings, score


def judgment_judge_ratings(*, judgment: Judgment, spec: RubricSpec) -> tuple[dict[str, str] | None, Decimal | None]:
    """The judge's own ratings and weighted score, reviewers' overrides left out: what the
    robustness figures measure. (None, None) until the judgment has a full verdict."""
    ratings = {v.criterion.key: v.rating for v in judgment.verdicts.all()}
    if judgment.status != Judgment.Status.OK or any(c.key not in ratings for c in spec.criteria):
        return None, None
    return ratings, weighted_score(ratings=ratings, rubric=spec)


def judgments_prefetched(queryset: QuerySet[Judgment]) -> QuerySet[Judgment]:
    return queryset.prefetch_related(
        Prefetch("verdicts", queryset=Judgment.verdicts.rel.related_model.objects.select_related("criterion")),
        Prefetch("overrides", queryset=Override.objects.select_related("reviewer")),
        Prefetch("confirmations", queryset=Confirmation.objects.select_related("reviewer")),
    )


def judgments_filter(
    queryset: QuerySet[Judgment],
    *,
    session_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    flagged: bool | None = None,
    overridden: bool | None = None,
) -> QuerySet[Judgment]:
    """Narrow (an already team-scoped) queryset of judgments; ``None`` leaves a filter off."""
    if session_id is not None:
        queryset = queryset.filter(
            Q(answer__question__session_id=session_id) | Q(probe__answer__question__session_id=session_id)
        )
    if kind is not None:
        queryset = queryset.filter(answer__isnull=kind == Judgment.Kind.PROBE)
    if status is not None:
        queryset = queryset.filter(status=status)
    if flagged is not None:
        queryset = queryset.filter(flagged_for_review=flagged)
    if overridden is not None:
        has_override = Exists(Override.objects.filter(judgment=OuterRef("pk")))
        queryset = queryset.filter(has_override if overridden else ~has_override)
    return queryset
