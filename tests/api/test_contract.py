"""The API's contract: one JSON error shape everywhere, bounded bodies, strict JSON, an exact schema."""

from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from sessions.models import EvaluationSession
from tests.sessions.api_support import judged_session, make_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(member) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=member).key}")
    return client


@pytest.fixture
def corpus(team, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return make_corpus(team=team, tmp_path=tmp_path)


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"]
    return body


# --- Validation errors: 400, never 500 --------------------------------------------------


@pytest.mark.parametrize(
    ("question", "path"),
    [
        (0, "conversations.0.questions.0"),
        (False, "conversations.0.questions.0"),
        ({"question": "What is SAT?", "reference_answer": 5}, "conversations.0.questions.0"),
        ({"question": ["What is SAT?"]}, "conversations.0.questions.0"),
    ],
)
@pytest.mark.parametrize("endpoint", ["sessions", "batches"])
def test_a_question_that_is_not_a_string_is_a_400_naming_it(api, corpus, endpoint, question, path) -> None:
    body = {"corpus": corpus.pk, "conversations": [{"questions": [question]}]}
    if endpoint == "batches":
        body["kind"] = "questions"

    error = _error(api.post(f"/api/v1/{endpoint}/", body, format="json"), 400, "invalid")

    assert error["errors"] == {path: ['A question is a string or {"question": ..., "reference_answer": ...}.']}
    assert error["detail"].startswith(f"{path}: A question is a string")
    assert not EvaluationSession.objects.exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"name": 0}, {"name": ["Expected a string."]}),
        ({"name": "papers", "description": ["a"]}, {"description": ["Expected a string."]}),
        ({"name": "papers", "team": "1"}, {"team": ["Expected an integer."]}),
        ({"name": "  "}, {"name": ["This field may not be blank."]}),
        ({}, {"name": ["This field is required."]}),
        ([], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    ],
)
def test_json_bodies_take_values_of_the_documented_type_only(api, body, errors) -> None:
    error = _error(api.post("/api/v1/corpora/", body, format="json"), 400, "invalid")

    assert error["errors"] == errors


def test_batches_say_which_field_of_which_item_is_wrong(api) -> None:
    body = {"kind": "answers", "items": [{"question": "Q?", "answer": "A."}, {"question": "Q2?", "answer": 3}]}

    error = _error(api.post("/api/v1/batches/", body, format="json"), 400, "invalid")

    assert error["errors"] == {"items.1.answer": ["Expected a string."]}


def test_a_batch_of_answers_needs_items_and_a_batch_of_questions_a_corpus(api) -> None:
    answers = _error(api.post("/api/v1/batches/", {"kind": "answers"}, format="json"), 400, "invalid")
    questions = _error(
        api.post("/api/v1/batches/", {"kind": "questions", "conversations": [{"questions": ["Q?"]}]}, format="json"),
        400,
        "invalid",
    )

    assert answers["errors"] == {"items": ["This field is required."]}
    assert questions["errors"] == {"corpus": ["This field is required."]}


# --- Bodies: depth, size, media type -----------------------------------------------------


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_a_400_not_a_recursion_error(api, depth) -> None:
    body = "[" * depth + "]" * depth

    error = _error(api.generic("POST", "/api/v1/sessions/", body, content_type="application/json"), 400, "parse_error")

    assert "nested deeper than 32 levels" in error["detail"]


def test_json_nested_within_the_limit_reaches_validation(api) -> None:
    body = {"name": "x", "description": json.loads("[" * 30 + "]" * 30)}

    error = _error(api.post("/api/v1/corpora/", body, format="json"), 400, "invalid")

    assert error["errors"] == {"description": ["Expected a string."]}


def test_malformed_json_is_a_parse_error(api) -> None:
    error = _error(api.generic("POST", "/api/v1/corpora/", "{", content_type="application/json"), 400, "parse_error")

    assert error["detail"].startswith("JSON parse error")


