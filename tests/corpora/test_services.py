"""Ingestion services against real PostgreSQL: bad input fails one document, nothing else."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pypdf
import pytest
from django.db import connection
from fpdf import FPDF

from corpora import services
from corpora.models import Chunk, Corpus, Document
from corpora.selectors import chunks_search
from corpora.services import (
    corpus_create,
    corpus_reembed,
    document_add_url,
    document_delete,
    document_ingest,
    document_upload,
)
from llm.types import ProviderError
from tests.corpora.factories import closed_port, media_root, sample_files  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

GOOD_TEXT = (
    "# Retrieval notes\n\nHybrid retrieval fuses vector search with keyword search. "
    "Reciprocal rank fusion needs no score calibration.\n"
)


def _pdf(path: Path) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, "Sparse updates keep memory low. " * 5)
    pdf.output(str(path))
    return path


@pytest.fixture
def corpus(team, media_root) -> Corpus:  # noqa: F811
    return corpus_create(team=team, name="Papers")


@pytest.fixture
def good_document(corpus, tmp_path) -> Document:
    path = tmp_path / "notes.md"
    path.write_text(GOOD_TEXT)
    document, _ = document_upload(corpus=corpus, file=path)
    return document_ingest(document_id=document.pk)


def _snapshot(corpus: Corpus, document: Document) -> tuple:
    corpus.refresh_from_db()
    document.refresh_from_db()
    chunks = list(Chunk.objects.filter(document=document).order_by("ordinal").values_list("id", "key", "text"))
    return corpus.version, corpus.name, document.status, document.chunk_count, document.updated_at, chunks


def _corrupt_pdf(tmp: Path) -> Path:
    path = tmp / "broken.pdf"
    path.write_bytes(b"\x00\x13garbage that is not a PDF at all" * 50)
    return path


def _encrypted_pdf(tmp: Path) -> Path:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(_pdf(tmp / "plain.pdf")))
    writer.encrypt(user_password="secret", owner_password="owner")
    path = tmp / "locked.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.txt"
    path.write_bytes(b"")
    return path


def _unsupported(tmp: Path) -> Path:
    path = tmp / "slides.pptx"
    path.write_bytes(b"PK\x03\x04 not really a presentation")
    return path


def _zip_bomb(tmp: Path) -> Path:
    path = tmp / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<row>" + b"0" * (30 * 1024 * 1024))
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_corrupt_pdf, "could not be read"),
        (_encrypted_pdf, "encrypted; remove the password"),
        (_empty, "is empty (0 bytes)"),
        (_unsupported, ".pptx is not a supported type"),
        (_zip_bomb, "zip bomb"),
    ],
    ids=["corrupt-pdf", "encrypted-pdf", "empty", "unsupported-type", "zip-bomb-xlsx"],
)
def test_bad_file_fails_only_its_document(corpus, good_document, tmp_path, make, message) -> None:
    before = _snapshot(corpus, good_document)

    bad, created = document_upload(corpus=corpus, file=make(tmp_path))
    assert created and bad.status == Document.Status.QUEUED
    bad = document_ingest(document_id=bad.pk)

    bad.refresh_from_db()
    assert bad.status == Document.Status.FAILED
    assert message in bad.error_message
    assert not bad.error_message.startswith("Internal error")
    assert bad.chunk_count == 0 and not Chunk.objects.filter(document=bad).exists()
    assert _snapshot(corpus, good_document) == before
    assert good_document.status == Document.Status.READY


def test_file_over_size_limit_is_failed_at_upload_and_not_stored(corpus, good_document, tmp_path, settings) -> None:
    settings.MAX_UPLOAD_MB = 1
    before = _snapshot(corpus, good_document)
    path = tmp_path / "huge.txt"
    path.write_bytes(b"word " * (300 * 1024))  # 1.5 MB

    document, created = document_upload(corpus=corpus, file=path)

    assert created
    assert document.status == Document.Status.FAILED
    assert "huge.txt is 1.46 MB; the limit is 1 MB per file" in document.error_message
    assert not document.file
    assert not list(Path(settings.MEDIA_ROOT).rglob("huge*"))
    # Ingesting it anyway changes nothing.
    assert document_ingest(document_id=document.pk).status == Document.Status.FAILED
    assert _snapshot(corpus, good_document) == before


def test_unreachable_url_fails_only_its_document(corpus, good_document) -> None:
    before = _snapshot(corpus, good_document)
    document, created = document_add_url(corpus=corpus, url=f"http://127.0.0.1:{closed_port()}/paper")
    assert created and document.source_type == Document.SourceType.WEB

    document = document_ingest(document_id=document.pk)

    assert document.status == Document.Status.FAILED
    assert document.error_message.startswith("Could not reach 127.0.0.1")
    assert _snapshot(corpus, good_document) == before


def test_same_bytes_twice_are_one_document(corpus, good_document, tmp_path) -> None:
    copy = tmp_path / "renamed-copy.md"
    copy.write_text(GOOD_TEXT)

    again, created = document_upload(corpus=corpus, file=copy)

    assert not created
    assert again.pk == good_document.pk
    assert Document.objects.filter(corpus=corpus).count() == 1


def test_same_bytes_in_another_corpus_are_indexed_there_too(corpus, good_document, team, tmp_path) -> None:
    other = corpus_create(team=team, name="Other")
    path = tmp_path / "notes.md"
    document, created = document_upload(corpus=other, file=path)
    assert created
    document = document_ingest(document_id=document.pk)
    assert document.status == Document.Status.READY
    assert Chunk.objects.filter(document=document).count() == good_document.chunk_count


def test_reingest_never_duplicates_chunks(corpus, good_document) -> None:
    keys = sorted(Chunk.objects.filter(document=good_document).values_list("key", flat=True))
    version = Corpus.objects.get(pk=corpus.pk).version

    # A ready document is left alone.
    assert document_ingest(document_id=good_document.pk).status == Document.Status.READY
    assert Corpus.objects.get(pk=corpus.pk).version == version
    # A task re-delivered after a crash mid-processing redoes the work without duplicates.
    Document.objects.filter(pk=good_document.pk).update(status=Document.Status.PROCESSING)
    document_ingest(document_id=good_document.pk)

    assert sorted(Chunk.objects.filter(document=good_document).values_list("key", flat=True)) == keys
    assert Chunk.objects.filter(document=good_document).count() == len(keys) > 0


def test_ready_document_counts_and_version(corpus, sample_files) -> None:  # noqa: F811
    version = corpus.version
    document, _ = document_upload(corpus=corpus, file=sample_files["sat_paper.pdf"])
    document = document_ingest(document_id=document.pk)

    assert document.status == Document.Status.READY
    assert document.source_type == "pdf"
    assert document.page_count == 3
    assert document.chunk_count == Chunk.objects.filter(document=document).count() > 3
    assert Corpus.objects.get(pk=corpus.pk).version == version + 1
    tags = set(Chunk.objects.filter(document=document).values_list("source_tag", flat=True))
    assert "[PDF: sat_paper.pdf p.1]" in tags and "[PDF: sat_paper.pdf p.3]" in tags


class _BrokenEmbedder:
    dimension = 384

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def embed(self, texts):
        raise self.exc


def test_transient_embedding_error_is_reraised_for_retry(corpus, tmp_path, monkeypatch) -> None:
    path = tmp_path / "a.md"
    path.write_text(GOOD_TEXT)
    document, _ = document_upload(corpus=corpus, file=path)
    monkeypatch.setattr(
        services, "embedder_for", lambda **kw: _BrokenEmbedder(ProviderError("rate limited", transient=True))
    )

    with pytest.raises(ProviderError):
        document_ingest(document_id=document.pk)

    document.refresh_from_db()
    assert document.status == Document.Status.PROCESSING  # the retry picks it up again
    monkeypatch.undo()
    assert document_ingest(document_id=document.pk).status == Document.Status.READY


def test_permanent_embedding_error_fails_the_document(corpus, tmp_path, monkeypatch) -> None:
    path = tmp_path / "a.md"
    path.write_text(GOOD_TEXT)
    document, _ = document_upload(corpus=corpus, file=path)
    monkeypatch.setattr(
        services, "embedder_for", lambda **kw: _BrokenEmbedder(ProviderError("bad api key", transient=False))
    )

    document = document_ingest(document_id=document.pk)

    assert document.status == Document.Status.FAILED
    assert document.error_message == "Embedding failed: bad api key"


def test_unexpected_error_is_recorded_as_internal_error(corpus, tmp_path, monkeypatch) -> None:
    path = tmp_path / "a.md"
    path.write_text(GOOD_TEXT)
    document, _ = document_upload(corpus=corpus, file=path)
    monkeypatch.setattr(services, "chunk_blocks", lambda **kw: 1 / 0)

    document = document_ingest(document_id=document.pk)

    assert document.status == Document.Status.FAILED
    assert document.error_message == "Internal error: division by zero"
    assert Document.objects.filter(pk=document.pk).exists()


def test_upload_enqueues_ingest_after_commit(corpus, tmp_path, monkeypatch, django_capture_on_commit_callbacks) -> None:
    from corpora import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.ingest_document, "delay", lambda document_id: sent.append(document_id))
    path = tmp_path / "a.md"
    path.write_text(GOOD_TEXT)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        document, _ = document_upload(corpus=corpus, file=path)
    assert sent == []  # nothing is sent before the row is committed
    for callback in callbacks:
        callback()
    assert sent == [document.pk]


def test_task_marks_document_failed_after_last_retry(corpus, tmp_path, monkeypatch) -> None:
    from corpora import tasks

    path = tmp_path / "a.md"
    path.write_text(GOOD_TEXT)
    document, _ = document_upload(corpus=corpus, file=path)
    monkeypatch.setattr(
        services, "embedder_for", lambda **kw: _BrokenEmbedder(ProviderError("overloaded", transient=True))
    )

    tasks.ingest_document.apply(args=[document.pk], retries=tasks.MAX_RETRIES)

    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert "Embedding failed after 4 attempts: overloaded" in document.error_message


def test_delete_removes_chunks_and_file_and_bumps_version(corpus, good_document, django_capture_on_commit_callbacks):
    stored = Path(good_document.file.path)
    version = Corpus.objects.get(pk=corpus.pk).version

    with django_capture_on_commit_callbacks(execute=True):
        document_delete(document=good_document)

    assert not Chunk.objects.filter(corpus=corpus).exists()
    assert not stored.exists()
    assert Corpus.objects.get(pk=corpus.pk).version == version + 1


def test_unusual_dimension_gets_its_own_hnsw_index(team, settings, fake_openai) -> None:
    settings.LLM_BASE_URL = fake_openai.base_url
    corpus = corpus_create(team=team, name="Hosted", embedding_model="openai:fake-embedding")

    assert corpus.embedding_dimension == 64
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'chunk_embedding_hnsw_64'")
        (definition,) = cursor.fetchone()
    assert "vector_dims(embedding) = 64" in definition


def test_reembed_switches_model_and_dimension(corpus, good_document, settings, fake_openai) -> None:
    settings.LLM_BASE_URL = fake_openai.base_url
    version = Corpus.objects.get(pk=corpus.pk).version

    corpus = corpus_reembed(corpus=corpus, embedding_model="openai:fake-embedding")

    assert (corpus.embedding_model, corpus.embedding_dimension, corpus.version) == (
        "openai:fake-embedding",
        64,
        version + 1,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT vector_dims(embedding) FROM corpora_chunk WHERE corpus_id = %s", [corpus.pk])
        assert cursor.fetchall() == [(64,)]
    hits = chunks_search(corpus=corpus, query="reciprocal rank fusion", mode="vector", k=1)
    assert hits and hits[0].document_id == good_document.pk
