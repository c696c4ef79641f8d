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


# --- The judgments list --------------------------------------------------------------------


@pytest.fixture
def two_sessions(team, member, reviewer, team_factory, user_factory) -> dict:
    """Team A: a session with an overridden judgment, a second session flagged, a probe's
    pending judgment. Team B: one session of its own."""
    first = judged_session(team=team, user=member, name="first")
    overridden = Judgment.objects.get(answer__question__session=first)
    _client(reviewer).post(f"/api/v1/judgments/{overridden.pk}/overrides/", BODY, format="json")
    second = judged_session(team=team, user=member, name="second")
    flagged = Judgment.objects.get(answer__question__session=second)
    Judgment.objects.filter(pk=flagged.pk).update(flagged_for_review=True)
    probe = RobustnessProbe.objects.create(
        answer=overridden.answer, strategy="off_topic", fake_answer="Sourdough needs a starter.", expected_criteria=[]
    )
    pending = Judgment.objects.create(probe=probe, rubric=overridden.rubric, judge_provider="offline")
    outsider_team = team_factory("Team B")
    theirs = Judgment.objects.get(answer__question__session=judged_session(team=outsider_team))
    return {
        "first": first,
        "second": second,
        "overridden": overridden.pk,
        "flagged": flagged.pk,
        "pending": pending.pk,
        "theirs": theirs.pk,
        "outsider": user_factory(team=outsider_team, role="admin", username="bob"),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["pending", "flagged", "overridden"]),
        ("?session={first}", ["pending", "overridden"]),
        ("?session={second}", ["flagged"]),
        ("?kind=probe", ["pending"]),
        ("?kind=answer", ["flagged", "overridden"]),
        ("?status=pending", ["pending"]),
        ("?status=ok&flagged=true", ["flagged"]),
        ("?flagged=false", ["pending", "overridden"]),
        ("?overridden=true", ["overridden"]),
        ("?overridden=false&kind=answer", ["flagged"]),
    ],
)
def test_judgments_list_filters_within_the_team(two_sessions, member, query, expected) -> None:
    url = "/api/v1/judgments/" + query.format(first=two_sessions["first"].pk, second=two_sessions["second"].pk)

    response = _client(member).get(url)

    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [two_sessions[name] for name in expected]


def test_judgments_list_shows_another_team_nothing_of_ours(two_sessions) -> None:
    outsider = _client(two_sessions["outsider"])

    everything = outsider.get("/api/v1/judgments/").json()
    ours_by_session = outsider.get(f"/api/v1/judgments/?session={two_sessions['first'].pk}").json()

    assert [row["id"] for row in everything["results"]] == [two_sessions["theirs"]]
    assert ours_by_session["count"] == 0


def test_judgments_list_rows_carry_effective_ratings(two_sessions, member) -> None:
    rows = {row["id"]: row for row in _client(member).get("/api/v1/judgments/?kind=answer").json()["results"]}

    overridden = rows[two_sessions["overridden"]]
    faithfulness = next(v for v in overridden["verdicts"] if v["criterion"] == "faithfulness")
    assert faithfulness["rating"] == "Bad" and faithfulness["judge_rating"] == "Good" and faithfulness["overridden"]
    assert overridden["judge_weighted_score"] == 80.0 and overridden["weighted_score"] < 80.0
    assert [o["new_rating"] for o in overridden["overrides"]] == ["Bad"]


@pytest.mark.parametrize(
    "query", ["?kind=essay", "?status=done", "?flagged=maybe", "?session=abc", "?kind=probe&kind=answer"]
)
def test_judgments_list_rejects_bad_filters(two_sessions, member, query) -> None:
    response = _client(member).get("/api/v1/judgments/" + query)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body["errors"]) == {query[1:].split("=")[0]}


def test_judgments_list_queries_do_not_grow_with_rows(team, member, django_assert_num_queries) -> None:
    for index in range(12):
        judged_session(team=team, user=member, name=f"s{index}")
    api = _client(member)
    api.get("/api/v1/judgments/")  # warm the locked rubric's cached spec

    # Six queries for 12 rows (auth, count, page; verdicts, overrides, confirmations): none per row.
    with django_assert_num_queries(6):
        page = api.get("/api/v1/judgments/").json()

    assert page["count"] == 12 and len(page["results"]) == 12