def test_an_oversized_json_body_is_a_413(api, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api.post("/api/v1/corpora/", {"name": "big", "description": "x" * 2000}, format="json")

    error = _error(response, 413, "too_large")
    assert "1000 bytes" in error["detail"]


def test_an_oversized_multipart_form_is_a_413(api, corpus, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api.post(f"/api/v1/corpora/{corpus.pk}/documents/", {"url": "x" * 2000}, format="multipart")

    _error(response, 413, "too_large")


def test_a_form_body_where_json_is_expected_is_a_415(api) -> None:
    response = api.post("/api/v1/corpora/", {"name": "papers"}, format="multipart")

    _error(response, 415, "unsupported_media_type")


def test_a_json_null_body_for_documents_is_a_400(api, corpus) -> None:
    response = api.generic("POST", f"/api/v1/corpora/{corpus.pk}/documents/", "null", content_type="application/json")

    _error(response, 400, "invalid")


# --- 404s and 409s ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/sessions/abc/report.pdf",
        "/api/v1/sessions/999999/report.xlsx",
        "/api/v1/sessions/999999/results/",
        "/api/v1/no-such-thing/",
        "/api/v1/judgments/abc/",
    ],
)
def test_every_api_404_is_json(api, path) -> None:
    error = _error(api.get(path), 404, "not_found")

    assert error == {"detail": "Not found.", "code": "not_found"}


def test_another_teams_report_is_a_json_404(api, team_factory) -> None:
    theirs = judged_session(team=team_factory("Team B"))

    _error(api.get(f"/api/v1/sessions/{theirs.pk}/report.pdf"), 404, "not_found")


def test_without_a_token_every_error_is_json() -> None:
    _error(APIClient().get("/api/v1/sessions/"), 401, "not_authenticated")


def test_resume_of_a_completed_session_is_a_conflict_and_changes_nothing(api, team, member) -> None:
    session = judged_session(team=team, user=member)

    error = _error(api.post(f"/api/v1/sessions/{session.pk}/resume/"), 409, "conflict")

    assert "nothing left to redo" in error["detail"]
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.COMPLETED


# --- Query parameters ---------------------------------------------------------------------


def test_a_repeated_query_parameter_is_a_400_naming_it(api, corpus) -> None:
    error = _error(api.get(f"/api/v1/corpora/{corpus.pk}/search/?q=SAT&k=5&k=50"), 400, "invalid")

    assert error["errors"] == {"k": ["Given more than once; give it once."]}


def test_document_may_be_repeated_on_search(api, corpus) -> None:
    document = corpus.documents.get()

    response = api.get(f"/api/v1/corpora/{corpus.pk}/search/?q=SAT&document={document.pk}&document=999999")

    assert response.status_code == 200
    assert {hit["document_id"] for hit in response.json()["results"]} == {document.pk}


@pytest.mark.parametrize(("query", "field"), [("q=%20%20", "q"), ("q=SAT&k=0", "k"), ("q=SAT&k=101", "k")])
def test_search_parameters_are_checked(api, corpus, query, field) -> None:
    error = _error(api.get(f"/api/v1/corpora/{corpus.pk}/search/?{query}"), 400, "invalid")

    assert list(error["errors"]) == [field]


# --- The schema says what the API does ------------------------------------------------------


@pytest.fixture
def schema(api) -> dict:
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_every_operation_documents_its_errors_with_the_error_component(schema) -> None:
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("401", "403"):
                assert responses[status]["content"]["application/json"]["schema"] == error_ref, (path, method)
            if "{" in path:
                assert "404" in responses, (path, method)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses), (path, method)
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"detail", "code"}
    resume = schema["paths"]["/api/v1/sessions/{id}/resume/"]["post"]["responses"]
    assert resume["409"]["content"]["application/json"]["schema"] == error_ref


