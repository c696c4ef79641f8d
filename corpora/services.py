"""Corpus writes: create corpora, accept documents, ingest them, re-embed, delete.

Every state change of a corpus or document goes through a function here; views, the
API, tasks and commands only call them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Team
from core.file_guards import SNIFF_BYTES, FileRejected, guard_file, guard_text, strip_nul
from core.locks import DOCUMENT, advisory_lock
from core.queueing import task_publish_on_commit
from corpora.chunking import ChunkDraft, chunk_blocks, chunk_key
from corpora.fetch import FetchError, fetch_url
from corpora.models import INDEXED_DIMENSIONS, Chunk, Corpus, Document, StagedChunk
from corpora.parsers import SUPPORTED_EXTENSIONS, BlockStream, ParseError, parse_html, stream_file
from corpora.parsers.base import megabytes
from corpora.stages import batched, prefetched
from corpora.vector_sql import MAX_INDEXED_DIMENSION, create_index_sql, index_name
from llm.embeddings import Embedder, get_embedder
from llm.types import LLMConfig, Provider, ProviderError

logger = logging.getLogger(__name__)

EMBED_BATCH = 256
_HASH_BLOCK = 1024 * 1024

_CONTENT_TYPE_EXTENSIONS = {
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/csv": ".csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}


# --- embedders ------------------------------------------------------------------------


def embedder_for(*, name: str, dimension: int | None = None) -> Embedder:
    """The embedder called ``name``, configured from settings (``openai:`` uses LLM_BASE_URL)."""
    config = None
    if name.startswith("openai:"):
        if not settings.LLM_BASE_URL:
            raise ValidationError(f"{name} needs an OpenAI-compatible endpoint; set LLM_BASE_URL.")
        config = LLMConfig(
            provider=Provider.OPENAI,
            base_url=settings.LLM_BASE_URL,
            api_key=settings.LLM_API_KEY,
            timeout=settings.LLM_TIMEOUT,
            max_retries=settings.LLM_MAX_RETRIES,
        )
    try:
        return get_embedder(name=name, config=config, dimension=dimension)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def vector_index_ensure(*, dimension: int) -> bool:
    """Create the partial HNSW index for ``dimension`` if it is indexable; True when indexed."""
    if dimension in INDEXED_DIMENSIONS:
        return True
    if dimension > MAX_INDEXED_DIMENSION:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [index_name(dimension)])
        if cursor.fetchone():
            return True
        # CREATE INDEX refuses to run while deferred FK checks of this transaction are
        # pending; run them now (Django's FKs are DEFERRABLE INITIALLY DEFERRED, restored after).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(create_index_sql(dimension))
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return True


# --- corpora --------------------------------------------------------------------------


def corpus_create(
    *,
    team: Team,
    name: str,
    description: str = "",
    embedding_model: str | None = None,
    user=None,
) -> Corpus:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A corpus needs a name."})
    if Corpus.objects.filter(team=team, name=name).exists():
        raise ValidationError({"name": f"Your team already has a corpus called {name!r}."})
    model_name = embedding_model or settings.EMBEDDING_MODEL
    embedder = embedder_for(name=model_name)
    dimension = embedder.dimension
    with transaction.atomic():
        vector_index_ensure(dimension=dimension)
        try:
            with transaction.atomic():
                return Corpus.objects.create(
                    team=team,
                    name=name,
                    description=description,
                    embedding_model=model_name,
                    embedding_dimension=dimension,
                    created_by=user if user is not None and user.is_authenticated else None,
                )
        except IntegrityError as exc:
            raise ValidationError({"name": f"Your team already has a corpus called {name!r}."}) from exc


def corpus_reembed(*, corpus: Corpus, embedding_model: str) -> Corpus:
    """Re-embed every chunk of the corpus with ``embedding_model`` (may change the dimension).

    Vectors are computed first, then written with the new model name in one transaction,
    so searches never mix two models' vectors.
    """
    embedder = embedder_for(name=embedding_model)
    dimension = embedder.dimension
    rows = list(Chunk.objects.filter(corpus=corpus).order_by("id").values_list("id", "text"))
    vectors: list[list[float]] = []
    for start in range(0, len(rows), EMBED_BATCH):
        vectors.extend(embedder.embed([text for _, text in rows[start : start + EMBED_BATCH]]))
    with transaction.atomic():
        vector_index_ensure(dimension=dimension)
        locked = Corpus.objects.select_for_update().get(pk=corpus.pk)
        chunks = [Chunk(id=chunk_id, embedding=vector) for (chunk_id, _), vector in zip(rows, vectors, strict=True)]
        Chunk.objects.bulk_update(chunks, ["embedding"], batch_size=500)
        locked.embedding_model = embedding_model
        locked.embedding_dimension = dimension
        locked.version = F("version") + 1
        locked.save(update_fields=["embedding_model", "embedding_dimension", "version"])
    locked.refresh_from_db()
    return locked


def corpus_delete(*, corpus: Corpus) -> None:
    names = [name for name in corpus.documents.exclude(file="").values_list("file", flat=True)]
    with transaction.atomic():
        corpus.delete()
        transaction.on_commit(lambda: _delete_files(names))


# --- documents ------------------------------------------------------------------------


def _max_bytes() -> int:
    return settings.MAX_UPLOAD_MB * 1024 * 1024


def _sha256_of(handle: File) -> str:
    digest = hashlib.sha256()
    if hasattr(handle, "chunks"):
        for block in handle.chunks(_HASH_BLOCK):
            digest.update(block)
    else:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def _enqueue_ingest(document_id: int) -> None:
    from corpora.tasks import ingest_document

    task_publish_on_commit(task=ingest_document, args_list=[[document_id]])


def _source_type_for(filename: str) -> str:
    kind = SUPPORTED_EXTENSIONS.get(Path(filename).suffix.lower(), "unknown")
    return {"tsv": "csv"}.get(kind, kind)


def document_upload(
    *,
    corpus: Corpus,
    file: UploadedFile | File | Path,
    filename: str | None = None,
    user=None,
    enqueue: bool = True,
) -> tuple[Document, bool]:
    """Accept one file for ``corpus``; returns (document, created).

    ``file`` is an uploaded file or a path on disk. The same bytes uploaded twice to one
    corpus return the existing document. A file over MAX_UPLOAD_MB becomes a failed
    document that stores nothing but its name, size and hash.
    """
    opened: File | None = None
    if isinstance(file, Path):
        opened = File(file.open("rb"), name=file.name)
        handle: File = opened
        name = filename or file.name
    else:
        handle = file
        name = filename or Path(file.name or "upload").name
    try:
        return _document_upload(corpus=corpus, handle=handle, name=name, user=user, enqueue=enqueue)
    finally:
        if opened is not None:
            opened.close()


def _document_upload(*, corpus: Corpus, handle: File, name: str, user, enqueue: bool) -> tuple[Document, bool]:
    name = strip_nul(name) or "upload"
    size = handle.size or 0
    sha256 = _sha256_of(handle)
    existing = Document.objects.filter(corpus=corpus, sha256=sha256).first()
    if existing is not None:
        return existing, False
    uploader = user if user is not None and user.is_authenticated else None
    document = Document(
        corpus=corpus,
        original_name=name[:500],
        title=Path(name).stem[:500],
        source_type=_source_type_for(name),
        sha256=sha256,
        size_bytes=size,
        uploaded_by=uploader,
    )
    if size > _max_bytes():
        document.status = Document.Status.FAILED
        document.error_message = (
            f"{name} is {megabytes(size)} MB; the limit is {settings.MAX_UPLOAD_MB} MB per file. "
            "Split it or ask an administrator to raise MAX_UPLOAD_MB."
        )
        document.processed_at = timezone.now()
    else:
        document.file.save(name, handle, save=False)
    try:
        with transaction.atomic():
            document.save()
            if enqueue and document.status == Document.Status.QUEUED:
                _enqueue_ingest(document.pk)
    except IntegrityError:
        # The same bytes arrived concurrently; keep the first and drop our copy.
        if document.file:
            document.file.delete(save=False)
        return Document.objects.get(corpus=corpus, sha256=sha256), False
    return document, True


def _normalised_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "Enter an http:// or https:// address."})
    return parts._replace(fragment="").geturl()


def document_add_url(*, corpus: Corpus, url: str, user=None, enqueue: bool = True) -> tuple[Document, bool]:
    """Queue a web page for ingestion; the same URL twice in a corpus is one document."""
    url = _normalised_url(url)
    sha256 = hashlib.sha256(f"url:{url}".encode()).hexdigest()
    existing = Document.objects.filter(corpus=corpus, sha256=sha256).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            document = Document.objects.create(
                corpus=corpus,
                source_type=Document.SourceType.WEB,
                title=(urlsplit(url).hostname or url)[:500],
                url=url,
                sha256=sha256,
                uploaded_by=user if user is not None and user.is_authenticated else None,
            )
            if enqueue:
                _enqueue_ingest(document.pk)
    except IntegrityError:
        return Document.objects.get(corpus=corpus, sha256=sha256), False
    return document, True


def document_requeue(*, document: Document) -> Document:
    """Queue a failed document again (after a fix on our side or a transient outage)."""
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        if locked.status != Document.Status.FAILED or not (locked.file or locked.url):
            return locked
        locked.status = Document.Status.QUEUED
        locked.error_message = ""
        locked.save(update_fields=["status", "error_message", "updated_at"])
        _enqueue_ingest(locked.pk)
    return locked


def document_delete(*, document: Document) -> None:
    name = document.file.name if document.file else ""
    with transaction.atomic():
        was_ready = document.status == Document.Status.READY
        corpus_id = document.corpus_id
        document.delete()
        if was_ready:
            Corpus.objects.filter(pk=corpus_id).update(version=F("version") + 1)
        if name:
            transaction.on_commit(lambda: _delete_files([name]))


def _delete_files(names: Iterable[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete stored file %s", name)


def document_fail(*, document_id: int, message: str, only_if_processing_since=None) -> Document | None:
    """Mark a document failed with ``message`` unless it became ready meanwhile.

    With ``only_if_processing_since`` (a datetime) only a document still processing and
    unchanged since then is failed (the sweep's check, repeated under the row lock).
    """
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None or document.status == Document.Status.READY:
            return document
        if only_if_processing_since is not None and (
            document.status != Document.Status.PROCESSING or document.updated_at >= only_if_processing_since
        ):
            return document
        document.status = Document.Status.FAILED
        document.error_message = strip_nul(message)
        document.processed_at = timezone.now()
        document.save(update_fields=["status", "error_message", "processed_at", "updated_at"])
    return document


def document_ingest(*, document_id: int) -> Document:
    """Parse, chunk and embed one document, then store its chunks and mark it ready.

    Harmless to call twice: a ready or failed document is returned as is, and chunks are
    replaced (not added) in the same transaction that marks the document ready, so a
    re-delivered task never duplicates them. ParseError/FetchError and permanent
    provider errors fail the document with their message; a transient ProviderError is
    re-raised for the task to retry; anything else fails it as an internal error.
    Raises Document.DoesNotExist when the document is gone.
    """
    with advisory_lock(namespace=DOCUMENT, key=document_id) as acquired:
        if not acquired:  # a second delivery while the first still works on it
            return Document.objects.get(pk=document_id)
        with transaction.atomic():
            document = Document.objects.select_for_update().select_related("corpus").get(pk=document_id)
            if document.status not in (Document.Status.QUEUED, Document.Status.PROCESSING):
                return document
            document.status = Document.Status.PROCESSING
            document.error_message = ""
            document.save(update_fields=["status", "error_message", "updated_at"])
        # Every way out of here leaves the document ready or failed with a message (or,
        # for a transient provider error, processing for the task's retry).
        try:
            return _ingest(document)
        except Document.DoesNotExist:
            raise
        except (ParseError, FetchError, FileRejected) as exc:
            return document_fail(document_id=document_id, message=str(exc)) or document
        except ProviderError as exc:
            if exc.transient:
                raise
            return document_fail(document_id=document_id, message=f"Embedding failed: {exc.message}") or document
        except Exception as exc:  # noqa: BLE001 - recorded on the row: a document never stays processing
            logger.exception("ingesting document %s failed", document_id)
            return document_fail(document_id=document_id, message=f"Internal error: {exc}") or document


# Chunks per stage batch: embedded in one call and committed in one transaction.
INGEST_BATCH = 64
# Distinct chunk texts whose vectors are remembered within one document (repeated table
# rows, boilerplate paragraphs): about 1.5 MB at 384 dimensions.
VECTOR_CACHE_SIZE = 1024


def _ingest(document: Document) -> Document:
    """Stream the document through parse+chunk (a thread) -> embed -> stage, then publish.

    Memory is bounded by a few batches, whatever the document's size. Each batch is
    committed on its own (``StagedChunk``); chunks staged by an earlier attempt with the
    same key are not embedded again.
    """
    corpus = document.corpus
    embedder = embedder_for(name=corpus.embedding_model, dimension=corpus.embedding_dimension)
    key_base = f"{document.pk}:{document.sha256}"
    staged = dict(StagedChunk.objects.filter(document=document).values_list("ordinal", "key"))
    vectors_by_text: dict[str, list[float]] = {}
    count = pages = 0
    with _opened_source(document) as (stream, name, host):
        drafts = chunk_blocks(blocks=stream.blocks, source_type=stream.source_type, name=name, host=host)
        with prefetched(batched(drafts, INGEST_BATCH), name=f"ingest-{document.pk}") as batches:
            for batch in batches:
                keys = [chunk_key(document_sha256=key_base, ordinal=d.ordinal, text=d.text) for d in batch]
                fresh = [(d, key) for d, key in zip(batch, keys, strict=True) if staged.get(d.ordinal) != key]
                vectors = _embed_once(
                    embedder=embedder, texts=[d.text for d, _ in fresh], cache=vectors_by_text, corpus=corpus
                )
                chunks_stage(document_id=document.pk, drafts=fresh, vectors=vectors, replace=staged.keys())
                count += len(batch)
                pages = max([pages, *(d.locator["page"] for d in batch if isinstance(d.locator.get("page"), int))])
    if not count:
        raise ParseError(f"{name} contains no text to index.")
    return chunks_publish(
        document_id=document.pk, chunk_count=count, page_count=pages, title=stream.title, source_type=stream.source_type
    )


def _embed_once(
    *, embedder: Embedder, texts: list[str], cache: dict[str, list[float]], corpus: Corpus
) -> list[list[float]]:
    """Vectors for ``texts``, each distinct text embedded once (within the batch and the cache)."""
    found = {text: cache[text] for text in texts if text in cache}
    missing = [text for text in dict.fromkeys(texts) if text not in found]
    if missing:
        vectors = embedder.embed(missing)
        if vectors and len(vectors[0]) != corpus.embedding_dimension:
            raise ProviderError(
                f"{corpus.embedding_model} returned {len(vectors[0])}-dimensional vectors; "
                f"the corpus uses {corpus.embedding_dimension}",
                transient=False,
            )
        found.update(zip(missing, vectors, strict=True))
        if len(cache) + len(missing) > VECTOR_CACHE_SIZE:
            cache.clear()
        cache.update(zip(missing, vectors, strict=True))
    return [found[text] for text in texts]


@contextmanager
def _opened_source(document: Document) -> Iterator[tuple[BlockStream, str, str | None]]:
    """The document's blocks as a stream, with its name and (for web pages) host; files
    it needs (a stored file, a temporary copy) stay open until the block ends."""
    if document.url:
        with _fetched(document) as (stream, name, host):
            yield stream, name, host
        return
    if not document.file:
        raise ParseError(f"{document.display_name}: the uploaded file was not stored; upload it again.")
    name = document.original_name or Path(document.file.name).name
    with document.file.open("rb") as handle, _local_path(handle=handle, filename=name) as path:
        guard_file(name=name, path=path, max_bytes=_max_bytes())
        yield stream_file(path=path, filename=name, max_bytes=_max_bytes()), name, None


@contextmanager
def _local_path(*, handle, filename: str) -> Iterator[Path]:
    """A stored file's path; storages without a local path are copied to a temp file."""
    try:
        path = Path(handle.name) if Path(handle.name).is_absolute() else None
    except (TypeError, ValueError):
        path = None
    if path is not None and path.exists():
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=Path(filename).suffix) as tmp:
        for block in iter(lambda: handle.read(_HASH_BLOCK), b""):
            tmp.write(block)
        tmp.flush()
        yield Path(tmp.name)


