"""The session list's reads: filters, search, sort; team-scoped through sessions_for_user."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import DecimalField, F, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from sessions.models import EvaluationSession
from sessions.selectors import sessions_for_user

SORTS = {
    "newest": ("Newest first", ["-created_at", "-pk"]),
    "oldest": ("Oldest first", ["created_at", "pk"]),
    "name": ("Name", ["name", "-created_at"]),
    "score": ("Lowest mean score first", [F("mean_score").asc(nulls_last=True), "-created_at"]),
    "-score": ("Highest mean score first", [F("mean_score").desc(nulls_last=True), "-created_at"]),
}


@dataclass(frozen=True)
class SessionFilters:
    search: str = ""
    status: str = ""
    corpus_id: int | None = None
    judge: str = ""  # "provider" or "provider/model"
    creator_id: int | None = None
    tag: str = ""
    archived: bool = False
    sort: str = "newest"


def judge_label(*, provider: str, model: str) -> str:
    return f"{provider}/{model}" if model else provider


def sessions_list(*, user, team, filters: SessionFilters) -> QuerySet[EvaluationSession]:
    queryset = (
        sessions_for_user(user=user)
        .filter(team=team, archived_at__isnull=not filters.archived)
        .select_related("created_by")
        .annotate(
            mean_score=Cast(KeyTextTransform("mean", "score_summary"), DecimalField(max_digits=5, decimal_places=1))
        )
    )
    if filters.search:
        queryset = queryset.filter(Q(name__icontains=filters.search) | Q(tags__contains=[filters.search.lower()]))
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.corpus_id is not None:
        queryset = queryset.filter(corpus_id=filters.corpus_id)
    if filters.judge:
        provider, _, model = filters.judge.partition("/")
        queryset = queryset.filter(judge_provider=provider, judge_model=model)
    if filters.creator_id is not None:
        queryset = queryset.filter(created_by_id=filters.creator_id)
    if filters.tag:
        queryset = queryset.filter(tags__contains=[filters.tag])
    return queryset.order_by(*SORTS.get(filters.sort, SORTS["newest"])[1])


def session_filter_choices(*, user, team) -> dict[str, list[tuple[str, str]]]:
    """What the list's filters offer: only values the team's sessions have."""
    sessions = sessions_for_user(user=user).filter(team=team).select_related(None)
    judges = sessions.values_list("judge_provider", "judge_model").distinct()
    creators = (
        sessions.exclude(created_by=None)
        .values_list("created_by_id", "created_by__username")
        .distinct()
        .order_by("created_by__username")
    )
    corpora = sessions.exclude(corpus=None).values_list("corpus_id", "corpus__name").distinct().order_by("corpus__name")
    tags = sorted({tag for row in sessions.values_list("tags", flat=True) for tag in row})
    return {
        "judges": sorted({(judge_label(provider=p, model=m),) * 2 for p, m in judges}),
        "creators": [(str(pk), name) for pk, name in creators],
        "corpora": [(str(pk), name) for pk, name in corpora],
        "tags": [(t, t) for t in tags],
    }
