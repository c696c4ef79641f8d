"""Corpus reads: team-scoped querysets and retrieval (vector, keyword, hybrid)."""

from __future__ import annotations

import collections
import contextlib
import functools
import operator
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum

from accounts.selectors import scope_to_user
from core.tables import column_match, descending, row_parse, superlative, words
from corpora.models import Chunk, Corpus, Document
from corpora.vector_sql import dimension_filter, search_expression

Key = TypeVar("Key")

SEARCH_MODES = ("hybrid", "vector", "keyword")
MAX_K = 100
RRF_K0 = 60
# ef_search, the HNSW candidate list per query: at least HNSW_EF_SEARCH, HNSW_EF_PER_ROW
# per row asked for, and HNSW_EF_PER_100K per 100,000 chunks in the corpus (pgvector's
# ceiling is 1,000): a larger graph needs a longer list for the same recall. The values
# come from docs/benchmarks.md (with the index built as corpora.vector_sql says).
HNSW_EF_SEARCH = 200
HNSW_EF_PER_ROW = 5
HNSW_EF_PER_100K = 60
HNSW_EF_SEARCH_MAX = 1000
# A graph walk whose best similarity is below this is walked again at HNSW_EF_SEARCH_MAX
# (see _vector_rows_rechecked); VECTOR_RECHECKS counts walks and second walks per process.
VECTOR_RECHECK_BELOW = 0.35
VECTOR_RECHECKS: collections.Counter[str] = collections.Counter()
# Most tuples a filtered (iterative) HNSW scan visits before it gives up.
HNSW_MAX_SCAN_TUPLES = 50_000
# A search over this many chunks or fewer (a small corpus, or a filter down to a few
# documents) is exact instead of through HNSW: the graph would have to walk past every
# other corpus's chunks that share the index to find them.
EXACT_SCAN_MAX_ROWS = 10_000
# Keyword search: terms used, chunks ranked in each tier (see _keyword_query). The
# single-term tier's cap: 100 instead of 200 costs a fifth less backend time at 100k chunks
# and keeps 0.973 instead of 0.975 of the candidates as good as ts_rank's own top 40
# (docs/benchmarks.md).
KEYWORD_MAX_TERMS = 12
KEYWORD_STRONG_CAP = 2000
KEYWORD_WEAK_CAP = 100

ACTIVE_STATUSES = (Document.Status.QUEUED, Document.Status.PROCESSING)


@dataclass
class SearchHit:
    chunk_id: int
    document_id: int
    text: str
    source_tag: str
    locator: dict
    score: float
    rank: int
    # Rank of this chunk in each ranked list that was fused (absent: not in that list).
    # Every signal that moves a fused rank is here; there is no other.
    ranks: dict[str, int] = field(default_factory=dict)
    # Chunks folded into this hit because their text is nearly the same.
    duplicates: list[int] = field(default_factory=list)

    @property
    def vector_rank(self) -> int | None:
        return self.ranks.get(SIGNAL_VECTOR)

    @property
    def keyword_rank(self) -> int | None:
        return self.ranks.get(SIGNAL_KEYWORD)

    @property
    def explained(self) -> list[tuple[str, int | None, float | None]]:
        """(signal, rank, its share of the fused score) for every signal, for display."""
        return [
            (signal, self.ranks.get(signal), 1.0 / (RRF_K0 + self.ranks[signal]) if signal in self.ranks else None)
            for signal in SIGNALS
        ]


SIGNAL_VECTOR = "vector"
SIGNAL_KEYWORD = "keyword"
# Rows of a candidate table ordered by the column a superlative question names.
SIGNAL_TABLE = "table"
SIGNALS = (SIGNAL_VECTOR, SIGNAL_KEYWORD, SIGNAL_TABLE)


@dataclass(frozen=True)
class Fused(Generic[Key]):
    key: Key
    score: float
    ranks: dict[str, int]


def ranks_fuse(ranked: dict[str, list[Key]], *, k0: int = RRF_K0) -> list[Fused[Key]]:
    """Reciprocal rank fusion: score = sum over lists of 1 / (k0 + rank), best first.

    ``ranked`` maps a signal name to its keys, best first. Ties keep the order of first
    appearance (signals in the order given), so the result is deterministic. The one
    fusion in Assay: corpus search and the web search of sessions both use it.
    """
    return [Fused(key=key, score=score, ranks=ranks) for score, key, ranks in _fused(ranked, k0=k0)]


