"""Team scoping for API viewsets: one mixin every team-owned endpoint goes through."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from accounts.models import Team
from accounts.selectors import scope_to_user, teams_for_user


class TeamScopedViewSetMixin:
    """Scope ``get_queryset`` to the user's teams and resolve the team for creates.

    ``team_path`` is the lookup from the model to its Team ("team", "corpus__team", …).
    Objects of another team are simply absent, so detail routes answer 404 for them.
    """

    team_path = "team"

    def get_queryset(self):
        queryset = super().get_queryset()  # type: ignore[misc]
        return scope_to_user(queryset, user=self.request.user, team_path=self.team_path)  # type: ignore[attr-defined]

    def get_team(self, team_id: object = None) -> Team:
        """The team a new object belongs to.

        An explicit ``team`` id (from the body or ``?team=``) must be one of the user's
        teams; without one, the user's only team, else the team chosen in the session.
        """
        request = self.request  # type: ignore[attr-defined]
        if team_id is None:
            team_id = request.data.get("team") if hasattr(request.data, "get") else None
        if team_id in (None, ""):
            team_id = request.query_params.get("team")
        teams = teams_for_user(user=request.user)
        if team_id not in (None, ""):
            try:
                return teams.get(pk=int(team_id))
            except (TypeError, ValueError, Team.DoesNotExist) as exc:
                raise ValidationError({"team": "Not one of your teams."}) from exc
        candidates = list(teams[:2])
        if len(candidates) == 1:
            return candidates[0]
        current = getattr(request._request, "team", None)
        if current is not None:
            return current
        if not candidates:
            raise ValidationError({"team": "You are not a member of any team."})
        raise ValidationError({"team": "You belong to several teams; pass the id of one as 'team'."})


class TeamField(serializers.IntegerField):
    """Optional team id on create bodies; resolved by ``TeamScopedViewSetMixin.get_team``."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("write_only", True)
        kwargs.setdefault("help_text", "Team id; defaults to your only (or current) team.")
        super().__init__(**kwargs)
