"""Users in every role of Team A, and an admin of Team B, for role-matrix tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def people(team, team_factory, user_factory) -> dict:
    other = team_factory("Team B")
    return {
        "admin": user_factory(team=team, role="admin", username="ada"),
        "reviewer": user_factory(team=team, role="reviewer", username="rita"),
        "member": user_factory(team=team, role="member", username="alice"),
        "other_team": user_factory(team=other, role="admin", username="bob"),
        "anonymous": None,
    }