def test_the_schema_carries_the_constraints(schema) -> None:
    components = schema["components"]["schemas"]
    search = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/corpora/{id}/search/"]["get"]["parameters"]}
    assert search["q"]["minLength"] == 1 and (search["k"]["minimum"], search["k"]["maximum"]) == (1, 100)
    assert search["mode"]["enum"] == ["hybrid", "vector", "keyword"]
    assert components["CorpusCreateRequest"]["properties"]["name"]["minLength"] == 1
    assert components["OverrideCreateRequest"]["properties"]["reason"]["minLength"] == 1
    assert components["SessionCreateRequest"]["properties"]["conversations"]["minItems"] == 1
    assert components["ConversationInputRequest"]["properties"]["questions"]["minItems"] == 1
    assert components["AnswersBatchRequest"]["properties"]["items"]["minItems"] == 1


def test_the_schema_tells_batch_kinds_apart_and_takes_binary_uploads(schema) -> None:
    batches = schema["paths"]["/api/v1/batches/"]["post"]["requestBody"]
    assert list(batches["content"]) == ["application/json"] and batches["required"] is True
    request = schema["components"]["schemas"]["BatchCreateRequest"]
    assert request["discriminator"]["propertyName"] == "kind"
    assert set(request["discriminator"]["mapping"]) == {"questions", "answers"}
    questions = schema["components"]["schemas"]["QuestionsBatchRequest"]
    assert {"kind", "corpus", "conversations"} <= set(questions["required"])

    upload = schema["paths"]["/api/v1/corpora/{id}/documents/"]["post"]["requestBody"]["content"]
    files = schema["components"]["schemas"]["DocumentUploadRequest"]["properties"]["files"]
    assert list(upload) == ["multipart/form-data"]
    assert files["items"] == {"type": "string", "format": "binary"}
    assert list(schema["paths"]["/api/v1/corpora/"]["post"]["requestBody"]["content"]) == ["application/json"]


def test_the_schema_says_null_and_empty_where_the_api_returns_them(schema) -> None:
    components = schema["components"]["schemas"]
    assert components["SessionDetail"]["properties"]["batch"]["nullable"] is True
    assert "format" not in components["Document"]["properties"]["url"]
    assert components["Mean"]["properties"]["mean"] == {
        "type": "number",
        "format": "double",
        "nullable": True,
        "description": "Null when nothing was scored.",
    }
    assert components["Progress"]["properties"]["status"]["$ref"] == "#/components/schemas/SessionStatusEnum"


def test_results_give_numbers_as_numbers(api, team, member) -> None:
    session = judged_session(team=team, user=member)

    results = api.get(f"/api/v1/sessions/{session.pk}/results/").json()

    assert results["totals"]["mean_score"]["mean"] == 80.0
    assert all(isinstance(c["weight"], float) for c in results["totals"]["per_criterion"])
    assert isinstance(results["totals"]["spent_usd"], float)
    assert results["questions"][0]["weighted_score"] == 80.0
    assert results["questions"][0]["judgments"][0]["weighted_score"] == 80.0


def test_documents_take_files_or_a_url_not_both(api, corpus) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    both = {"files": [SimpleUploadedFile("a.md", b"# A")], "url": "https://example.org/a"}
    response = api.post(f"/api/v1/corpora/{corpus.pk}/documents/", both, format="multipart")
    neither = api.post(f"/api/v1/corpora/{corpus.pk}/documents/", {}, format="multipart")

    assert _error(response, 400, "invalid")["errors"] == {"non_field_errors": ["Give files or a url, not both."]}
    assert _error(neither, 400, "invalid")["errors"] == {"files": ["This list may not be empty."]}
    assert corpus.documents.count() == 1


def test_a_text_where_a_file_belongs_is_an_error(api, corpus) -> None:
    body = {"files": "not a file", "url": "https://example.org/a"}

    response = api.post(f"/api/v1/corpora/{corpus.pk}/documents/", body, format="multipart")

    assert list(_error(response, 400, "invalid")["errors"]) == ["files.0"]
    assert corpus.documents.count() == 1
