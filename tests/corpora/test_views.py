"""Corpus pages through the Django test client, including team isolation."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from corpora.models import Corpus, Document
from corpora.services import corpus_create, document_ingest, document_upload
from tests.corpora.factories import media_root  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

NOTE = b"# Notes\n\nReciprocal rank fusion combines vector and keyword rankings without calibration.\n"


@pytest.fixture
def corpus(team, media_root) -> Corpus:  # noqa: F811
    return corpus_create(team=team, name="Team A papers")


@pytest.fixture
def ready_document(corpus) -> Document:
    document, _ = document_upload(corpus=corpus, file=SimpleUploadedFile("notes.md", NOTE))
    return document_ingest(document_id=document.pk)


@pytest.fixture
def outsider_client(client, team_factory, user_factory):
    outsider = user_factory(team=team_factory("Team B"), username="bob")
    client.force_login(outsider)
    return client


def test_login_required(client, corpus) -> None:
    response = client.get(reverse("corpora:detail", args=[corpus.pk]))
    assert response.status_code == 302 and "/accounts/login" in response["Location"]


def test_empty_list_explains_what_a_corpus_is(member_client) -> None:
    response = member_client.get(reverse("corpora:list"))
    assert response.status_code == 200
    assert "No corpora yet." in response.content.decode()
    assert 'href="/corpora/"' in response.content.decode()  # main nav link


def test_create_corpus_from_list_page(member_client, team, media_root) -> None:  # noqa: F811
    response = member_client.post(reverse("corpora:list"), {"name": "Results", "description": "tables"})

    corpus = Corpus.objects.get(team=team, name="Results")
    assert response.status_code == 302 and response["Location"] == reverse("corpora:detail", args=[corpus.pk])
    again = member_client.post(reverse("corpora:list"), {"name": "Results"})
    assert "already has a corpus called" in again.content.decode()
    assert Corpus.objects.filter(team=team, name="Results").count() == 1


def test_upload_several_files_queues_each_and_skips_duplicates(member_client, corpus) -> None:
    files = [SimpleUploadedFile("a.md", NOTE), SimpleUploadedFile("b.txt", b"Another document.")]
    response = member_client.post(reverse("corpora:upload", args=[corpus.pk]), {"files": files}, follow=True)

    assert response.status_code == 200
    assert sorted(corpus.documents.values_list("original_name", "status")) == [("a.md", "queued"), ("b.txt", "queued")]
    assert "2 file(s) queued" in response.content.decode()
    again = member_client.post(
        reverse("corpora:upload", args=[corpus.pk]), {"files": [SimpleUploadedFile("copy.md", NOTE)]}, follow=True
    )
    assert "not added again" in again.content.decode()
    assert corpus.documents.count() == 2


def test_one_bad_file_in_an_upload_is_reported_by_name_and_the_good_ones_are_kept(member_client, corpus) -> None:
    files = [
        SimpleUploadedFile("a.md", NOTE),
        SimpleUploadedFile("empty.txt", b""),
        SimpleUploadedFile("b.txt", b"Another document."),
    ]
    response = member_client.post(reverse("corpora:upload", args=[corpus.pk]), {"files": files}, follow=True)

    page = response.content.decode()
    assert sorted(corpus.documents.values_list("original_name", flat=True)) == ["a.md", "b.txt"]
    assert "2 file(s) queued" in page
    assert "empty.txt: The submitted file is empty." in page
    assert "Choose one or more files" not in page


def test_an_upload_without_files_asks_for_files(member_client, corpus) -> None:
    response = member_client.post(reverse("corpora:upload", args=[corpus.pk]), {}, follow=True)
    assert "Choose one or more files to upload." in response.content.decode()
    assert not corpus.documents.exists()


def test_detail_shows_documents_and_polls_only_while_active(member_client, corpus, ready_document) -> None:
    url = reverse("corpora:detail", args=[corpus.pk])
    page = member_client.get(url).content.decode()
    assert "notes.md" in page and "status-ready" in page and 'data-active="0"' in page
    assert 'id="dropzone"' in page and 'type="file" name="files"' in page and "multiple" in page

    document_upload(corpus=corpus, file=SimpleUploadedFile("new.md", b"A queued document."))
    assert 'data-active="1"' in member_client.get(url).content.decode()


def test_status_endpoint_reports_progress(member_client, corpus, ready_document) -> None:
    queued, _ = document_upload(corpus=corpus, file=SimpleUploadedFile("q.md", b"Queued text."))
    data = member_client.get(reverse("corpora:status", args=[corpus.pk])).json()

    assert data["active"] is True
    assert data["counts"] == {"queued": 1, "processing": 0, "ready": 1, "failed": 0}
    by_id = {d["id"]: d for d in data["documents"]}
    assert by_id[ready_document.pk]["chunk_count"] == ready_document.chunk_count > 0
    assert by_id[queued.pk]["status"] == "queued"


def test_failed_document_shows_its_error(member_client, corpus) -> None:
    document, _ = document_upload(corpus=corpus, file=SimpleUploadedFile("empty.md", b""))
    document_ingest(document_id=document.pk)

    page = member_client.get(reverse("corpora:detail", args=[corpus.pk])).content.decode()
    assert "status-failed" in page and "empty.md is empty (0 bytes)" in page


def test_document_page_previews_chunks_with_tags(member_client, corpus, ready_document) -> None:
    page = member_client.get(reverse("corpora:document", args=[corpus.pk, ready_document.pk])).content.decode()
    assert "[Doc: notes.md]" in page and "Reciprocal rank fusion combines" in page


def test_search_playground_lists_ranked_hits(member_client, corpus, ready_document) -> None:
    response = member_client.get(
        reverse("corpora:search", args=[corpus.pk]), {"q": "rank fusion", "mode": "hybrid", "k": 3}
    )
    page = response.content.decode()
    assert response.status_code == 200 and 'id="hits"' in page
    assert "[Doc: notes.md]" in page and "Reciprocal rank fusion" in page
    # Why the hit ranks where it does: its rank in every fused list, and what each added.
    assert '<tr data-signal="vector"><th>vector</th><td>#1' in page
    assert '<tr data-signal="table"><th>table</th><td>—' in page
    assert "+0.0164" in page  # 1 / (60 + 1)


def test_add_url_queues_a_web_document(member_client, corpus) -> None:
    member_client.post(reverse("corpora:add_url", args=[corpus.pk]), {"url": "https://example.org/post#top"})
    document = corpus.documents.get()
    assert (document.url, document.source_type, document.status) == ("https://example.org/post", "web", "queued")


def test_delete_document(member_client, corpus, ready_document) -> None:
    member_client.post(reverse("corpora:document_delete", args=[corpus.pk, ready_document.pk]))
    assert not corpus.documents.exists()


@pytest.mark.parametrize(
    ("name", "method", "extra"),
    [
        ("corpora:detail", "get", ()),
        ("corpora:status", "get", ()),
        ("corpora:search", "get", ()),
        ("corpora:document", "get", ("doc",)),
        ("corpora:upload", "post", ()),
        ("corpora:add_url", "post", ()),
        ("corpora:document_delete", "post", ("doc",)),
        ("corpora:document_retry", "post", ("doc",)),
    ],
)
def test_other_team_gets_404(outsider_client, corpus, ready_document, name, method, extra) -> None:
    args = [corpus.pk] + [ready_document.pk for _ in extra]
    response = getattr(outsider_client, method)(reverse(name, args=args), {"q": "fusion"} if method == "get" else {})

    assert response.status_code == 404
    assert Document.objects.filter(pk=ready_document.pk, status="ready").exists()
    assert corpus.documents.count() == 1


def test_other_team_does_not_see_corpus_in_list(outsider_client, corpus) -> None:
    assert "Team A papers" not in outsider_client.get(reverse("corpora:list")).content.decode()


def test_document_of_another_corpus_is_404_under_this_corpus(member_client, team, corpus, ready_document) -> None:
    other = corpus_create(team=team, name="Second")
    response = member_client.get(reverse("corpora:document", args=[other.pk, ready_document.pk]))
    assert response.status_code == 404


def test_documents_stuck_in_the_queue_point_at_a_missing_worker(member_client, team):
    from datetime import timedelta

    from django.utils import timezone

    from corpora.models import Corpus, Document

    corpus = Corpus.objects.create(team=team, name="stuck")
    document = Document.objects.create(corpus=corpus, sha256="f" * 64, original_name="a.md")
    page = member_client.get(f"/corpora/{corpus.pk}/")
    assert b'id="stalled-hint" class="banner" hidden' in page.content
    assert member_client.get(f"/corpora/{corpus.pk}/status.json").json()["stalled"] is False
    Document.objects.filter(pk=document.pk).update(updated_at=timezone.now() - timedelta(minutes=2))
    assert member_client.get(f"/corpora/{corpus.pk}/status.json").json()["stalled"] is True
    page = member_client.get(f"/corpora/{corpus.pk}/")
    assert b'id="stalled-hint" class="banner" >' in page.content and b"Is a worker running?" in page.content