def _fused(ranked: dict[str, list[Key]], *, k0: int = RRF_K0) -> list[tuple[float, Key, dict[str, int]]]:
    """``ranks_fuse`` as (score, key, ranks) tuples, for a search that reads them once."""
    ranks: dict[Key, dict[str, int]] = {}
    for signal, keys in ranked.items():
        for rank, key in enumerate(keys, start=1):
            key_ranks = ranks.get(key)
            if key_ranks is None:
                ranks[key] = {signal: rank}
            elif signal not in key_ranks:  # a list that names a key twice counts it once, at its best rank
                key_ranks[signal] = rank
    scored = []
    for key, key_ranks in ranks.items():
        score = 0.0
        for rank in key_ranks.values():  # summed in the order of the signals given
            score += 1.0 / (k0 + rank)
        scored.append((score, key, key_ranks))
    # Stable, also in reverse: equal scores keep the order of first appearance.
    scored.sort(key=operator.itemgetter(0), reverse=True)
    return scored


# --- querysets -----------------------------------------------------------------------


def corpora_with_counts(queryset: QuerySet[Corpus]) -> QuerySet[Corpus]:
    """Annotate document counts per status (one query for a whole list)."""
    return (
        queryset.select_related("team")
        .annotate(
            document_total=Count("documents", distinct=True),
            document_ready=Count("documents", filter=Q(documents__status=Document.Status.READY), distinct=True),
            document_failed=Count("documents", filter=Q(documents__status=Document.Status.FAILED), distinct=True),
        )
        .order_by("name", "id")
    )


def corpora_for_user(*, user) -> QuerySet[Corpus]:
    """Corpora of every team the user belongs to, with document counts per status."""
    return corpora_with_counts(scope_to_user(Corpus.objects.all(), user=user))


def corpora_for_team(*, team, user) -> QuerySet[Corpus]:
    return corpora_for_user(user=user).filter(team=team)


def corpus_get_for_user(*, user, corpus_id: int) -> Corpus:
    """The corpus if it belongs to one of the user's teams, else Corpus.DoesNotExist."""
    return scope_to_user(Corpus.objects.select_related("team"), user=user).get(pk=corpus_id)


def documents_for_corpus(*, corpus: Corpus) -> QuerySet[Document]:
    return Document.objects.filter(corpus=corpus).select_related("uploaded_by").order_by("-created_at", "-id")


def documents_for_user(*, user) -> QuerySet[Document]:
    return scope_to_user(Document.objects.select_related("corpus"), user=user, team_path="corpus__team")


def document_get_for_user(*, user, document_id: int) -> Document:
    return documents_for_user(user=user).get(pk=document_id)


def chunks_for_document(*, document: Document) -> QuerySet[Chunk]:
    return Chunk.objects.filter(document=document).order_by("ordinal").defer("embedding", "search_vector")


def corpus_progress(*, corpus: Corpus) -> dict:
    """Document statuses for the live corpus page."""
    from datetime import timedelta

    from django.utils import timezone

    documents = list(
        documents_for_corpus(corpus=corpus).values(
            "id", "status", "error_message", "chunk_count", "page_count", "title", "source_type", "updated_at"
        )
    )
    counts = {status: 0 for status in Document.Status.values}
    waited_since = timezone.now() - timedelta(seconds=QUEUE_STALL_SECONDS)
    stalled = False
    for document in documents:
        counts[document["status"]] += 1
        stalled |= document["status"] == Document.Status.QUEUED and document["updated_at"] < waited_since
        del document["updated_at"]
    return {
        "corpus_id": corpus.pk,
        "version": corpus.version,
        "counts": counts,
        "active": counts[Document.Status.QUEUED] + counts[Document.Status.PROCESSING] > 0,
        # Queued this long with nothing picking it up: most likely no worker is running.
        "stalled": stalled,
        "documents": documents,
    }


QUEUE_STALL_SECONDS = 30


# --- retrieval -----------------------------------------------------------------------


