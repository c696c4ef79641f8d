from django.contrib import admin

from accounts.admin_scoping import TeamScopedAdmin
from sessions.models import Answer, EvaluationSession


@admin.register(EvaluationSession)
class EvaluationSessionAdmin(TeamScopedAdmin):
    list_display = ["name", "team", "corpus", "status", "generator_provider", "judge_provider", "created_at"]
    list_filter = ["status", "generator_provider", "judge_provider", ("team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["team", "corpus"]
    search_fields = ["name"]
    readonly_fields = ["estimate", "spent_usd", "started_at", "finished_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a session takes its verdicts and overrides with it: only from the
        # session list, where the app asks first and keeps running sessions.
        return False


@admin.register(Answer)
class AnswerAdmin(TeamScopedAdmin):
    list_display = ["id", "question", "attempt", "status", "provider", "model", "response_latency_ms"]
    list_filter = ["status", "provider"]
    list_select_related = ["question"]
    search_fields = ["question__text", "text"]
    readonly_fields = [f.name for f in Answer._meta.fields]
    team_paths = ("question__session__team",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # its judgments, verdicts and overrides would go with it


# The judgments' admin names sessions and questions, so it is registered from this app.
from sessions import judgment_admin  # noqa: E402, F401
