"""Review queue selectors: the team's judgments, filtered, searched and sorted in the database.

The effective score (the judge's verdicts with reviewers' latest overrides applied) and the
effective rating of a criterion are computed in SQL here so that a queue of thousands of
judgments can be filtered and sorted by them and paginated; ``judgment_effective`` in
``judging.selectors`` is the Python twin that pages use for the rows they show, and the tests
hold the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from judging.models import Criterion, CriterionVerdict, Judgment, Override, RobustnessProbe, Rubric
from sessions.models import Answer, Question
from sessions.selectors import sessions_for_user

# Repeats of one answer whose judge scores differ by more than this are "unstable"
# (the same threshold as the session report's).
UNSTABLE_SPREAD = 10

_T = {
    "judgment": Judgment._meta.db_table,
    "verdict": CriterionVerdict._meta.db_table,
    "override": Override._meta.db_table,
    "criterion": Criterion._meta.db_table,
    "rubric": Rubric._meta.db_table,
    "probe": RobustnessProbe._meta.db_table,
    "answer": Answer._meta.db_table,
    "question": Question._meta.db_table,
}

# The effective label of verdict `v`: the latest override of its criterion, else the judge's.
_EFFECTIVE_LABEL = (
    "COALESCE((SELECT o.new_rating FROM {override} o WHERE o.judgment_id = v.judgment_id"
    " AND o.criterion_id = v.criterion_id ORDER BY o.created_at DESC, o.id DESC LIMIT 1), v.rating)"
)

# Σ weight × points of the effective labels, rounded to one decimal (half up, as
# judging.scoring.weighted_score); NULL unless the judgment is OK and every criterion is rated.
_RECOMPUTED_SCORE = (
    "(SELECT CASE WHEN COUNT(*) = (SELECT COUNT(*) FROM {criterion} c2 WHERE c2.rubric_id = {j}.rubric_id)"
    " THEN ROUND(SUM(c.weight * (SELECT (lvl->>'points')::numeric FROM jsonb_array_elements(r.scale) lvl"
    " WHERE lvl->>'label' = " + _EFFECTIVE_LABEL + " LIMIT 1)), 1) END"
    " FROM {verdict} v JOIN {criterion} c ON c.id = v.criterion_id JOIN {rubric} r ON r.id = {j}.rubric_id"
    " WHERE v.judgment_id = {j}.id)"
)
# Without overrides the effective score is the judge's stored weighted score (judgment_store
# writes it from the same verdicts), so only overridden judgments pay for the recomputation.
_EFFECTIVE_SCORE = (
    "(CASE WHEN {j}.status <> 'ok' THEN NULL"
    " WHEN {j}.weighted_score IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {override} o0 WHERE o0.judgment_id = {j}.id)"
    " THEN {j}.weighted_score ELSE " + _RECOMPUTED_SCORE + " END)"
)


def _effective_score_sql(alias: str) -> str:
    return _EFFECTIVE_SCORE.format(j=alias, **_T)


def effective_score_expression() -> RawSQL:
    """The effective weighted score of each judgment row (a correlated subquery)."""
    return RawSQL(_effective_score_sql(_T["judgment"]), [], output_field=DecimalField(max_digits=5, decimal_places=1))


def override_count_expression() -> Subquery:
    """How many overrides each judgment row has (a subquery: no GROUP BY over the queue)."""
    counted = (
        Override.objects.filter(judgment=OuterRef("pk"))
        .order_by()
        .values("judgment")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _rated(*, criterion: str, rating: str) -> RawSQL:
    """Whether the judgment has `criterion` (or any, if blank) effectively rated `rating`."""
    sql = (
        "EXISTS (SELECT 1 FROM {verdict} v JOIN {criterion} c ON c.id = v.criterion_id"
        " WHERE v.judgment_id = {judgment}.id AND (%s = '' OR c.key = %s) AND " + _EFFECTIVE_LABEL + " = %s)"
    ).format(**_T)
    return RawSQL(sql, [criterion, criterion, rating], output_field=BooleanField())


def _unstable() -> RawSQL:
    """A genuine answer's repeats (same rubric) disagree by more than UNSTABLE_SPREAD points."""
    sql = (
        "EXISTS (SELECT 1 FROM {judgment} j2 WHERE j2.answer_id = {judgment}.answer_id"
        " AND j2.rubric_id = {judgment}.rubric_id GROUP BY j2.answer_id"
        " HAVING MAX(j2.weighted_score) - MIN(j2.weighted_score) > %s)"
    ).format(**_T)
    return RawSQL(sql, [UNSTABLE_SPREAD], output_field=BooleanField())


def _probe_above_lowest_genuine(*, team) -> Q:
    """Probes whose effective score beats the lowest effective score of their session's genuine
    answers (same rubric): the judge ranked a fake answer above a real one.

    The lowest genuine score of each session with probes is read first in one grouped query,
    so the queue's filter is a plain comparison per session, not a subquery per probe row.
    """
    with_probes = RobustnessProbe.objects.filter(answer__question__session__team=team).values(
        "answer__question__session_id"
    )
    lowest = (
        Judgment.objects.filter(answer__question__session_id__in=with_probes)
        .values("answer__question__session_id", "rubric_id")
        .annotate(low=Min(effective_score_expression()))
        .order_by()
    )
    condition = Q(pk__in=[])
    for row in lowest:
        if row["low"] is not None:
            condition |= Q(
                session_id_any=row["answer__question__session_id"],
                rubric_id=row["rubric_id"],
                effective_score__gt=row["low"],
            )
    return Q(probe__isnull=False) & condition


