"""Rubrics as data through the API: teams define their own; sessions use them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from judging.models import Rubric
from sessions.models import EvaluationSession
from tests.sessions.pipeline_support import make_corpus

pytestmark = pytest.mark.django_db

CRITERIA = [
    {"key": "correctness", "name": "Correctness", "description": "Is the answer right?", "weight": 0.7},
    {"key": "style", "name": "Style", "description": "Is it well written?", "weight": 0.3},
]


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_reviewer_defines_a_rubric_and_a_second_one_of_that_name_is_a_new_version(team, reviewer):
    client = _client(reviewer)
    first = client.post("/api/v1/rubrics/", {"name": "Support", "criteria": CRITERIA}, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["version"] == 1 and first.json()["team"] == team.pk
    assert [c["key"] for c in first.json()["criteria"]] == ["correctness", "style"]
    assert [s["label"] for s in first.json()["scale"]] == ["Excellent", "Good", "Fair", "Bad", "Worse"]
    second = client.post("/api/v1/rubrics/", {"name": "Support", "criteria": CRITERIA}, format="json")
    assert second.json()["version"] == 2
    assert Rubric.objects.filter(team=team, name="Support").count() == 2


def test_weights_must_sum_to_one(team, reviewer):
    bad = [dict(CRITERIA[0], weight=0.5), CRITERIA[1]]
    response = _client(reviewer).post("/api/v1/rubrics/", {"name": "Bad", "criteria": bad}, format="json")
    assert response.status_code == 400
    assert "must sum to exactly 1" in response.json()["detail"]
    assert not Rubric.objects.filter(name="Bad").exists()


def test_member_cannot_define_rubrics(team, member):
    response = _client(member).post("/api/v1/rubrics/", {"name": "X", "criteria": CRITERIA}, format="json")
    assert response.status_code == 403


def test_list_shows_the_default_and_own_rubrics_but_not_another_teams(team, team_factory, reviewer, user_factory):
    other_admin = user_factory(team=team_factory("Team B"), role="admin", username="bob")
    _client(other_admin).post("/api/v1/rubrics/", {"name": "Secret", "criteria": CRITERIA}, format="json")
    _client(reviewer).post("/api/v1/rubrics/", {"name": "Ours", "criteria": CRITERIA}, format="json")
    names = {r["name"] for r in _client(reviewer).get("/api/v1/rubrics/").json()["results"]}
    assert names == {"Default", "Ours"}
    secret = Rubric.objects.get(name="Secret")
    assert _client(reviewer).get(f"/api/v1/rubrics/{secret.pk}/").status_code == 404


def test_a_session_uses_the_chosen_rubric_and_refuses_another_teams(
    team, team_factory, reviewer, user_factory, tmp_path
):
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    ours = _client(reviewer).post("/api/v1/rubrics/", {"name": "Ours", "criteria": CRITERIA}, format="json").json()
    body = {"corpus": corpus.pk, "conversations": [{"questions": ["What is SAT?"]}], "start": False}
    created = _client(reviewer).post("/api/v1/sessions/", {**body, "settings": {"rubric": ours["id"]}}, format="json")
    assert created.status_code == 201, created.content
    assert EvaluationSession.objects.get(pk=created.json()["id"]).rubric_id == ours["id"]

    other_admin = user_factory(team=team_factory("Team B"), role="admin", username="bob")
    theirs = _client(other_admin).post("/api/v1/rubrics/", {"name": "T", "criteria": CRITERIA}, format="json").json()
    refused = _client(reviewer).post("/api/v1/sessions/", {**body, "settings": {"rubric": theirs["id"]}}, format="json")
    assert refused.status_code == 400
