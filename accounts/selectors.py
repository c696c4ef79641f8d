"""Team scoping: every page and endpoint reaches team-owned rows through `scope_to_user`."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Case, IntegerField, Model, QuerySet, Value, When

from accounts.models import Membership, Team

M = TypeVar("M", bound=Model)


def teams_for_user(*, user) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).distinct()


def membership_for(*, user, team: Team | int) -> Membership | None:
    if not user.is_authenticated:
        return None
    team_id = team.pk if isinstance(team, Team) else team
    return Membership.objects.filter(user=user, team_id=team_id).select_related("team").first()


def scope_to_user(queryset: QuerySet[M], *, user, team_path: str = "team") -> QuerySet[M]:
    """Rows of `queryset` that belong to one of the user's teams.

    `team_path` is the lookup from the model to its Team ("team", "corpus__team", …).
    """
    if not user.is_authenticated:
        return queryset.none()
    team_ids = Membership.objects.filter(user=user).values("team_id")
    return queryset.filter(**{f"{team_path}__in": team_ids})


def scope_to_team(queryset: QuerySet[M], *, team: Team, team_path: str = "team") -> QuerySet[M]:
    return queryset.filter(**{team_path: team})


def team_by_slug_or_name(*, value: str) -> Team | None:
    """A team named on the command line: its slug first, else its name."""
    return Team.objects.filter(slug=value).first() or Team.objects.filter(name=value).first()


def team_members(*, team: Team) -> QuerySet[Membership]:
    """The team's memberships with their users, admins first."""
    order = {Membership.Role.ADMIN: 0, Membership.Role.REVIEWER: 1, Membership.Role.MEMBER: 2}
    rank = Case(*(When(role=r, then=Value(i)) for r, i in order.items()), output_field=IntegerField())
    return (
        Membership.objects.filter(team=team)
        .select_related("user")
        .annotate(role_rank=rank)
        .order_by("role_rank", "user__username")
    )
