"""python manage.py ingest --team T --corpus NAME PATH… — add files/folders/URLs and wait."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.commands import team_lookup
from config.celery_app import app
from corpora.models import Corpus, Document
from corpora.parsers import SUPPORTED_EXTENSIONS
from corpora.services import corpus_create, document_add_url, document_ingest, document_upload

WORKER_PING_TIMEOUT = 2.0
POLL_SECONDS = 1.0


def ingest_worker_available(timeout: float = WORKER_PING_TIMEOUT) -> bool:
    """True when a Celery worker consuming the ingest queue answers within ``timeout``."""
    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception:  # noqa: BLE001 - an unreachable broker means "no worker"
        return False
    return any(queue.get("name") == "ingest" for queues in replies.values() for queue in queues or [])


class Command(BaseCommand):
    help = "Add files, folders (recursively) and http(s) URLs to a corpus and wait until they are indexed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--team", required=True, help="Team slug or name.")
        parser.add_argument("--corpus", required=True, help="Corpus name (created if missing).")
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Files, folders or http(s) URLs.")
        parser.add_argument("--sync", action="store_true", help="Ingest in this process instead of on a worker.")
        parser.add_argument("--timeout", type=float, default=1800, help="Seconds to wait for a worker (default 1800).")

    def handle(self, *args, **options) -> None:
        team = team_lookup(options["team"])
        corpus = Corpus.objects.filter(team=team, name=options["corpus"]).first()
        if corpus is None:
            try:
                corpus = corpus_create(team=team, name=options["corpus"])
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            self.stdout.write(f"Created corpus {corpus.name!r} ({corpus.embedding_model}).")

        sync = options["sync"]
        if not sync and not ingest_worker_available():
            self.stdout.write("No Celery worker answered within 2 s; ingesting in this process.")
            sync = True

        documents = self._add(corpus=corpus, sources=self._sources(options["paths"]), sync=sync)
        if not documents:
            raise CommandError("Nothing to ingest: no supported files among the given paths.")
        ids = [document.pk for document in documents]
        if sync:
            for document in Document.objects.filter(pk__in=ids, status=Document.Status.QUEUED).order_by("pk"):
                self.stdout.write(f"  indexing {document.display_name} …")
                result = document_ingest(document_id=document.pk)
                self.stdout.write(f"    {result.status} ({result.chunk_count} chunks)")
        else:
            self._wait(ids=ids, timeout=options["timeout"])
        self._report(ids)

    def _sources(self, raw: list[str]) -> list[str | Path]:
        sources: list[str | Path] = []
        for item in raw:
            if item.startswith(("http://", "https://")):
                sources.append(item)
                continue
            path = Path(item)
            if path.is_dir():
                found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS)
                if not found:
                    self.stderr.write(f"{path}: no supported files in this folder.")
                sources.extend(found)
            elif path.is_file():
                sources.append(path)
            else:
                raise CommandError(f"{item}: no such file or folder.")
        return sources

    def _add(self, *, corpus: Corpus, sources: list[str | Path], sync: bool) -> list[Document]:
        documents = []
        # In sync mode nothing is enqueued: this process does the work itself.
        for source in sources:
            if isinstance(source, Path):
                document, created = document_upload(corpus=corpus, file=source, enqueue=not sync)
            else:
                try:
                    document, created = document_add_url(corpus=corpus, url=source, enqueue=not sync)
                except ValidationError as exc:
                    raise CommandError(f"{source}: {' '.join(exc.messages)}") from exc
            note = "added" if created else "already in the corpus"
            self.stdout.write(f"{document.display_name}: {note} ({document.status})")
            documents.append(document)
        return documents

    def _wait(self, *, ids: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while True:
            statuses = list(Document.objects.filter(pk__in=ids).values_list("status", flat=True))
            done = sum(status in (Document.Status.READY, Document.Status.FAILED) for status in statuses)
            line = f"{done}/{len(ids)} documents done"
            if line != last:
                self.stdout.write(line)
                last = line
            if done == len(ids):
                return
            if time.monotonic() > deadline:
                raise CommandError(f"Timed out after {timeout:g} s with {len(ids) - done} document(s) unfinished.")
            time.sleep(POLL_SECONDS)

    def _report(self, ids: list[int]) -> None:
        documents = list(Document.objects.filter(pk__in=ids).order_by("pk"))
        width = max(len(d.display_name) for d in documents)
        self.stdout.write("")
        self.stdout.write(f"{'document':<{width}}  {'status':<8}  {'chunks':>6}  error")
        for d in documents:
            self.stdout.write(f"{d.display_name:<{width}}  {d.status:<8}  {d.chunk_count:>6}  {d.error_message}")
        failed = [d for d in documents if d.status == Document.Status.FAILED]
        if failed:
            raise CommandError(f"{len(failed)} of {len(documents)} document(s) failed.")
        self.stdout.write(self.style.SUCCESS(f"All {len(documents)} document(s) ready."))
