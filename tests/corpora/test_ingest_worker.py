"""A real Celery worker ingests a document uploaded through the HTTP API."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from corpora.models import Chunk, Document
from corpora.services import corpus_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _wait_done(document_id: int, timeout: float = 90.0) -> Document:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        document = Document.objects.get(pk=document_id)
        if document.status in (Document.Status.READY, Document.Status.FAILED):
            return document
        time.sleep(0.3)
    raise AssertionError(f"document {document_id} still {document.status} after {timeout}s")


def test_upload_through_api_becomes_ready_on_worker(celery_worker_factory, member, team, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    celery_worker_factory(queues="ingest", concurrency=2, env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)})
    corpus = corpus_create(team=team, name="Live")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=member).key}")

    response = api.post(
        f"/api/v1/corpora/{corpus.pk}/documents/",
        {
            "files": [
                SimpleUploadedFile("notes.md", b"# Notes\n\nHybrid retrieval fuses two rankings."),
                SimpleUploadedFile("broken.pdf", b"this is no pdf" * 30),
            ]
        },
        format="multipart",
    )
    assert response.status_code == 201
    ids = [r["document"]["id"] for r in response.json()["results"]]

    good, bad = (_wait_done(i) for i in ids)

    assert good.status == Document.Status.READY and good.chunk_count == Chunk.objects.filter(document=good).count() > 0
    assert bad.status == Document.Status.FAILED and "could not be read" in bad.error_message
    status = api.get(f"/api/v1/corpora/{corpus.pk}/search/", {"q": "hybrid retrieval", "k": 1}).json()
    assert status["results"][0]["document_id"] == good.pk