def chunks_search(
    *,
    corpus: Corpus,
    query: str,
    k: int = 5,
    mode: str = "hybrid",
    document_ids: list[int] | None = None,
    query_vector: list[float] | None = None,
    source_types: list[str] | None = None,
) -> list[SearchHit]:
    """The ``k`` best chunks of ``corpus`` for ``query``, rank 1 first.

    ``vector``: HNSW cosine search, score = 1 - cosine distance. ``keyword``: PostgreSQL
    full text with any of the query's terms matching, score = ts_rank. ``hybrid``
    (default): reciprocal rank fusion (``ranks_fuse``) of about 4k candidates from each,
    plus a third ranked list, ``table``, for superlative questions about a table ("which
    system has the best Dev F1"): the row(s) of the candidate tables holding the extreme
    value of the column the question names. Each hit reports its rank in every list
    (``ranks``); passages that repeat a better-ranked one nearly word for word are folded
    into it (``duplicates``). ``query_vector`` skips embedding the query (it must come
    from the corpus's model); otherwise the query's embedding is cached per process.
    ``document_ids`` and ``source_types`` (``Document.SourceType`` values) restrict the
    search to those documents; a filter down to few chunks is searched exactly, a larger
    one through HNSW with an iterative scan, so a filter does not cost recall.
    """
    if mode not in SEARCH_MODES:
        raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(SEARCH_MODES)}")
    k = max(1, min(int(k), MAX_K))
    query = (query or "").strip()
    if not query and query_vector is None:
        return []
    document_ids, filtered = _filter_documents(corpus=corpus, document_ids=document_ids, source_types=source_types)
    if document_ids is not None and not document_ids:
        return []
    candidates = max(4 * k, 20) if mode == "hybrid" else k + DUPLICATE_SLACK
    lists: dict[str, list] = {}
    with contextlib.ExitStack() as stack:
        keyword = None
        if mode in ("keyword", "hybrid") and query:
            sql, params = _keyword_query(corpus=corpus, query=query, limit=candidates, document_ids=document_ids)
            if mode == "hybrid" and not connection.in_atomic_block:
                # The keyword half needs no embedding: it is sent first, on this thread's
                # second connection, and runs there while this one embeds the query and
                # walks the graph. Not inside a transaction: another connection would not
                # see its uncommitted rows.
                keyword = stack.enter_context(_alongside(sql, params, filtered=document_ids is not None))
            else:
                keyword = functools.partial(_rows, sql, params)
        if mode in ("vector", "hybrid") and query_vector is None:
            query_vector = list(
                query_embedding(model=corpus.embedding_model, dimension=corpus.embedding_dimension, query=query)
            )
        if mode in ("vector", "hybrid"):
            lists[SIGNAL_VECTOR] = _vector_rows_rechecked(
                corpus=corpus,
                vector=query_vector,
                limit=candidates,
                document_ids=document_ids,
                chunks=corpus_chunk_count(corpus_id=corpus.pk, version=corpus.version),
                filtered=filtered,
            )
        if keyword is not None:
            lists[SIGNAL_KEYWORD] = keyword()
    if mode == "hybrid":
        lists[SIGNAL_TABLE] = _superlative_rows(
            corpus=corpus, query=query, candidates=[row for rows in lists.values() for row in rows]
        )
    rows_by_id = {row[0]: row for rows in lists.values() for row in rows}
    if mode == "hybrid":
        scored = _fused({signal: [row[0] for row in rows] for signal, rows in lists.items()})
    else:
        # One list: its own score (1 - cosine distance, or ts_rank) and rank.
        ((signal, rows),) = lists.items() if lists else ((mode, []),)
        scored = [
            (1.0 - row[5] if signal == SIGNAL_VECTOR else row[5], row[0], {signal: rank})
            for rank, row in enumerate(rows, 1)
        ]
    hits: list[SearchHit] = []
    kept_words: list[set[str]] = []
    for score, chunk_id, ranks in scored:
        row = rows_by_id[chunk_id]
        row_words = _word_set(row[2])
        kept = next(
            (hit for hit, hit_words in zip(hits, kept_words, strict=True) if _near_duplicate(hit_words, row_words)),
            None,
        )
        if kept is not None:
            kept.duplicates.append(chunk_id)
            continue
        if len(hits) == k:
            break
        hits.append(_hit(row, rank=len(hits) + 1, score=score, ranks=ranks))
        kept_words.append(row_words)
    return hits


