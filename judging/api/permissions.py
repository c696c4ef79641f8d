"""Role permissions from the team membership, composed with ``&`` and ``|`` (as doccano does).

They are object permissions: the view says which team an object belongs to through
``get_object_team_id(obj)``. List views and creates are protected by team scoping instead.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Membership
from accounts.selectors import membership_for


class _TeamRole(BasePermission):
    role: str = ""
    message = "Your role in this team does not allow this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj) -> bool:
        membership = _membership(request, team_id=view.get_object_team_id(obj))
        return membership is not None and membership.role == self.role


def _membership(request, *, team_id: int) -> Membership | None:
    """One lookup per request and team, however many role classes are composed."""
    cache = request.__dict__.setdefault("_assay_memberships", {})
    if team_id not in cache:
        cache[team_id] = membership_for(user=request.user, team=team_id)
    return cache[team_id]


class IsTeamMember(_TeamRole):
    role = Membership.Role.MEMBER


class IsTeamReviewer(_TeamRole):
    role = Membership.Role.REVIEWER


class IsTeamAdmin(_TeamRole):
    role = Membership.Role.ADMIN


class IsReadOnly(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS

    def has_object_permission(self, request, view, obj) -> bool:
        return request.method in SAFE_METHODS


# Anyone in the team reads; only reviewers and admins write.
CanReview = IsTeamReviewer | IsTeamAdmin
IsInTeam = IsTeamMember | IsTeamReviewer | IsTeamAdmin
ReadOrReview = IsInTeam & (IsReadOnly | CanReview)