@contextmanager
def _fetched(document: Document) -> Iterator[tuple[BlockStream, str, str]]:
    page = fetch_url(url=document.url, allow_private=settings.FETCH_ALLOW_PRIVATE, max_bytes=_max_bytes())
    host = urlsplit(page.final_url).hostname or urlsplit(document.url).hostname or document.url
    content_type = page.content_type.split(";", 1)[0].strip().lower()
    extension = _CONTENT_TYPE_EXTENSIONS.get(content_type)
    if extension is None and content_type and "html" not in content_type and page.body.startswith(b"%PDF-"):
        extension = ".pdf"
    if extension is None:
        guard_text(name=document.url, head=page.body[:SNIFF_BYTES])
        yield BlockStream.of(parse_html(html=page.body, url=page.final_url)), host, host
        return
    # A PDF, text or table behind a URL: parse it like an uploaded file of that type.
    stem = Path(urlsplit(page.final_url).path).stem or host
    filename = f"{stem}{extension}"
    guard_file(name=filename, data=page.body, max_bytes=_max_bytes())
    with tempfile.NamedTemporaryFile(suffix=extension) as tmp:
        tmp.write(page.body)
        tmp.flush()
        yield stream_file(path=Path(tmp.name), filename=filename, max_bytes=_max_bytes()), filename, host