# Each thread's second database connection, for the keyword half of its hybrid searches.
_search_connections = threading.local()
# A search connection idle this long (seconds) is health-checked before use (with
# CONN_HEALTH_CHECKS on); one used more recently is not.
SEARCH_HEALTH_CHECK_IDLE = 1.0
# Connections inherited through a fork: never used again, and kept from being closed, as
# closing one would end the parent process's session on the same socket.
_inherited_connections: list = []


def _search_connection():
    """This thread's second connection to the default database (opened on first use).

    Checked before each search as Django checks a request's connection (age, errors, a
    health check when CONN_HEALTH_CHECKS is on); a copy of the thread's own connection's
    settings, so tests and benchmarks reach the same database.
    """
    held = getattr(_search_connections, "held", None)
    if held is not None and held[0] != os.getpid():
        _inherited_connections.append(held[1])
        held = None
    if held is None:
        held = (os.getpid(), connection.copy())
        _search_connections.held = held
    search = held[1]
    search.close_if_unusable_or_obsolete()
    now = time.monotonic()
    if search.connection is not None and now - getattr(search, "assay_used_at", -1e9) < SEARCH_HEALTH_CHECK_IDLE:
        # Used a moment ago (searches of one request or task in a row): no health check
        # round trip before each, as Django checks a connection once per request.
        search.health_check_done = True
    search.assay_used_at = now
    return search


@contextlib.contextmanager
def _alongside(sql: str, params: list, *, filtered: bool = False):
    """Send one query on this thread's second connection and go on with other work; the
    function yielded waits for its rows. PostgreSQL runs the query in that connection's
    backend meanwhile; no thread is involved.

    The query goes out in one message with its Sync (libpq's asynchronous send, outside
    psycopg's cursor, which would wait for the rows), so by the time they are asked for
    they and the end of the exchange are already on the socket: no further round trip,
    and no second wake-up of the backend on a busy machine. (psycopg's pipeline mode,
    used before, needed a Flush and a Sync round trip after the rows: 0.3 ms at p50,
    several ms at p95 under load; docs/benchmarks.md.)

    The statement is prepared on that connection (once per connection and SQL text):
    PostgreSQL plans the keyword CTE once instead of on every search.
    SEARCH_PREPARED_STATEMENTS off (for a transaction-pooling PgBouncer before 1.21)
    sends it unprepared. So is a search ``filtered`` to some documents: planned for
    unknown documents, PostgreSQL would walk the document index and test every chunk of
    them against the query instead of asking the full-text index (hundreds of times
    slower at 100,000 chunks).
    """
    from django.conf import settings
    from psycopg.adapt import Transformer

    search = _search_connection()
    search.close_if_health_check_failed()  # what Django does before any query's cursor
    search.ensure_connection()
    pgconn = search.connection.pgconn
    text = _numbered_placeholders(sql)
    values = [_text_param(value) for value in params]
    pending = True
    with search.wrap_database_errors:
        if settings.SEARCH_PREPARED_STATEMENTS and not filtered:
            # Statements prepared on this session (a reconnected wrapper starts afresh).
            session, prepared = getattr(search, "assay_prepared", (None, {}))
            if session is not search.connection:
                prepared = {}
                search.assay_prepared = (search.connection, prepared)
            name = prepared.get(text)
            if name is None:
                name = f"assay_search_{len(prepared)}".encode()
                _raise_for(pgconn.prepare(name, text))
                prepared[text] = name
            pgconn.send_query_prepared(name, values)
        else:
            pgconn.send_query_params(text, values)
        _flush(pgconn)

        def rows() -> list:
            nonlocal pending
            results = _results(pgconn)
            pending = False
            for result in results:
                _raise_for(result)
            (result,) = results
            # Loaded as the connection's cursors load rows (psycopg's C loaders, Django's
            # adapters: the locator stays JSON text), not value by value in Python.
            loader = Transformer(search.connection)
            loader.set_pgresult(result)
            return loader.load_rows(0, result.ntuples, tuple)

        try:
            yield rows
        finally:
            if pending:  # the caller failed before asking: read the rows, so the connection is free again
                _results(pgconn)