class State:
    UNREVIEWED = "unreviewed"
    OVERRIDDEN = "overridden"
    FLAGGED = "flagged"
    ATTENTION = "attention"
    CHOICES = [
        ("", "Any state"),
        (ATTENTION, "Needs attention"),
        (UNREVIEWED, "Unreviewed"),
        (OVERRIDDEN, "Overridden"),
        (FLAGGED, "Flagged"),
    ]


SORTS = {
    "urgency": ("Needs a human first", ["urgency", "-session_created", "conversation_position", "question_position"]),
    "score": ("Lowest score first", ["effective_score_nulls", "effective_score", "-session_created"]),
    "-score": ("Highest score first", ["effective_score_nulls", "-effective_score", "-session_created"]),
    "newest": ("Newest sessions first", ["-session_created", "conversation_position", "question_position"]),
    "oldest": ("Oldest sessions first", ["session_created", "conversation_position", "question_position"]),
}
KINDS = [("genuine", "Genuine answers"), ("probe", "All probes"), ("all", "Genuine and probes")]


@dataclass(frozen=True)
class QueueFilters:
    session_id: int | None = None
    kind: str = "genuine"  # "genuine", "probe", "probe:<strategy>", "all"
    criterion: str = ""
    rating: str = ""
    state: str = ""
    search: str = ""
    since_days: int | None = None
    sort: str = "urgency"


def judgments_for_user(*, user) -> QuerySet[Judgment]:
    """Judgments of answers and probes in the user's teams' sessions (the team scope)."""
    sessions = sessions_for_user(user=user).values("pk")
    return Judgment.objects.filter(
        Q(answer__question__session__in=sessions) | Q(probe__answer__question__session__in=sessions)
    )


def review_queue(*, user, team, filters: QueueFilters) -> QuerySet[Judgment]:
    """The queue: the user's judgments in `team`, filtered and sorted; rows carry
    ``effective_score``, ``n_overrides``, ``urgency`` and the session/turn they belong to."""
    queryset = (
        judgments_for_user(user=user)
        .annotate(
            session_id_any=Coalesce("answer__question__session_id", "probe__answer__question__session_id"),
            session_created=Coalesce(
                "answer__question__session__created_at", "probe__answer__question__session__created_at"
            ),
            conversation_position=Coalesce(
                "answer__question__conversation__position", "probe__answer__question__conversation__position"
            ),
            question_position=Coalesce("answer__question__position", "probe__answer__question__position"),
            team_id_any=Coalesce("answer__question__session__team_id", "probe__answer__question__session__team_id"),
        )
        .filter(team_id_any=team.pk)
    )
    if filters.session_id is not None:
        queryset = queryset.filter(session_id_any=filters.session_id)
    if filters.kind == "genuine":
        queryset = queryset.filter(answer__isnull=False)
    elif filters.kind == "probe":
        queryset = queryset.filter(probe__isnull=False)
    elif filters.kind.startswith("probe:"):
        queryset = queryset.filter(probe__strategy=filters.kind.removeprefix("probe:"))
    if filters.since_days:
        queryset = queryset.filter(session_created__gte=timezone.now() - timedelta(days=filters.since_days))
    if filters.search:
        term = filters.search
        queryset = queryset.filter(
            Q(answer__question__text__icontains=term)
            | Q(answer__text__icontains=term)
            | Q(probe__answer__question__text__icontains=term)
            | Q(probe__fake_answer__icontains=term)
        )
    if filters.rating:
        queryset = queryset.filter(_rated(criterion=filters.criterion, rating=filters.rating))
    queryset = queryset.annotate(
        n_overrides=override_count_expression(),
        effective_score=effective_score_expression(),
        urgency=Case(
            When(flagged_for_review=True, then=Value(0)),
            When(status__in=[Judgment.Status.UNPARSEABLE, Judgment.Status.FAILED], then=Value(1)),
            When(status=Judgment.Status.PENDING, then=Value(3)),
            default=Value(2),
            output_field=IntegerField(),
        ),
    )
    queryset = queryset.annotate(
        effective_score_nulls=Case(When(effective_score__isnull=True, then=Value(1)), default=Value(0))
    )
    if filters.state == State.UNREVIEWED:
        queryset = queryset.filter(n_overrides=0)
    elif filters.state == State.OVERRIDDEN:
        queryset = queryset.filter(n_overrides__gt=0)
    elif filters.state == State.FLAGGED:
        queryset = queryset.filter(flagged_for_review=True)
    elif filters.state == State.ATTENTION:
        queryset = queryset.annotate(unstable=_unstable()).filter(
            Q(flagged_for_review=True)
            | Q(status__in=[Judgment.Status.UNPARSEABLE, Judgment.Status.FAILED])
            | Q(answer__isnull=False, unstable=True)
            | _probe_above_lowest_genuine(team=team)
        )
    order = SORTS.get(filters.sort, SORTS["urgency"])[1]
    return queryset.order_by(*order, "repeat_index", "pk")
