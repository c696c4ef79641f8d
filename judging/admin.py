"""Admin for rubrics (the judgments' admin, which shows their sessions, lives in sessions)."""

from django.contrib import admin

from accounts.admin_scoping import TeamScopedAdmin
from judging.models import Criterion, Rubric


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0


@admin.register(Rubric)
class RubricAdmin(TeamScopedAdmin):
    list_display = ["name", "version", "team", "is_default", "locked", "created_at"]
    list_filter = ["is_default", "locked"]
    list_select_related = ["team"]
    inlines = [CriterionInline]
    include_teamless = True  # the shared default rubric

    def get_readonly_fields(self, request, obj=None):
        # A locked rubric is referenced by verdicts: make a new version instead of editing it.
        return [f.name for f in Rubric._meta.fields] if obj is not None and obj.locked else []
