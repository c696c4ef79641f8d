"""The ingest and reembed management commands, end to end in-process."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from corpora.models import Corpus, Document
from corpora.selectors import chunks_search
from tests.corpora.factories import media_root, sample_files  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_ingest_sync_creates_corpus_indexes_folder_and_prints_table(team, media_root, sample_files) -> None:  # noqa: F811
    folder = sample_files["sat_paper.pdf"].parent

    out = _run("ingest", "--team", team.slug, "--corpus", "SAT", "--sync", str(folder))

    corpus = Corpus.objects.get(team=team, name="SAT")
    documents = {d.original_name: d for d in corpus.documents.all()}
    # The folder also holds questions.json (unsupported, skipped) and questions.csv (a table).
    assert set(documents) == {"sat_paper.pdf", "sat_results.xlsx", "sat_blog.html", "questions.csv"}
    assert all(d.status == Document.Status.READY for d in documents.values())
    assert "Created corpus 'SAT'" in out and "All 4 document(s) ready." in out
    assert re.search(rf"sat_paper\.pdf\s+ready\s+{documents['sat_paper.pdf'].chunk_count}\b", out)
    hits = chunks_search(corpus=corpus, query="Which system has the best Dev F1?", k=3)
    assert any("SAT + Full FT (Ensemble)" in hit.text for hit in hits)


def test_ingest_falls_back_to_in_process_without_a_worker(team, media_root, sample_files, monkeypatch) -> None:  # noqa: F811
    from corpora.management.commands import ingest

    monkeypatch.setattr(ingest, "ingest_worker_available", lambda timeout=2.0: False)

    out = _run("ingest", "--team", team.name, "--corpus", "Blog", str(sample_files["sat_blog.html"]))

    assert "No Celery worker answered within 2 s; ingesting in this process." in out
    assert Corpus.objects.get(name="Blog").documents.get().status == Document.Status.READY


def test_ingest_exits_non_zero_when_a_document_fails(team, media_root, tmp_path) -> None:  # noqa: F811
    good = tmp_path / "good.md"
    good.write_text("Some useful text about retrieval.")
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"not a pdf at all" * 20)

    with pytest.raises(CommandError, match="1 of 2 document"):
        _run("ingest", "--team", team.slug, "--corpus", "Mixed", "--sync", str(good), str(bad))

    statuses = dict(Corpus.objects.get(name="Mixed").documents.values_list("original_name", "status"))
    assert statuses == {"good.md": "ready", "broken.pdf": "failed"}


def test_ingest_unknown_team_and_missing_path(team, tmp_path) -> None:
    with pytest.raises(CommandError, match="No team"):
        _run("ingest", "--team", "nope", "--corpus", "X", "--sync", str(tmp_path))
    with pytest.raises(CommandError, match="no such file"):
        _run("ingest", "--team", team.slug, "--corpus", "X", "--sync", str(tmp_path / "missing.pdf"))


def test_reembed_bumps_version_and_keeps_search_working(team, media_root, sample_files) -> None:  # noqa: F811
    _run("ingest", "--team", team.slug, "--corpus", "SAT", "--sync", str(sample_files["sat_blog.html"]))
    corpus = Corpus.objects.get(name="SAT")
    version = corpus.version

    out = _run("reembed", "--team", team.slug, "--corpus", "SAT", "--model", "local:all-MiniLM-L6-v2")

    corpus.refresh_from_db()
    assert corpus.version == version + 1 and "384 dimensions" in out
    assert chunks_search(corpus=corpus, query="learning rate", k=1, mode="vector")
    with pytest.raises(CommandError, match="unknown embedder"):
        _run("reembed", "--team", team.slug, "--corpus", "SAT", "--model", "magic:model")
