from django.contrib import admin

from judging.models import Criterion, CriterionVerdict, Judgment, Override, Rubric


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0


@admin.register(Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "team", "is_default", "locked", "created_at"]
    list_filter = ["is_default", "locked"]
    inlines = [CriterionInline]

    def get_readonly_fields(self, request, obj=None):
        # A locked rubric is referenced by verdicts: make a new version instead of editing it.
        return [f.name for f in Rubric._meta.fields] if obj is not None and obj.locked else []


class VerdictInline(admin.TabularInline):
    model = CriterionVerdict
    extra = 0
    can_delete = False
    readonly_fields = ["criterion", "rating", "points", "rationale"]


class OverrideInline(admin.TabularInline):
    model = Override
    extra = 0
    can_delete = False
    readonly_fields = ["criterion", "reviewer", "old_rating", "new_rating", "reason", "created_at"]


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    """Read-only: verdicts change only through reviewers' overrides (append-only)."""

    list_display = ["id", "status", "judge_provider", "judge_model", "weighted_score", "flagged_for_review"]
    list_filter = ["status", "flagged_for_review", "judge_provider"]
    inlines = [VerdictInline, OverrideInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
