"""Team isolation of the pages no other test covered: team switching, the dashboard, a
foreign corpus on the session form."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.middleware import SESSION_KEY
from sessions.models import EvaluationSession
from tests.sessions.pipeline_support import make_corpus, make_session
from tests.sessions.test_views import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_teams(team, team_factory, user_factory, tmp_path):
    other = team_factory("Team B")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    mine = make_corpus(team=team, tmp_path=tmp_path / "a", name="ours")
    theirs = make_corpus(team=other, tmp_path=tmp_path / "b", name="theirs")
    make_session(other, theirs, [["Q?"]], name="Their secret session")
    return other, mine, theirs


def test_a_user_cannot_switch_to_a_team_they_are_not_in(member_client, team, two_teams):
    other, _, _ = two_teams
    response = member_client.post(reverse("accounts:team_switch"), {"team": other.pk})
    assert response.status_code == 404
    assert member_client.session.get(SESSION_KEY) != other.pk
    page = member_client.get("/").content.decode()
    assert team.name in page and "Their secret session" not in page


def test_switching_between_ones_own_teams_changes_what_is_shown(member_client, member, team, two_teams):
    from accounts.services import membership_grant

    other, _, _ = two_teams
    membership_grant(team=other, user=member, role="member")
    assert member_client.post(reverse("accounts:team_switch"), {"team": other.pk}).status_code == 302
    page = member_client.get("/").content.decode()
    assert "Their secret session" in page


def test_the_dashboard_counts_only_the_current_teams_things(member_client, team, two_teams):
    page = member_client.get("/").content.decode()
    assert "Their secret session" not in page
    assert '<span class="num">1</span><span class="label">corpora</span>' in page
    assert '<span class="num">0</span><span class="label">evaluation sessions</span>' in page


def test_the_session_form_refuses_another_teams_corpus(member_client, two_teams):
    _, _, theirs = two_teams
    response = member_client.post(reverse("sessions:new"), form_data(theirs, questions_text="What is SAT?"))
    assert response.status_code == 400
    assert "corpus" in response.context["form"].errors
    assert not EvaluationSession.objects.filter(corpus=theirs).exclude(name="Their secret session").exists()
    assert "theirs" not in member_client.get(reverse("sessions:new")).content.decode()