# --- chunk rows: every write of chunk rows goes through the two functions below ----------

_CHUNK_COLUMNS = "document_id, ordinal, key, text, locator, heading_path, source_tag, embedding"


def chunks_stage(
    *, document_id: int, drafts: list[tuple[ChunkDraft, str]], vectors: list[list[float]], replace: Iterable[int]
) -> None:
    """Commit one batch of a document's chunks (draft, key) with their vectors, not yet searchable.

    One transaction per batch, written with COPY. Ordinals in ``replace`` (staged by an
    earlier attempt with another key) are replaced.
    """
    if not drafts:
        return
    stale = sorted({draft.ordinal for draft, _ in drafts} & set(replace))
    with transaction.atomic(), connection.cursor() as cursor:
        if stale:
            cursor.execute(
                "DELETE FROM corpora_stagedchunk WHERE document_id = %s AND ordinal = ANY(%s)", [document_id, stale]
            )
        # Text COPY: vectors go in pgvector's text form, which `vector` and `halfvec` columns both read.
        with cursor.cursor.copy(f"COPY corpora_stagedchunk ({_CHUNK_COLUMNS}) FROM STDIN") as copy:
            for (draft, key), vector in zip(drafts, vectors, strict=True):
                copy.write_row(
                    (
                        document_id,
                        draft.ordinal,
                        key,
                        strip_nul(draft.text),
                        json.dumps(strip_nul(draft.locator)),
                        json.dumps(strip_nul(draft.heading_path)),
                        strip_nul(draft.source_tag)[:500],
                        "[" + ",".join(map(repr, vector)) + "]",
                    )
                )