@functools.lru_cache(maxsize=64)
def _numbered_placeholders(sql: str) -> bytes:
    """``%s`` placeholders as PostgreSQL's ``$1``, ``$2``, … (the SQL has no other ``%``)."""
    parts = sql.split("%s")
    return "".join(part + (f"${i}" if i < len(parts) else "") for i, part in enumerate(parts, 1)).encode()


def _text_param(value) -> bytes:
    """A parameter in PostgreSQL's text format: the query's text, a number, or a list of ids."""
    if isinstance(value, list):
        return ("{" + ",".join(str(int(item)) for item in value) + "}").encode()
    return str(value).encode()


def _flush(pgconn) -> None:
    import select

    while pgconn.flush():  # non-blocking socket: wait until the rest can be written
        select.select([], [pgconn.socket], [])


def _results(pgconn) -> list:
    """Every result of the query sent, waiting for the socket as needed."""
    import select

    results = []
    while True:
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            return results
        results.append(result)


def _raise_for(result) -> None:
    import psycopg
    from psycopg import pq

    if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        raise psycopg.errors.lookup((result.error_field(pq.DiagnosticField.SQLSTATE) or b"XX000").decode())(
            (result.error_message or b"").decode(errors="replace").strip()
        )


QUERY_EMBEDDING_CACHE_SIZE = 1024


@functools.lru_cache(maxsize=QUERY_EMBEDDING_CACHE_SIZE)
def _cached_embedding(model: str, dimension: int, endpoint: str, query: str) -> tuple[float, ...]:
    from corpora.services import embedder_for

    return tuple(embedder_for(name=model, dimension=dimension).embed([query])[0])


def query_embedding(*, model: str, dimension: int, query: str) -> tuple[float, ...]:
    """The query's embedding with ``model``, cached per process (questions repeat across
    sessions, re-judges and the search playground). The endpoint is part of the key."""
    from django.conf import settings

    return _cached_embedding(model, dimension, settings.LLM_BASE_URL if model.startswith("openai:") else "", query)


# Extra candidates fetched in single-list modes so that folding duplicates still leaves k.
DUPLICATE_SLACK = 5
# Word-set overlap above which two passages count as the same one (a sentence shared by
# overlapping chunks does not; a paragraph repeated on a web page and in a paper does).
DUPLICATE_JACCARD = 0.85
_WORDS = re.compile(r"\w+")


def _word_set(text: str) -> set[str]:
    """The passage's words; a passage without any counts as its whole text."""
    return set(_WORDS.findall(text.lower())) or {text}


def _near_duplicate(words_a: set[str], words_b: set[str]) -> bool:
    return len(words_a & words_b) / len(words_a | words_b) >= DUPLICATE_JACCARD


TABLE_SCAN_LIMIT = 5000
TABLES_SCANNED = 3


def _superlative_rows(*, corpus: Corpus, query: str, candidates: list) -> list:
    """For a superlative question, the row(s) holding the extreme value of the column it names.

    Only for questions with a superlative ("best", "lowest", "fastest", …); empty
    otherwise. For each of the first few tables that candidate rows come from, the
    column the question names (``core.tables.column_match``) is looked up and the row(s)
    with its extreme value are listed, table by table. Embeddings and full text cannot
    tell which of a table's rows holds the largest number; this ranked list can.
    """
    direction = superlative(query)
    if direction is None:
        return []
    question_words = words(query)
    tables: list[tuple[int, dict]] = []
    for row in candidates:
        locator = _locator(row[4])
        if "row" in locator and "table" in locator and row_parse(row[2]) is not None:
            # The row's table: its locator without the row (sheet and table, or page and table).
            table = (row[1], {key: value for key, value in locator.items() if key != "row"})
            if table not in tables:
                tables.append(table)
    found = []
    for document_id, table_locator in tables[:TABLES_SCANNED]:
        rows = [
            (row, parsed)
            for row in Chunk.objects.filter(
                corpus=corpus, document_id=document_id, locator__contains=table_locator, locator__has_key="row"
            )
            .order_by("ordinal")
            .values_list("id", "document_id", "text", "source_tag", "locator")[:TABLE_SCAN_LIMIT]
            if (parsed := row_parse(row[2])) is not None
        ]
        columns = list(dict.fromkeys(name for _, parsed in rows for name in list(parsed.cells)[1:]))
        column, _ = column_match(question_words, columns)
        if column is None:
            continue
        scored = [(value, row) for row, parsed in rows if (value := parsed.number(column)) is not None]
        if not scored:
            continue
        pick = max if descending(direction, column) else min
        best = pick(value for value, _ in scored)
        # Only the row(s) holding the extreme value: the runners-up are found by the other lists.
        found += [(*row, 0.0) for value, row in scored if value == best]
    return found


