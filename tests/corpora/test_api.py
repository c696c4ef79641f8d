"""Corpora REST API: token auth, team scoping, uploads, search, query counts."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from corpora.models import Corpus, Document
from corpora.services import corpus_create, document_ingest, document_upload
from tests.corpora.factories import DocumentFactory, media_root  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

NOTE = b"# Notes\n\nReciprocal rank fusion combines vector and keyword rankings without calibration.\n"


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def api(member) -> APIClient:
    return _client(member)


@pytest.fixture
def corpus(team, media_root) -> Corpus:  # noqa: F811
    return corpus_create(team=team, name="Papers")


@pytest.fixture
def ready_document(corpus) -> Document:
    document, _ = document_upload(corpus=corpus, file=SimpleUploadedFile("notes.md", NOTE))
    return document_ingest(document_id=document.pk)


@pytest.fixture
def outsider_api(team_factory, user_factory) -> APIClient:
    return _client(user_factory(team=team_factory("Team B"), username="bob"))


def test_token_required() -> None:
    assert APIClient().get("/api/v1/corpora/").status_code == 401


def test_create_corpus_in_only_team(api, team, media_root) -> None:  # noqa: F811
    response = api.post("/api/v1/corpora/", {"name": "Tables"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["team"] == team.pk and body["embedding_dimension"] == 384 and body["document_total"] == 0
    duplicate = api.post("/api/v1/corpora/", {"name": "Tables"}, format="json")
    assert duplicate.status_code == 400 and "already has a corpus" in duplicate.json()["errors"]["name"][0]


def test_user_in_two_teams_must_name_one_of_theirs(member, team, team_factory, media_root) -> None:  # noqa: F811
    from accounts.services import membership_grant

    second = team_factory("Team C")
    membership_grant(team=second, user=member)
    foreign = team_factory("Team D")
    api = _client(member)

    assert api.post("/api/v1/corpora/", {"name": "X"}, format="json").status_code == 400
    assert api.post("/api/v1/corpora/", {"name": "X", "team": foreign.pk}, format="json").status_code == 400
    response = api.post("/api/v1/corpora/", {"name": "X", "team": second.pk}, format="json")
    assert response.status_code == 201 and Corpus.objects.get(name="X").team == second


def test_list_is_scoped_paginated_and_query_count_is_flat(
    api,
    team,
    team_factory,
    django_assert_num_queries,
    media_root,  # noqa: F811
) -> None:
    corpora = [corpus_create(team=team, name=f"C{i}") for i in range(4)]
    for corpus in corpora:
        DocumentFactory.create_batch(3, corpus=corpus)
    corpus_create(team=team_factory("Team B"), name="Hidden")

    # token lookup, count, page of corpora with document counts
    with django_assert_num_queries(3):
        response = api.get("/api/v1/corpora/")

    body = response.json()
    assert body["count"] == 4 and "next" in body
    assert {item["name"] for item in body["results"]} == {"C0", "C1", "C2", "C3"}
    assert all(item["document_total"] == 3 and item["document_ready"] == 3 for item in body["results"])


def test_other_teams_corpus_is_404_everywhere(outsider_api, corpus, ready_document) -> None:
    base = f"/api/v1/corpora/{corpus.pk}/"
    assert outsider_api.get(base).status_code == 404
    assert outsider_api.get(base + "documents/").status_code == 404
    assert outsider_api.get(base + "search/", {"q": "fusion"}).status_code == 404
    upload = outsider_api.post(base + "documents/", {"files": [SimpleUploadedFile("x.md", b"x")]}, format="multipart")
    assert upload.status_code == 404
    assert corpus.documents.count() == 1


def test_upload_many_files_and_duplicates(api, corpus) -> None:
    url = f"/api/v1/corpora/{corpus.pk}/documents/"
    files = [SimpleUploadedFile("a.md", NOTE), SimpleUploadedFile("b.txt", b"Other text.")]

    response = api.post(url, {"files": files}, format="multipart")

    assert response.status_code == 201
    results = response.json()["results"]
    assert [(r["created"], r["document"]["name"], r["document"]["status"]) for r in results] == [
        (True, "a.md", "queued"),
        (True, "b.txt", "queued"),
    ]
    again = api.post(url, {"files": [SimpleUploadedFile("copy.md", NOTE)]}, format="multipart")
    assert again.status_code == 200 and again.json()["results"][0]["created"] is False
    listed = api.get(url).json()
    assert listed["count"] == 2


def test_an_empty_file_is_reported_by_name_and_the_good_ones_are_kept(api, corpus) -> None:
    url = f"/api/v1/corpora/{corpus.pk}/documents/"
    files = [SimpleUploadedFile("good.md", NOTE), SimpleUploadedFile("empty.txt", b"")]

    response = api.post(url, {"files": files}, format="multipart")

    assert response.status_code == 201
    body = response.json()
    assert [r["document"]["name"] for r in body["results"]] == ["good.md"]
    assert body["errors"] == [{"file": "empty.txt", "detail": "The submitted file is empty."}]
    only_empty = api.post(url, {"files": [SimpleUploadedFile("void.csv", b"")]}, format="multipart")
    assert only_empty.status_code == 400
    assert only_empty.json()["errors"] == {"files": ["void.csv: The submitted file is empty."]}
    assert list(corpus.documents.values_list("original_name", flat=True)) == ["good.md"]


def test_upload_without_files_is_400(api, corpus) -> None:
    assert api.post(f"/api/v1/corpora/{corpus.pk}/documents/", {}, format="multipart").status_code == 400


def test_add_url_as_json(api, corpus) -> None:
    response = api.post(f"/api/v1/corpora/{corpus.pk}/documents/", {"url": "https://example.org/a"}, format="json")

    assert response.status_code == 201
    assert response.json()["results"][0]["document"]["source_type"] == "web"
    bad = api.post(f"/api/v1/corpora/{corpus.pk}/documents/", {"url": "ftp://example.org/a"}, format="json")
    assert bad.status_code == 400


def test_too_large_upload_is_reported_failed(api, corpus, settings) -> None:
    settings.MAX_UPLOAD_MB = 1
    big = SimpleUploadedFile("big.txt", b"x " * (600 * 1024))
    response = api.post(f"/api/v1/corpora/{corpus.pk}/documents/", {"files": [big]}, format="multipart")

    document = response.json()["results"][0]["document"]
    assert document["status"] == "failed" and "the limit is 1 MB" in document["error_message"]


def test_search_returns_ranked_hits(api, corpus, ready_document) -> None:
    response = api.get(f"/api/v1/corpora/{corpus.pk}/search/", {"q": "rank fusion", "k": 2, "mode": "keyword"})

    assert response.status_code == 200
    body = response.json()
    assert body["mode"] == "keyword" and body["k"] == 2
    hit = body["results"][0]
    assert hit["rank"] == 1 and hit["keyword_rank"] == 1 and hit["vector_rank"] is None
    assert hit["document_id"] == ready_document.pk and hit["source_tag"] == "[Doc: notes.md]"


def test_search_filters_by_source_type(api, corpus, ready_document) -> None:
    url = f"/api/v1/corpora/{corpus.pk}/search/"
    table = _results_table(corpus)

    kept = api.get(url, {"q": "rank fusion accuracy", "k": 10, "source_type": ["csv"]}).json()["results"]
    both = api.get(url, {"q": "rank fusion accuracy", "k": 10, "source_type": ["csv", "markdown"]}).json()["results"]

    assert kept and {hit["document_id"] for hit in kept} == {table.pk}
    assert {hit["document_id"] for hit in both} == {table.pk, ready_document.pk}
    refused = api.get(url, {"q": "x", "source_type": "spreadsheet"})
    assert refused.status_code == 400 and "source_type.0" in refused.json()["errors"]


def test_search_validates_parameters(api, corpus) -> None:
    url = f"/api/v1/corpora/{corpus.pk}/search/"
    assert api.get(url).status_code == 400
    assert api.get(url, {"q": "x", "mode": "fuzzy"}).status_code == 400
    assert api.get(url, {"q": "x", "k": 1000}).status_code == 400


def test_schema_generates_for_corpora_routes(api) -> None:
    response = api.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/corpora/{id}/search/" in text and "/api/v1/corpora/{id}/documents/" in text


def _results_table(corpus) -> Document:
    table = b"Table 1: Accuracy on the benchmark.\nModel,Accuracy\nAlpha,71.2\nBeta,83.4\nGamma,77.9\n"
    document, _ = document_upload(corpus=corpus, file=SimpleUploadedFile("scores.csv", table))
    return document_ingest(document_id=document.pk)


def test_search_reports_the_rank_of_every_signal_that_moved_a_hit(api, corpus, ready_document) -> None:
    _results_table(corpus)

    response = api.get(f"/api/v1/corpora/{corpus.pk}/search/", {"q": "Which model has the highest accuracy?", "k": 5})

    hits = response.json()["results"]
    best = next(hit for hit in hits if "Model=Beta" in hit["text"])
    assert best["text"] == "(Table 1: Accuracy on the benchmark.): Model=Beta; Accuracy=83.4"
    assert best["ranks"]["table"] == 1  # the superlative list, shown like the others
    for hit in hits:
        assert set(hit["ranks"]) <= {"vector", "keyword", "table"} and hit["ranks"]
        # Nothing but the listed ranks makes the fused score.
        assert hit["score"] == pytest.approx(sum(1 / (60 + rank) for rank in hit["ranks"].values()))
        assert hit["vector_rank"] == hit["ranks"].get("vector") and isinstance(hit["duplicates"], list)