def chunks_publish(*, document_id: int, chunk_count: int, page_count: int, title: str, source_type: str) -> Document:
    """Make a document's staged chunks its searchable chunks and mark it ready, atomically.

    Chunks are replaced, not added, so a re-delivered task never duplicates them; staged
    chunks past ``chunk_count`` (an earlier attempt that chunked differently) are dropped.
    """
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None:
            raise Document.DoesNotExist(f"document {document_id} was deleted during ingestion")
        if document.status != Document.Status.PROCESSING:
            return document
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM corpora_chunk WHERE document_id = %s", [document_id])
            cursor.execute(
                f"""
                INSERT INTO corpora_chunk (corpus_id, {_CHUNK_COLUMNS})
                SELECT %s, {_CHUNK_COLUMNS} FROM corpora_stagedchunk
                WHERE document_id = %s AND ordinal < %s ORDER BY ordinal
                """,
                [document.corpus_id, document_id, chunk_count],
            )
            stored = cursor.rowcount
            cursor.execute("DELETE FROM corpora_stagedchunk WHERE document_id = %s", [document_id])
        if stored != chunk_count:
            # Never mark a document ready with chunks missing (its ordinals are 0..count-1).
            raise RuntimeError(f"document {document_id}: {stored} of {chunk_count} chunks were staged")
        document.status = Document.Status.READY
        document.source_type = source_type
        document.title = strip_nul(title or document.title)[:500]
        document.chunk_count = chunk_count
        document.page_count = page_count
        document.error_message = ""
        document.processed_at = timezone.now()
        document.save(
            update_fields=[
                "status",
                "source_type",
                "title",
                "chunk_count",
                "page_count",
                "error_message",
                "processed_at",
                "updated_at",
            ]
        )
        Corpus.objects.filter(pk=document.corpus_id).update(version=F("version") + 1)
    return document