def _hit(row, *, rank: int, score: float, ranks: dict[str, int]) -> SearchHit:
    return SearchHit(
        chunk_id=row[0],
        document_id=row[1],
        text=row[2],
        source_tag=row[3],
        locator=_locator(row[4]),
        score=float(score),
        rank=rank,
        ranks=dict(ranks),
    )


def vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(map(repr, map(float, vector))) + "]"


def _document_filter(document_ids: list[int] | None, params: list) -> str:
    if document_ids is None:
        return ""
    params.append([int(i) for i in document_ids])
    return " AND c.document_id = ANY(%s)"


def _filter_documents(
    *, corpus: Corpus, document_ids: list[int] | None, source_types: list[str] | None
) -> tuple[list[int] | None, int | None]:
    """The documents a search may return and how many chunks they hold (None, None: all).

    The count (``Document.chunk_count``) decides between an exact scan and the HNSW
    index, and how long a candidate list the graph walk needs.
    """
    if document_ids is None and source_types is None:
        return None, None
    documents = Document.objects.filter(corpus=corpus)
    if document_ids is not None:
        documents = documents.filter(pk__in=[int(i) for i in document_ids])
    if source_types is not None:
        documents = documents.filter(source_type__in=list(source_types))
    rows = list(documents.values_list("pk", "chunk_count"))
    return [pk for pk, _ in rows], sum(count for _, count in rows)


@functools.lru_cache(maxsize=1024)
def corpus_chunk_count(*, corpus_id: int, version: int) -> int:
    """Chunks of the corpus's documents; cached per corpus version (bumped by every ingest)."""
    return Document.objects.filter(corpus_id=corpus_id).aggregate(total=Sum("chunk_count"))["total"] or 0


