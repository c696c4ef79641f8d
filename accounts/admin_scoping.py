"""Team scoping for the admin: one base class every model admin of team-owned rows uses.

Superusers see everything. Reviewers and admins of a team see that team's rows only, read-only;
members and other users see nothing (the site refuses them). ``team_paths`` are the lookups
from the model to its team; several paths are OR-ed (a judgment belongs to a team through its
answer or through its probe's answer).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet

from accounts.models import Membership

STAFF_ROLES = (Membership.Role.REVIEWER, Membership.Role.ADMIN)


def team_staff_team_ids(user) -> QuerySet:
    return Membership.objects.filter(user_id=user.pk, role__in=STAFF_ROLES).values("team_id")


def is_team_staff(user) -> bool:
    return user.is_authenticated and team_staff_team_ids(user).exists()


class TeamScopedAdmin(admin.ModelAdmin):
    team_paths: tuple[str, ...] = ("team",)
    # Rows with no team that every team may read (the shared default rubric).
    include_teamless: bool = False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(self.team_filter(request.user))

    def team_filter(self, user) -> Q:
        team_ids = team_staff_team_ids(user)
        condition = Q()
        for path in self.team_paths:
            condition |= Q(**{f"{path}__in": team_ids})
        if self.include_teamless:
            condition |= Q(**{f"{self.team_paths[0]}__isnull": True})
        return condition

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser or super().has_module_permission(request) or is_team_staff(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        if request.user.is_superuser or super().has_view_permission(request, obj):
            return True
        if not is_team_staff(request.user):
            return False
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()
