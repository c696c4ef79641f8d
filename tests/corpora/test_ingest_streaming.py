"""Ingestion in batches against real PostgreSQL and the fake OpenAI server over HTTP:
every batch stored in order, a failure part-way keeps what was stored and fails the
document, a retry embeds only what is missing, identical chunks are embedded once."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from fpdf import FPDF

from corpora import services
from corpora.models import Chunk, Corpus, Document, StagedChunk
from corpora.selectors import chunks_search
from corpora.services import corpus_create, document_ingest, document_requeue, document_upload
from tests.corpora.factories import media_root  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

BATCH = 8  # chunks per stage batch in these tests (64 in production): many batches, small files


@pytest.fixture
def small_batches(monkeypatch) -> int:
    monkeypatch.setattr(services, "INGEST_BATCH", BATCH)
    return BATCH


@pytest.fixture
def hosted(team, settings, fake_openai, media_root) -> Corpus:  # noqa: F811
    """A corpus embedded by the fake OpenAI server: each embedding request is recorded."""
    settings.LLM_BASE_URL = fake_openai.base_url
    settings.LLM_MAX_RETRIES = 0
    corpus = corpus_create(team=team, name="Hosted", embedding_model="openai:fake-embedding")
    fake_openai.clear_requests()  # the dimension probe
    return corpus


def _numbered_markdown(path: Path, paragraphs: int) -> Path:
    """Sections of one paragraph each (a chunk each), numbered P000, P001, ... in order."""
    parts = ["# Numbered report"]
    for number in range(paragraphs):
        parts.append(f"## Part {number}\n\nP{number:03d} states that adapter {number} trains sparse weights.")
    path.write_text("\n\n".join(parts))
    return path


def _embedded_texts(fake_openai) -> list[str]:
    texts: list[str] = []
    for request in fake_openai.requests_to("/embeddings"):
        sent = request.json["input"]
        texts += [sent] if isinstance(sent, str) else sent
    return texts


def _markers(texts: list[str]) -> list[int]:
    return [int(match.group(1)) for text in texts if (match := re.search(r"P(\d{3})", text))]


def test_chunks_of_a_multi_batch_document_are_all_stored_in_order(hosted, fake_openai, small_batches, tmp_path):
    document, _ = document_upload(corpus=hosted, file=_numbered_markdown(tmp_path / "report.md", 30))

    document = document_ingest(document_id=document.pk)

    assert document.status == Document.Status.READY
    chunks = list(Chunk.objects.filter(document=document).order_by("ordinal").values_list("ordinal", "text"))
    assert [ordinal for ordinal, _ in chunks] == list(range(document.chunk_count))
    assert document.chunk_count == 30 and _markers([text for _, text in chunks]) == list(range(30))
    assert len(fake_openai.requests_to("/embeddings")) == 4  # 30 chunks in batches of 8
    assert not StagedChunk.objects.filter(document=document).exists()
    hits = chunks_search(corpus=hosted, query="P029 states that adapter 29 trains sparse weights.", k=1, mode="keyword")
    assert hits and "P029" in hits[0].text


def test_failure_mid_document_fails_it_keeps_stored_batches_and_the_retry_embeds_only_the_rest(
    hosted, fake_openai, small_batches, tmp_path
):
    version = Corpus.objects.get(pk=hosted.pk).version
    document, _ = document_upload(corpus=hosted, file=_numbered_markdown(tmp_path / "report.md", 30))
    fake_openai.script(["ok", "ok", "400"])  # the third batch's embedding call is refused

    document = document_ingest(document_id=document.pk)

    assert document.status == Document.Status.FAILED
    assert document.error_message.startswith("Embedding failed:") and "scripted error 400" in document.error_message
    # The two batches before the failure are stored, whole and in order, but not searchable.
    staged = list(StagedChunk.objects.filter(document=document).order_by("ordinal").values_list("ordinal", "text"))
    assert [ordinal for ordinal, _ in staged] == list(range(2 * BATCH))
    assert _markers([text for _, text in staged]) == list(range(2 * BATCH))
    assert not Chunk.objects.filter(document=document).exists()
    assert chunks_search(corpus=hosted, query="adapter trains sparse weights", k=5, mode="keyword") == []
    assert Corpus.objects.get(pk=hosted.pk).version == version
    assert document.chunk_count == 0

    fake_openai.clear_requests()
    document_requeue(document=document)
    document = document_ingest(document_id=document.pk)

    assert document.status == Document.Status.READY and document.chunk_count == 30
    assert _markers(_embedded_texts(fake_openai)) == list(range(2 * BATCH, 30))  # nothing embedded twice
    texts = Chunk.objects.filter(document=document).order_by("ordinal").values_list("text", flat=True)
    assert _markers(list(texts)) == list(range(30))
    assert not StagedChunk.objects.filter(document=document).exists()
    assert Corpus.objects.get(pk=hosted.pk).version == version + 1


def test_transient_error_mid_document_is_retried_without_embedding_stored_batches_again(
    hosted, fake_openai, small_batches, tmp_path
):
    from llm.types import ProviderError

    document, _ = document_upload(corpus=hosted, file=_numbered_markdown(tmp_path / "report.md", 20))
    fake_openai.script(["ok", "503"])

    with pytest.raises(ProviderError):
        document_ingest(document_id=document.pk)  # the task retries it
    assert Document.objects.get(pk=document.pk).status == Document.Status.PROCESSING
    assert StagedChunk.objects.filter(document=document).count() == BATCH

    fake_openai.clear_requests()
    document = document_ingest(document_id=document.pk)

    assert document.status == Document.Status.READY and document.chunk_count == 20
    assert _markers(_embedded_texts(fake_openai)) == list(range(BATCH, 20))


def test_identical_chunks_are_embedded_once(hosted, fake_openai, tmp_path):
    path = tmp_path / "runs.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Method", "Dataset", "Accuracy"])
        for _ in range(40):
            writer.writerow(["LoRA", "SST-2", "91.5"])
        writer.writerow(["SAT", "SST-2", "92.0"])

    document, _ = document_upload(corpus=hosted, file=path)
    document = document_ingest(document_id=document.pk)

    assert document.status == Document.Status.READY and document.chunk_count == 42  # 41 rows and the table
    embedded = _embedded_texts(fake_openai)
    assert len(embedded) == len(set(embedded)) == 3
    vectors = {tuple(v) for v in Chunk.objects.filter(document=document, text__contains="LoRA", locator__has_key="row")
               .values_list("embedding", flat=True)}  # fmt: skip
    assert len(vectors) == 1


def test_a_long_pdf_is_read_page_by_page_into_ordered_chunks(team, media_root, tmp_path):  # noqa: F811
    pdf = FPDF()
    for page in range(1, 41):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(0, 10, f"Chapter {page}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, f"Page {page} explains how adapter rank {page} changes accuracy. " * 3)
    path = tmp_path / "handbook.pdf"
    pdf.output(str(path))
    corpus = corpus_create(team=team, name="Handbooks")
    document, _ = document_upload(corpus=corpus, file=path)

    document = document_ingest(document_id=document.pk)

    assert document.status == Document.Status.READY
    assert (document.page_count, document.title) == (40, "Chapter 1")
    rows = list(Chunk.objects.filter(document=document).order_by("ordinal").values_list("locator", "text"))
    assert [locator["page"] for locator, _ in rows] == list(range(1, 41))
    assert all(f"Page {locator['page']} explains" in text for locator, text in rows)


def test_repeated_rows_across_batches_are_ready_with_one_vector_per_text_when_the_cache_overflows(
    hosted, fake_openai, small_batches, monkeypatch, tmp_path
):
    monkeypatch.setattr(services, "VECTOR_CACHE_SIZE", 3)  # smaller than the distinct rows
    path = tmp_path / "cycle.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Method", "Seed"])
        for _ in range(6):
            for method in ("LoRA", "SAT", "Full FT", "Adapter", "Prefix"):
                writer.writerow([method, "1"])

    document = document_ingest(document_id=document_upload(corpus=hosted, file=path)[0].pk)

    assert document.status == Document.Status.READY and document.chunk_count == 31
    by_text: dict[str, set] = {}
    for text, vector in Chunk.objects.filter(document=document).values_list("text", "embedding"):
        by_text.setdefault(text, set()).add(tuple(vector))
    assert all(len(vectors) == 1 for vectors in by_text.values()) and len(by_text) == 6