def hnsw_ef_search(*, limit: int, chunks: int = 0, filtered: int | None = None) -> int:
    """The HNSW candidate list for ``limit`` rows out of a corpus of ``chunks``.

    A filter that passes ``filtered`` of them multiplies it by chunks / filtered, so the
    first candidates the walk keeps hold as many rows that pass as an unfiltered search's.
    """
    by_size = -(-HNSW_EF_PER_100K * chunks // 100_000)
    ef_search = max(HNSW_EF_SEARCH, HNSW_EF_PER_ROW * limit, by_size)
    if filtered is not None and 0 < filtered < chunks:
        ef_search = -(-ef_search * chunks // filtered)
    return min(ef_search, HNSW_EF_SEARCH_MAX)


def _exact_scan(*, chunks: int, filtered: int | None) -> bool:
    """Whether a vector search over ``chunks`` (``filtered`` of them passing) scans exactly."""
    return (chunks if filtered is None else filtered) <= EXACT_SCAN_MAX_ROWS


def _vector_rows(
    *,
    corpus: Corpus,
    vector: list[float] | None,
    limit: int,
    document_ids: list[int] | None,
    chunks: int,
    filtered: int | None,
    ef_search: int | None = None,
) -> list:
    dim = int(corpus.embedding_dimension)
    if vector is None:
        return []
    if len(vector) != dim:
        raise ValueError(f"query vector has {len(vector)} dimensions; corpus {corpus.pk} uses {dim}")
    literal = vector_literal(vector)
    params: list = [literal, corpus.pk]
    doc_sql = _document_filter(document_ids, params)
    params += [literal, limit]
    expression = search_expression(dim, column="c.embedding")
    exact = _exact_scan(chunks=chunks, filtered=filtered)
    # The ORDER BY expression and the dimension predicate match the partial HNSW index
    # (corpora.vector_sql). A search over few chunks is an exact scan instead (through the
    # (corpus, document) index): "+ 0" is not the indexed expression, so HNSW is not used.
    order_by = f"({expression} <=> %s::halfvec({dim})) + 0" if exact else f"{expression} <=> %s::halfvec({dim})"
    # relaxed_order may return neighbours slightly out of order, so the materialized
    # result is sorted again.
    sql = f"""
        WITH nearest AS MATERIALIZED (
            SELECT c.id, c.document_id, c.text, c.source_tag, c.locator,
                   {expression} <=> %s::halfvec({dim}) AS distance
            FROM corpora_chunk c
            WHERE {dimension_filter(dim, column="c.embedding")} AND c.corpus_id = %s{doc_sql}
            ORDER BY {order_by}
            LIMIT %s
        )
        SELECT id, document_id, text, source_tag, locator, distance FROM nearest ORDER BY distance + 0, id
    """
    # The settings and the search in one round trip: a multi-statement query runs as one
    # implicit transaction, so set_config(..., true) ends with it (or with the caller's
    # transaction). With a filter, the iterative scan keeps walking the graph until
    # enough rows pass it (up to max_scan_tuples).
    settings_sql = (
        "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', 'relaxed_order', true),"
        " set_config('hnsw.max_scan_tuples', %s, true);"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            settings_sql + sql,
            [
                str(ef_search or hnsw_ef_search(limit=limit, chunks=chunks, filtered=filtered)),
                str(HNSW_MAX_SCAN_TUPLES),
                *params,
            ],
        )
        cursor.nextset()
        return _decoded(cursor.fetchall())


def _vector_rows_rechecked(
    *,
    corpus: Corpus,
    vector: list[float] | None,
    limit: int,
    document_ids: list[int] | None,
    chunks: int,
    filtered: int | None,
) -> list:
    """``_vector_rows``, walked again with the longest candidate list when the graph walk
    seems to have missed the query's neighbourhood.

    A walk through HNSW can end in the wrong region of the graph: over clustered
    embeddings it sometimes never enters the query's cluster and returns unrelated chunks
    (recall 0 for that query). Then its best similarity is far below a real match's
    (synthetic 1M chunks: 0.21 instead of 0.55–0.65), so a best similarity under
    ``VECTOR_RECHECK_BELOW`` sends the search again at ef_search ``HNSW_EF_SEARCH_MAX``:
    a longer candidate list reaches the cluster (docs/benchmarks.md). The rule cannot
    tell a missed cluster from a question the corpus does not answer (local MiniLM gives
    those best similarities of 0.1–0.3), so those pay the second walk too (their search
    took about twice a first walk's time at a million chunks). Exact scans and walks already at the longest list
    are not repeated. ``VECTOR_RECHECKS`` counts walks and second walks.
    """
    walk = functools.partial(
        _vector_rows,
        corpus=corpus, vector=vector, limit=limit, document_ids=document_ids, chunks=chunks, filtered=filtered,
    )  # fmt: skip
    rows = walk()
    if vector is None or _exact_scan(chunks=chunks, filtered=filtered):
        return rows
    VECTOR_RECHECKS["walks"] += 1
    if hnsw_ef_search(limit=limit, chunks=chunks, filtered=filtered) >= HNSW_EF_SEARCH_MAX:
        return rows
    if rows and 1.0 - rows[0][5] >= VECTOR_RECHECK_BELOW:
        return rows
    VECTOR_RECHECKS["rechecks"] += 1
    again = walk(ef_search=HNSW_EF_SEARCH_MAX)
    merged = {row[0]: row for row in rows} | {row[0]: row for row in again}
    return sorted(merged.values(), key=lambda row: (row[5], row[0]))[:limit]


def _keyword_rows(*, corpus: Corpus, query: str, limit: int, document_ids: list[int] | None) -> list:
    """The keyword half of a search, on this thread's connection (see _keyword_query)."""
    return _rows(*_keyword_query(corpus=corpus, query=query, limit=limit, document_ids=document_ids))


def _rows(sql: str, params: list) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _decoded(cursor.fetchall())


def _keyword_query(*, corpus: Corpus, query: str, limit: int, document_ids: list[int] | None) -> tuple[str, list]:
    """Full-text candidates in two tiers, ranked by ts_rank over any of the query's terms.

    A natural question rarely has all its terms in one chunk (plainto_tsquery ANDs them),
    and an OR over them can match thousands of chunks, each of which ts_rank must read
    and score. So the GIN index first finds the chunks holding at least two of the terms
    and only those are ranked; chunks with a single term are added, at most
    KEYWORD_WEAK_CAP of them in index order, only when the first tier has fewer than
    ``limit``. Every first-tier chunk ranks above every second-tier one, as under ts_rank
    over all matches (it adds up the matched terms' shares, and one term's share is at
    most 1.65 times another's).

    The index is asked ``@@ ANY`` of an array of two-term queries ("a & b" for every
    pair): the bitmap index scan runs them one by one into one bitmap, each a cheap AND
    led by the rarer term's postings. A single tsquery OR-ing every pair finds the same
    chunks but evaluates its whole tree for every chunk holding any of the rarer terms
    (docs/benchmarks.md). The second tier is ``@@ ANY`` of the single terms and leaves
    out the first tier by id; the candidates' columns ride along through the ranking
    instead of being fetched again by id.
    """
    params: list = [query, KEYWORD_MAX_TERMS, corpus.pk]
    doc_sql = _document_filter(document_ids, params)
    params.append(KEYWORD_STRONG_CAP)
    params.append(corpus.pk)
    _document_filter(document_ids, params)
    params += [limit, KEYWORD_WEAK_CAP, limit]
    # The query's lexemes (english configuration, stop words gone), quoted for to_tsquery
    # ('' for a quote, \\ for a backslash); 'simple' then takes them as they are.
    sql = f"""
        WITH terms AS (
            SELECT array(
                SELECT '''' || replace(replace(lexeme, '\\', '\\\\'), '''', '''''') || ''''
                FROM unnest(tsvector_to_array(to_tsvector('english', %s))) AS lexeme LIMIT %s
            ) AS terms
        ), q AS (
            SELECT coalesce(
                       (SELECT array_agg(to_tsquery('simple', a || ' & ' || b))
                        FROM unnest(terms) WITH ORDINALITY AS x (a, i), unnest(terms) WITH ORDINALITY AS y (b, j)
                        WHERE i < j),
                       s.singles) AS pairs,
                   s.singles,
                   to_tsquery('simple', array_to_string(terms, ' | ')) AS query
            FROM terms, LATERAL (SELECT array(SELECT to_tsquery('simple', t) FROM unnest(terms) AS t) AS singles) s
            WHERE cardinality(terms) > 0
        ), strong AS MATERIALIZED (
            SELECT c.id, c.document_id, c.text, c.source_tag, c.locator, c.search_vector FROM corpora_chunk c, q
            WHERE c.corpus_id = %s AND c.search_vector @@ ANY(q.pairs){doc_sql}
            LIMIT %s
        ), weak AS MATERIALIZED (
            SELECT c.id, c.document_id, c.text, c.source_tag, c.locator, c.search_vector FROM corpora_chunk c, q
            WHERE c.corpus_id = %s AND c.search_vector @@ ANY(q.singles){doc_sql}
              AND (SELECT count(*) FROM strong) < %s AND c.id NOT IN (SELECT id FROM strong)
            LIMIT %s
        )
        SELECT t.id, t.document_id, t.text, t.source_tag, t.locator, ts_rank(t.search_vector, q.query) AS score
        FROM (SELECT *, 0 AS tier FROM strong UNION ALL SELECT *, 1 FROM weak) t, q
        ORDER BY t.tier, score DESC, t.id
        LIMIT %s
    """
    return sql, params


def _decoded(rows: list) -> list:
    # The locator stays as it came (JSON text with Django's adapters); _locator decodes
    # the few that are used, not every candidate's.
    return [(row[0], row[1], row[2], row[3], row[4], float(row[5])) for row in rows]


def _locator(value) -> dict:
    import json

    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def corpus_table_rows(*, corpus_id: int, limit: int = 500) -> list[str]:
    """The corpus's table-row chunks as tagged passages ("[Sheet: r.xlsx/Results] (Table 3:
    …): Method=LoRA r=8; …"), the first ``limit`` in document order."""
    rows = (
        Chunk.objects.filter(corpus_id=corpus_id, locator__has_key="row")
        .order_by("document_id", "ordinal")
        .values_list("source_tag", "text")[:limit]
    )
    return [f"{tag} {text}" for tag, text in rows]
