"""Hostile documents: binaries under every extension, NUL characters, a document stuck in
processing. Each ends ready or failed with a message; nothing else changes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from fpdf import FPDF

from corpora.models import Chunk, Corpus, Document
from corpora.parsers import SUPPORTED_EXTENSIONS
from corpora.services import corpus_create, document_ingest, document_requeue, document_upload
from sessions.sweep import sweep
from tests.corpora.factories import media_root  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8
TEXT_EXTENSIONS = sorted(ext for ext, kind in SUPPORTED_EXTENSIONS.items() if kind not in ("pdf", "xlsx"))


@pytest.fixture
def corpus(team, media_root) -> Corpus:  # noqa: F811
    return corpus_create(team=team, name="Papers")


def _encrypted_pdf(path: Path) -> bytes:
    import pypdf

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "secret")
    plain = path.with_suffix(".plain")
    pdf.output(str(plain))
    writer = pypdf.PdfWriter(clone_from=str(plain))
    writer.encrypt("pw")
    writer.write(str(path))
    return path.read_bytes()


def _ingest(corpus: Corpus, path: Path) -> Document:
    document, created = document_upload(corpus=corpus, file=path)
    assert created
    return document_ingest(document_id=document.pk)


def _assert_failed_alone(corpus: Corpus, document: Document, message: str) -> None:
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert message in document.error_message
    assert not Chunk.objects.filter(corpus=corpus).exists()
    corpus.refresh_from_db()
    assert corpus.version == 1


@pytest.mark.parametrize("extension", TEXT_EXTENSIONS)
def test_an_executable_under_a_text_extension_fails_with_a_message(corpus, tmp_path, extension):
    path = tmp_path / f"program{extension}"
    path.write_bytes(ELF)
    _assert_failed_alone(corpus, _ingest(corpus, path), "is a program (ELF executable), not a text file")


@pytest.mark.parametrize("extension", [".html", ".csv", ".md"])
def test_an_encrypted_pdf_renamed_to_text_fails_with_a_message(corpus, tmp_path, extension):
    path = tmp_path / f"paper{extension}"
    path.write_bytes(_encrypted_pdf(tmp_path / "paper.pdf"))
    _assert_failed_alone(corpus, _ingest(corpus, path), "is a PDF, not a text file")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("report.pdf", b"<html><body>not a pdf</body></html>", "does not start like a PDF"),
        ("table.xlsx", b"a,b\n1,2\n", "is not an Excel workbook"),
        ("table.xlsx", b"PK\x03\x04 truncated", "zip archive is unreadable"),
        ("random.txt", bytes(range(1, 32)) * 40, "does not look like a text file"),
    ],
    ids=["html-as-pdf", "csv-as-xlsx", "broken-zip", "control-bytes"],
)
def test_a_file_that_is_not_what_its_extension_says_fails_with_a_message(corpus, tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    _assert_failed_alone(corpus, _ingest(corpus, path), message)


def test_a_nul_byte_in_the_first_row_of_a_csv_fails_the_document_instead_of_leaving_it_processing(corpus, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"name,val\x00ue\nSAT,88.6\nLoRA,87\n")  # 35 bytes
    document = _ingest(corpus, path)
    _assert_failed_alone(corpus, document, "does not look like a text file")
    assert document_requeue(document=document).status == Document.Status.QUEUED  # Retry works


def test_nul_characters_past_the_sniffed_head_are_stripped_from_everything_stored(corpus, tmp_path):
    path = tmp_path / "notes.md"
    filler = "Sparse adapters tune few weights. " * 300  # the NULs come after the sniffed head
    text = f"# Notes\n\n{filler}\n\n## Res\x00ults\n\nSAT reaches 88.6\x00 EM.\n"
    path.write_bytes(text.encode())
    document = _ingest(corpus, path)
    assert document.status == Document.Status.READY, document.error_message
    chunks = Chunk.objects.filter(document=document)
    assert chunks.exists()
    for chunk in chunks:
        assert "\x00" not in chunk.text and "\x00" not in chunk.source_tag
        assert "\x00" not in str(chunk.heading_path) and "\x00" not in str(chunk.locator)
    assert chunks.filter(text__contains="88.6 EM").exists()


def test_a_nul_in_the_file_name_is_stripped(corpus, tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\nSAT reaches 88.6 EM.\n")
    document, _ = document_upload(corpus=corpus, file=path, filename="no\x00tes.md")
    assert document.original_name == "notes.md" and document.title == "notes"
    assert document_ingest(document_id=document.pk).status == Document.Status.READY


def test_the_sweep_fails_a_document_stuck_in_processing_and_retry_queues_it_again(corpus, tmp_path, settings):
    settings.DOCUMENT_PROCESSING_LIMIT_SECONDS = 60
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\nSAT reaches 88.6 EM.\n")
    stuck, _ = document_upload(corpus=corpus, file=path, enqueue=False)
    recent_path = tmp_path / "recent.md"
    recent_path.write_text("# Recent\n\nStill being read.\n")
    recent, _ = document_upload(corpus=corpus, file=recent_path, enqueue=False)
    Document.objects.filter(pk=stuck.pk).update(
        status=Document.Status.PROCESSING, updated_at=timezone.now() - timedelta(minutes=5)
    )
    Document.objects.filter(pk=recent.pk).update(status=Document.Status.PROCESSING)

    report = sweep()

    assert report is not None and report.documents_failed == 1
    stuck.refresh_from_db()
    recent.refresh_from_db()
    assert stuck.status == Document.Status.FAILED
    assert "did not finish within 1 minutes" in stuck.error_message and "Retry" in stuck.error_message
    assert recent.status == Document.Status.PROCESSING  # within its time limit: left alone
    stuck = document_requeue(document=stuck)
    assert stuck.status == Document.Status.QUEUED and stuck.error_message == ""
    assert document_ingest(document_id=stuck.pk).status == Document.Status.READY
