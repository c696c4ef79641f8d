"""Judgments API: reading verdicts and overrides by role; only reviewers and admins override."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from judging.models import CriterionVerdict, Judgment, Override, RobustnessProbe
from tests.sessions.api_support import judged_session

pytestmark = pytest.mark.django_db

ROLES = ["member", "reviewer", "admin", "other_team", "anonymous"]
READ = {"member": 200, "reviewer": 200, "admin": 200, "other_team": 404, "anonymous": 401}
OVERRIDE = {"member": 403, "reviewer": 201, "admin": 201, "other_team": 404, "anonymous": 401}
BODY = {"criterion": "faithfulness", "rating": "Bad", "reason": "The 0.8% figure is not in the cited passage."}


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def users(team, team_factory, user_factory, member, reviewer) -> dict:
    return {
        "member": member,
        "reviewer": reviewer,
        "admin": user_factory(team=team, role="admin", username="ada"),
        "other_team": user_factory(team=team_factory("Team B"), role="admin", username="bob"),
        "anonymous": None,
    }


@pytest.fixture
def judgment(team, member) -> Judgment:
    session = judged_session(team=team, user=member)
    return Judgment.objects.get(answer__question__session=session)


@pytest.mark.parametrize("role", ROLES)
def test_judgment_detail_by_role(users, judgment, role) -> None:
    response = _client(users[role]).get(f"/api/v1/judgments/{judgment.pk}/")

    assert response.status_code == READ[role]
    if READ[role] == 200:
        body = response.json()
        assert body["kind"] == "answer" and body["status"] == "ok" and body["raw_output"] == "{}"
        assert body["weighted_score"] == 80.0 and body["judge_weighted_score"] == 80.0
        assert [v["criterion"] for v in body["verdicts"]] == [
            "relevance",
            "faithfulness",
            "completeness",
            "clarity",
            "conciseness",
        ]
        assert body["provenance"]["rubric"]["version"] == 1 and body["overrides"] == []


@pytest.mark.parametrize("role", ROLES)
def test_override_list_by_role(users, judgment, role) -> None:
    response = _client(users[role]).get(f"/api/v1/judgments/{judgment.pk}/overrides/")

    assert response.status_code == READ[role]
    if READ[role] == 200:
        assert response.json() == []


@pytest.mark.parametrize("role", ROLES)
def test_override_create_by_role(users, judgment, role) -> None:
    response = _client(users[role]).post(f"/api/v1/judgments/{judgment.pk}/overrides/", BODY, format="json")

    assert response.status_code == OVERRIDE[role], response.content
    assert Override.objects.count() == (1 if OVERRIDE[role] == 201 else 0)


def test_member_cannot_override_verdict(member, judgment) -> None:
    response = _client(member).post(f"/api/v1/judgments/{judgment.pk}/overrides/", BODY, format="json")

    assert response.status_code == 403
    assert not Override.objects.exists()


def test_override_keeps_the_judges_verdict_and_changes_the_effective_rating(reviewer, judgment) -> None:
    api = _client(reviewer)

    created = api.post(f"/api/v1/judgments/{judgment.pk}/overrides/", BODY, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["old_rating"] == "Good" and created.json()["new_rating"] == "Bad"
    assert CriterionVerdict.objects.get(judgment=judgment, criterion__key="faithfulness").rating == "Good"
    body = api.get(f"/api/v1/judgments/{judgment.pk}/").json()
    faithfulness = {v["criterion"]: v for v in body["verdicts"]}["faithfulness"]
    assert faithfulness == {
        **faithfulness,
        "rating": "Bad",
        "judge_rating": "Good",
        "overridden": True,
        "points": 40,
    }
    assert body["judge_weighted_score"] == 80.0 and body["weighted_score"] == 72.0  # 80 − 0.2 × 40
    assert [o["reason"] for o in body["overrides"]] == [BODY["reason"]]
    listed = api.get(f"/api/v1/judgments/{judgment.pk}/overrides/").json()
    assert [(o["criterion"], o["reviewer"]) for o in listed] == [("faithfulness", "rita")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**BODY, "rating": "Superb"}, "not on the scale"),
        ({**BODY, "criterion": "humour"}, "Unknown criterion"),
        ({**BODY, "rating": "Good"}, "already Good"),
        ({**BODY, "reason": "   "}, "reason"),
    ],
)
def test_invalid_override_is_rejected(reviewer, judgment, body, message) -> None:
    response = _client(reviewer).post(f"/api/v1/judgments/{judgment.pk}/overrides/", body, format="json")

    assert response.status_code == 400
    assert message in str(response.json())
    assert not Override.objects.exists()


def test_unparseable_judgment_cannot_be_overridden(reviewer, judgment) -> None:
    Judgment.objects.filter(pk=judgment.pk).update(status=Judgment.Status.UNPARSEABLE)

    response = _client(reviewer).post(f"/api/v1/judgments/{judgment.pk}/overrides/", BODY, format="json")

    assert response.status_code == 400 and response.json()["code"] == "invalidinput"


@pytest.mark.parametrize("role", ROLES)
def test_probe_judgments_are_scoped_through_their_answer(users, judgment, role) -> None:
    probe = RobustnessProbe.objects.create(
        answer=judgment.answer, strategy="off_topic", fake_answer="Sourdough needs a starter.", expected_criteria=[]
    )
    probe_judgment = Judgment.objects.create(probe=probe, rubric=judgment.rubric, judge_provider="offline")

    response = _client(users[role]).get(f"/api/v1/judgments/{probe_judgment.pk}/")

    assert response.status_code == READ[role]
    if READ[role] == 200:
        body = response.json()
        assert body["kind"] == "probe" and body["answer_text"] == "Sourdough needs a starter."
        assert body["weighted_score"] is None
