"""Attach the user's current team (kept in the session) and membership to the request."""

from __future__ import annotations

from accounts.models import Membership

SESSION_KEY = "current_team_id"


class CurrentTeamMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.team = None
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = Membership.objects.filter(user=user).select_related("team").order_by("team__name")
            wanted = request.session.get(SESSION_KEY)
            chosen = None
            for membership in memberships:
                if chosen is None or membership.team_id == wanted:
                    chosen = membership
                if membership.team_id == wanted:
                    break
            if chosen is not None:
                request.team = chosen.team
                request.membership = chosen
        return self.get_response(request)
