"""factory_boy factories for corpora rows (no parsing or embedding involved)."""

from __future__ import annotations

import hashlib
import socket
import sys
from pathlib import Path

import factory
import pytest

from corpora.models import Corpus, Document


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "accounts.Team"

    name = factory.Sequence(lambda n: f"Factory team {n}")
    slug = factory.Sequence(lambda n: f"factory-team-{n}")


class CorpusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Corpus

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Corpus {n}")
    embedding_model = "local:all-MiniLM-L6-v2"
    embedding_dimension = 384


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    corpus = factory.SubFactory(CorpusFactory)
    original_name = factory.Sequence(lambda n: f"doc-{n}.md")
    title = factory.LazyAttribute(lambda o: o.original_name.rsplit(".", 1)[0])
    source_type = Document.SourceType.MARKDOWN
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.original_name.encode()).hexdigest())
    status = Document.Status.READY


# --- shared helpers and fixtures (import the fixtures into a test module to use them) ---

ROOT = Path(__file__).resolve().parents[2]


def write_sample_corpus(out: Path) -> list[Path]:
    """The project's sample corpus (sat_paper.pdf, sat_results.xlsx, sat_blog.html, questions)."""
    scripts = str(ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    from make_sample_corpus import write_sample_corpus as write

    return write(out=out)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:
    """Uploaded files go to a temporary folder for this test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def sample_files(tmp_path: Path) -> dict[str, Path]:
    paths = write_sample_corpus(tmp_path / "sample")
    return {path.name: path for path in paths}


@pytest.fixture
def sample_corpus(team, media_root, sample_files) -> Corpus:
    """The sample paper, workbook and blog post, ingested into one corpus."""
    from corpora.services import corpus_create, document_ingest, document_upload

    corpus = corpus_create(team=team, name="SAT")
    for name in ("sat_paper.pdf", "sat_results.xlsx", "sat_blog.html"):
        document, _ = document_upload(corpus=corpus, file=sample_files[name])
        assert document_ingest(document_id=document.pk).status == Document.Status.READY
    corpus.refresh_from_db()
    return corpus
