"""Sessions REST API: role × endpoint matrix, create-and-start, results, reports, query counts."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.runmode import in_process_tasks
from sessions.models import EvaluationSession
from tests.sessions.api_support import RATIONALE, judged_session, make_corpus

pytestmark = pytest.mark.django_db


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture(autouse=False)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


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
def session(team, member) -> EvaluationSession:
    return judged_session(team=team, user=member)


# --- Role × endpoint matrix ---------------------------------------------------------------

READ_ENDPOINTS = ["detail", "results", "report.pdf", "report.xlsx"]
EXPECTED_READ = {"member": 200, "reviewer": 200, "admin": 200, "other_team": 404, "anonymous": 401}


def _url(session_id: int, endpoint: str) -> str:
    base = f"/api/v1/sessions/{session_id}/"
    return base if endpoint == "detail" else base + (endpoint if "." in endpoint else f"{endpoint}/")


@pytest.mark.parametrize("role", list(EXPECTED_READ))
@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
def test_session_read_endpoints_by_role(users, session, role, endpoint) -> None:
    response = _client(users[role]).get(_url(session.pk, endpoint))

    assert response.status_code == EXPECTED_READ[role], (role, endpoint, response.content[:300])


@pytest.mark.parametrize("role", list(EXPECTED_READ))
def test_session_list_is_team_scoped(users, session, role) -> None:
    response = _client(users[role]).get("/api/v1/sessions/")

    if role == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == ([] if role == "other_team" else [session.pk])


@pytest.mark.parametrize("role", list(EXPECTED_READ))
@pytest.mark.parametrize("action", ["cancel", "resume"])
def test_other_team_and_anonymous_cannot_cancel_or_resume(users, session, role, action) -> None:
    response = _client(users[role]).post(f"/api/v1/sessions/{session.pk}/{action}/")

    # A completed session can be neither cancelled nor resumed: both are decided by the
    # services, after scoping.
    expected = {"other_team": 404, "anonymous": 401}.get(role)
    if expected:
        assert response.status_code == expected
    elif action == "cancel":
        assert response.status_code == 409 and "already finished" in response.json()["detail"]
    else:
        assert response.status_code == 409 and "nothing left to redo" in response.json()["detail"]
        assert response.json()["code"] == "conflict"


def test_cancel_twice_is_a_conflict(team, member, media, tmp_path) -> None:
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    api = _client(member)
    created = api.post(
        "/api/v1/sessions/",
        {"corpus": corpus.pk, "conversations": [{"questions": ["What does SAT update?"]}], "start": False},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "draft"
    sid = created.json()["id"]
    assert api.post(f"/api/v1/sessions/{sid}/resume/").status_code == 409  # a draft is not resumable

    first = api.post(f"/api/v1/sessions/{sid}/cancel/")
    second = api.post(f"/api/v1/sessions/{sid}/cancel/")

    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    assert second.status_code == 409 and second.json() == {
        "detail": "The session has already finished.",
        "code": "conflict",
    }


# --- Create and start ------------------------------------------------------------------------


def test_create_rejects_a_corpus_of_another_team(team_factory, member, media, tmp_path) -> None:
    foreign = make_corpus(team=team_factory("Team B"), tmp_path=tmp_path, name="foreign")

    response = _client(member).post(
        "/api/v1/sessions/", {"corpus": foreign.pk, "conversations": [{"questions": ["Q?"]}]}, format="json"
    )

    assert response.status_code == 400
    assert "corpus" in response.json()["errors"]
    assert not EvaluationSession.objects.exists()


def test_create_validates_settings_and_questions(team, member, media, tmp_path) -> None:
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    api = _client(member)

    bad_k = api.post(
        "/api/v1/sessions/",
        {"corpus": corpus.pk, "conversations": [{"questions": ["Q?"]}], "settings": {"k": 0}},
        format="json",
    )
    empty = api.post("/api/v1/sessions/", {"corpus": corpus.pk, "conversations": [{"questions": []}]}, format="json")
    bad_template = api.post(
        "/api/v1/sessions/",
        {"corpus": corpus.pk, "conversations": [{"questions": ["Q?"]}], "settings": {"prompt_template": "no slots"}},
        format="json",
    )

    assert bad_k.status_code == 400 and list(bad_k.json()["errors"]) == ["settings.k"]
    assert empty.status_code == 400 and list(empty.json()["errors"]) == ["conversations.0.questions"]
    assert bad_template.status_code == 400 and "{context}" in bad_template.json()["detail"]
    assert not EvaluationSession.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_create_and_start_runs_to_completion_and_results_carry_verdicts(team, member, media, tmp_path) -> None:
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    api = _client(member)
    body = {
        "name": "API run",
        "corpus": corpus.pk,
        "conversations": [
            {
                "label": "sat",
                "questions": [
                    {"question": "What share of the weights does SAT update?", "reference_answer": "0.8%"},
                    "Does it add inference latency?",
                ],
            }
        ],
        "settings": {"retrieval_mode": "hybrid", "k": 3, "generator_provider": "offline", "judge_provider": "offline"},
    }

    with in_process_tasks():
        response = api.post("/api/v1/sessions/", body, format="json")

    assert response.status_code == 201, response.content
    created = response.json()
    assert created["estimate"]["questions"] == 2 and created["settings"]["k"] == 3
    assert set(created["progress"]) >= {"questions", "answered", "percent", "status"}
    detail = api.get(f"/api/v1/sessions/{created['id']}/").json()
    assert detail["status"] == "completed", detail
    assert detail["progress"]["percent"] == 100

    results = api.get(created["links"]["results"]).json()
    assert results["totals"]["questions"] == 2 and results["totals"]["answered"] == 2
    assert results["totals"]["mean_score"]["n_scored"] == 2
    assert "over 2 of 2 judged" in results["totals"]["mean_score"]["text"]
    first, second = results["questions"]
    assert (first["position"], second["position"]) == (0, 1) and first["conversation"] == "sat"
    assert first["reference_answer"] == "0.8%"
    assert "Current Question:\nWhat share of the weights does SAT update?" in first["prompt"]
    assert "Q: What share of the weights" in second["prompt"]  # the follow-up sees its history
    assert first["passages"] and {"rank", "tag", "score"} <= set(first["passages"][0])
    assert first["response_latency_ms"] is not None and first["evaluation_latency_ms"] is not None
    assert len(first["verdicts"]) == 5
    assert all(v["rationale"] and v["judge_rating"] == v["rating"] for v in first["verdicts"])
    assert first["weighted_score"] is not None
    assert first["judgments"][0]["status"] == "ok" and first["judgments"][0]["raw_output"] is None


# --- Results, reports ------------------------------------------------------------------------


def test_results_show_overrides_and_effective_ratings(session, reviewer) -> None:
    judgment = session.questions.get().answers.get().judgments.get()
    api = _client(reviewer)
    posted = api.post(
        f"/api/v1/judgments/{judgment.pk}/overrides/",
        {"criterion": "relevance", "rating": "Excellent", "reason": "It answers exactly this."},
        format="json",
    )
    assert posted.status_code == 201, posted.content

    results = api.get(f"/api/v1/sessions/{session.pk}/results/").json()

    verdict = {v["criterion"]: v for v in results["questions"][0]["verdicts"]}["relevance"]
    assert verdict["rating"] == "Excellent" and verdict["judge_rating"] == "Good" and verdict["overridden"]
    assert verdict["rationale"].startswith(RATIONALE)
    assert results["questions"][0]["weighted_score"] == 90.0  # 0.5×100 + 0.5×80
    (override,) = results["overrides"]
    assert (override["old_rating"], override["new_rating"], override["reviewer"]) == ("Good", "Excellent", "rita")


def test_results_keep_raw_output_of_unparseable_judgments(session, member) -> None:
    from judging.models import Judgment

    judgment = Judgment.objects.get(answer__question__session=session)
    Judgment.objects.filter(pk=judgment.pk).update(status="unparseable", raw_output="I think it is fine?")
    judgment.verdicts.all().delete()

    results = _client(member).get(f"/api/v1/sessions/{session.pk}/results/").json()

    question = results["questions"][0]
    assert question["weighted_score"] is None and question["verdicts"] == []
    assert question["judgments"][0]["raw_output"] == "I think it is fine?"
    assert results["totals"]["unparseable_judgments"] == 1
    assert results["totals"]["mean_score"]["n_missing"] == 1  # not a zero, not dropped


def test_report_downloads_are_files(session, member) -> None:
    api = _client(member)

    pdf = api.get(f"/api/v1/sessions/{session.pk}/report.pdf", HTTP_ACCEPT="application/pdf")
    xlsx = api.get(f"/api/v1/sessions/{session.pk}/report.xlsx")

    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="session-{session.pk}-judged.pdf"'
    assert pdf.content.startswith(b"%PDF")
    assert xlsx.status_code == 200 and "attachment;" in xlsx["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(xlsx.content))
    assert workbook.sheetnames == [
        "Summary",
        "Questions",
        "Verdicts",
        "Passages",
        "Robustness",
        "Probes",
        "Agreement",
        "Overrides",
    ]


# --- Query counts ----------------------------------------------------------------------------


def test_session_list_query_count_does_not_grow_with_sessions(team, member, django_assert_num_queries) -> None:
    api = _client(member)
    for index in range(2):
        judged_session(team=team, user=member, name=f"s{index}")
    api.get("/api/v1/sessions/")  # warm caches (content types, rubric lookups)

    # auth token, membership scope in the count + page, and nothing per row
    with django_assert_num_queries(3):
        first = api.get("/api/v1/sessions/")
    for index in range(3):
        judged_session(team=team, user=member, name=f"more{index}")
    with django_assert_num_queries(3):
        second = api.get("/api/v1/sessions/")

    assert first.json()["count"] == 2 and second.json()["count"] == 5
    row = second.json()["results"][0]
    assert row["question_count"] == 1 and row["answered_count"] == 1 and row["status"] == "completed"


def test_schema_generates(client) -> None:
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/v1/sessions/{id}/report.pdf" in response.content
    assert b"/api/v1/judgments/{id}/overrides/" in response.content
