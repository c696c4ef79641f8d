from django.contrib import admin

from sessions.models import Answer, EvaluationSession


@admin.register(EvaluationSession)
class EvaluationSessionAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "corpus", "status", "generator_provider", "judge_provider", "created_at"]
    list_filter = ["status", "generator_provider", "judge_provider", "team"]
    search_fields = ["name"]
    readonly_fields = ["estimate", "spent_usd", "started_at", "finished_at"]


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ["id", "question", "attempt", "status", "provider", "model", "response_latency_ms"]
    list_filter = ["status", "provider"]
    readonly_fields = [f.name for f in Answer._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
