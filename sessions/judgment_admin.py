"""Admin for reviewers: judgments with their question, session, kind and both scores; verdicts
and overrides read-only and never deletable; the judge's prompt as readable messages.

Registered from ``sessions/admin.py``: a judgment's row names its session, so this admin sits on
the sessions side of the sessions → judging arrow."""

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from accounts.admin_scoping import TeamScopedAdmin, team_staff_team_ids
from judging.models import CriterionVerdict, Judgment, Override
from judging.probes import STRATEGY_LABELS
from sessions.models import EvaluationSession
from sessions.review_queue import effective_score_expression, override_count_expression

ANSWER_TEAM = "answer__question__session__team"
PROBE_TEAM = "probe__answer__question__session__team"


class VerdictInline(admin.TabularInline):
    model = CriterionVerdict
    extra = 0
    can_delete = False
    readonly_fields = ["criterion", "rating", "points", "rationale"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return True  # shown inside a judgment the user may already view


class OverrideInline(VerdictInline):
    model = Override
    readonly_fields = ["criterion", "reviewer", "old_rating", "new_rating", "reason", "created_at"]


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("genuine", "Genuine answer"), *((key, f"Probe: {label}") for key, label in STRATEGY_LABELS.items())]

    def queryset(self, request, queryset):
        if self.value() == "genuine":
            return queryset.filter(answer__isnull=False)
        if self.value() in STRATEGY_LABELS:
            return queryset.filter(probe__strategy=self.value())
        return queryset


class SessionFilter(admin.SimpleListFilter):
    """The sessions the user may see (scoped like the rows), newest first."""

    title = "session"
    parameter_name = "session"

    def lookups(self, request, model_admin):
        sessions = EvaluationSession.objects.order_by("-created_at")
        if not request.user.is_superuser:
            sessions = sessions.filter(team__in=team_staff_team_ids(request.user))
        return [(str(s.pk), s.name) for s in sessions.only("pk", "name")[:100]]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(
                Q(answer__question__session_id=self.value()) | Q(probe__answer__question__session_id=self.value())
            )
        return queryset


def _question_of(judgment: Judgment):
    return (judgment.answer if judgment.answer_id else judgment.probe.answer).question


@admin.register(Judgment)
class JudgmentAdmin(TeamScopedAdmin):
    """Read-only: verdicts change only through reviewers' overrides (append-only)."""

    team_paths = (ANSWER_TEAM, PROBE_TEAM)
    list_display = [
        "id",
        "question_excerpt",
        "session_link",
        "kind",
        "status",
        "weighted_score",
        "effective",
        "overridden",
        "flagged_for_review",
        "judge_model",
    ]
    list_display_links = ["id", "question_excerpt"]
    list_filter = ["status", "flagged_for_review", KindFilter, SessionFilter, "judge_provider"]
    search_fields = ["answer__question__text", "probe__answer__question__text", "answer__text", "probe__fake_answer"]
    exclude = ["prompt"]
    readonly_fields = ["prompt_messages"]
    inlines = [VerdictInline, OverrideInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("answer__question__session", "probe__answer__question__session")
            .annotate(effective_score=effective_score_expression(), n_overrides=override_count_expression())
        )

    @admin.display(description="question")
    def question_excerpt(self, obj: Judgment) -> str:
        return Truncator(_question_of(obj).text).chars(90)

    @admin.display(description="session")
    def session_link(self, obj: Judgment) -> str:
        session = _question_of(obj).session
        return format_html('<a href="{}">{}</a>', reverse("sessions:detail", args=[session.pk]), session.name)

    @admin.display(description="kind")
    def kind(self, obj: Judgment) -> str:
        if obj.probe_id is None:
            return "genuine"
        return f"probe: {STRATEGY_LABELS.get(obj.probe.strategy, obj.probe.strategy)}"

    @admin.display(description="effective score", ordering="effective_score")
    def effective(self, obj: Judgment):
        return obj.effective_score

    @admin.display(description="overridden", boolean=True, ordering="n_overrides")
    def overridden(self, obj: Judgment) -> bool:
        return obj.n_overrides > 0

    @admin.display(description="prompt sent to the judge")
    def prompt_messages(self, obj: Judgment) -> str:
        messages = obj.prompt if isinstance(obj.prompt, list) else []
        if not messages:
            return "—"
        return format_html_join(
            "",
            '<div class="prompt-message"><strong>{}</strong><pre style="white-space:pre-wrap">{}</pre></div>',
            ((str(m.get("role", "?")), str(m.get("content", ""))) for m in messages if isinstance(m, dict)),
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # its verdicts and overrides would go with it


@admin.register(Override)
class OverrideAdmin(TeamScopedAdmin):
    """The audit trail of reviewers' changes: read-only, never deleted."""

    team_paths = ("judgment__" + ANSWER_TEAM, "judgment__" + PROBE_TEAM)
    list_display = ["created_at", "judgment", "criterion", "reviewer", "old_rating", "new_rating", "reason"]
    list_filter = ["criterion__key", "new_rating"]
    list_select_related = ["criterion", "reviewer", "judgment__answer__question", "judgment__probe__answer__question"]
    search_fields = ["reason", "judgment__answer__question__text", "reviewer__username"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
