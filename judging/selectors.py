"""Reads for judging: rubrics as specs, effective (overridden) ratings, session summaries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from judging.models import Criterion, Judgment, Override, RobustnessProbe, Rubric
from judging.rubric import CriterionSpec, RubricSpec, ScaleLevel
from judging.scoring import MeanSummary, mean_with_count, weighted_score


def rubric_default() -> Rubric:
    """The shared default rubric of DESIGN.md §1 (created by a migration; recreated if deleted)."""
    rubric = Rubric.objects.filter(team__isnull=True, is_default=True).order_by("-version").first()
    if rubric is None:
        from django.db import transaction

        from judging.rubric import DEFAULT_RUBRIC

        with transaction.atomic():
            rubric, created = Rubric.objects.get_or_create(
                team=None,
                name="Default",
                version=1,
                defaults={"instructions": DEFAULT_RUBRIC.instructions, "is_default": True},
            )
            if created:
                Criterion.objects.bulk_create(
                    Criterion(
                        rubric=rubric, key=c.key, name=c.name, description=c.description, weight=c.weight, position=i
                    )
                    for i, c in enumerate(DEFAULT_RUBRIC.criteria)
                )
    return rubric


def rubrics_for_team(*, team) -> QuerySet[Rubric]:
    from django.db.models import Q

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


def judgments_prefetched(queryset: QuerySet[Judgment]) -> QuerySet[Judgment]:
    return queryset.prefetch_related(
        Prefetch("verdicts", queryset=Judgment.verdicts.rel.related_model.objects.select_related("criterion")),
        Prefetch("overrides", queryset=Override.objects.select_related("reviewer")),
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


@dataclass
class SessionScores:
    overall: MeanSummary
    per_criterion: dict[str, MeanSummary]
    judging_ms_total: int
    unparseable: int
    failed: int
    flagged: int


def session_scores(*, session) -> SessionScores:
    """Honest accounting: every answered question counts; unjudged ones are missing, not zero."""
    from sessions.models import Answer

    spec = rubric_spec(rubric=session.rubric)
    answers = Answer.objects.filter(question__session=session, status=Answer.Status.OK)
    judgments = judgments_prefetched(
        Judgment.objects.filter(answer__in=answers, rubric=session.rubric).order_by("answer_id", "repeat_index")
    )
    by_answer: dict[int, list[Judgment]] = defaultdict(list)
    for judgment in judgments:
        by_answer[judgment.answer_id].append(judgment)
    scores: list[Decimal | None] = []
    per_criterion_points: dict[str, list[Decimal | None]] = {c.key: [] for c in spec.criteria}
    judging_ms = unparseable = failed = flagged = 0
    for answer_id in answers.values_list("pk", flat=True):
        items = by_answer.get(answer_id, [])
        answer_scores = []
        per_answer_points: dict[str, list[int]] = defaultdict(list)
        for judgment in items:
            judging_ms += judgment.latency_ms or 0
            unparseable += judgment.status == Judgment.Status.UNPARSEABLE
            failed += judgment.status == Judgment.Status.FAILED
            flagged += judgment.flagged_for_review
            ratings, score = judgment_effective(judgment=judgment, spec=spec)
            if score is not None:
                answer_scores.append(score)
                for rating in ratings:
                    per_answer_points[rating.key].append(rating.points)
        scores.append(_mean(answer_scores))
        for key in per_criterion_points:
            points = per_answer_points.get(key)
            per_criterion_points[key].append(_mean([Decimal(p) for p in points]) if points else None)
    probe_ms = Judgment.objects.filter(probe__answer__question__session=session).values_list("latency_ms", flat=True)
    judging_ms += sum(ms or 0 for ms in probe_ms)
    return SessionScores(
        overall=mean_with_count(scores),
        per_criterion={key: mean_with_count(values) for key, values in per_criterion_points.items()},
        judging_ms_total=judging_ms,
        unparseable=unparseable,
        failed=failed,
        flagged=flagged,
    )


def _mean(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.1"))


def session_robustness(*, session):
    """The robustness summary of DESIGN.md §1 (None when the session ran no probes)."""
    from judging.robustness import ProbeOutcome, robustness_summary

    spec = rubric_spec(rubric=session.rubric)
    probes = list(
        RobustnessProbe.objects.filter(answer__question__session=session)
        .select_related("answer__question")
        .prefetch_related(
            Prefetch("judgments", queryset=judgments_prefetched(Judgment.objects.filter(repeat_index=0))),
            Prefetch(
                "answer__judgments",
                queryset=judgments_prefetched(Judgment.objects.filter(repeat_index=0, rubric=session.rubric)),
            ),
        )
    )
    if not probes:
        return None
    outcomes = []
    for probe in probes:
        genuine = next(iter(probe.answer.judgments.all()), None)
        fake = next(iter(probe.judgments.all()), None)
        g_ratings, g_score = judgment_effective(judgment=genuine, spec=spec) if genuine else ([], None)
        f_ratings, f_score = judgment_effective(judgment=fake, spec=spec) if fake else ([], None)
        outcomes.append(
            ProbeOutcome(
                strategy=probe.strategy,
                expected_criteria=tuple(probe.expected_criteria),
                genuine_ratings={r.key: r.rating for r in g_ratings} if g_score is not None else None,
                genuine_score=g_score,
                probe_ratings={r.key: r.rating for r in f_ratings} if f_score is not None else None,
                probe_score=f_score,
                genuine_key=str(probe.answer_id),
            )
        )
    return robustness_summary(rubric=spec, items=outcomes)


def stored_mean(*, session) -> MeanSummary | None:
    """The session's stored mean (see judging.services.session_score_summary_store)."""
    data = session.score_summary or {}
    if "n_total" not in data:
        return None
    return MeanSummary(
        mean=None if data.get("mean") is None else Decimal(data["mean"]),
        n_scored=int(data["n_scored"]),
        n_total=int(data["n_total"]),
        n_missing=int(data["n_missing"]),
    )
