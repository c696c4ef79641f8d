"""Corpus reads: team-scoped querysets and retrieval (vector, keyword, hybrid)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet

from accounts.selectors import scope_to_user
from corpora.models import Chunk, Corpus, Document

SEARCH_MODES = ("hybrid", "vector", "keyword")
MAX_K = 100
RRF_K0 = 60
# ef_search: the HNSW candidate list per query. 100 reaches recall@10 >= 0.95 at 100k
# chunks with m=16, ef_construction=64 (docs/benchmarks.md); larger searches get more.
HNSW_EF_SEARCH = 100
HNSW_EF_SEARCH_MAX = 1000

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
    vector_rank: int | None
    keyword_rank: int | None


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
) -> list[SearchHit]:
    """The ``k`` best chunks of ``corpus`` for ``query``, rank 1 first.

    ``vector``: HNSW cosine search, score = 1 - cosine distance. ``keyword``: PostgreSQL
    full text with any of the query's terms matching, score = ts_rank. ``hybrid``
    (default): reciprocal rank fusion (k0 = 60) of about 4k candidates from each, plus a
    third ranked list for superlative questions about a table ("which system has the best
    Dev F1"): the rows of the candidate sheets ordered by the column the question names.
    ``query_vector`` skips embedding the query (it must come from the corpus's model).
    """
    if mode not in SEARCH_MODES:
        raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(SEARCH_MODES)}")
    k = max(1, min(int(k), MAX_K))
    query = (query or "").strip()
    if not query and query_vector is None:
        return []
    if document_ids is not None and not document_ids:
        return []
    if mode in ("vector", "hybrid") and query_vector is None:
        from corpora.services import embedder_for

        embedder = embedder_for(name=corpus.embedding_model, dimension=corpus.embedding_dimension)
        query_vector = embedder.embed([query])[0]

    if mode == "vector":
        rows = _vector_rows(corpus=corpus, vector=query_vector, limit=k, document_ids=document_ids)
        return [_hit(row, rank=rank, score=1.0 - row[5], vector_rank=rank) for rank, row in enumerate(rows, 1)]
    if mode == "keyword":
        rows = _keyword_rows(corpus=corpus, query=query, limit=k, document_ids=document_ids)
        return [_hit(row, rank=rank, score=row[5], keyword_rank=rank) for rank, row in enumerate(rows, 1)]

    candidates = max(4 * k, 20)
    vector_rows = _vector_rows(corpus=corpus, vector=query_vector, limit=candidates, document_ids=document_ids)
    keyword_rows = (
        _keyword_rows(corpus=corpus, query=query, limit=candidates, document_ids=document_ids) if query else []
    )
    table_rows = _superlative_rows(corpus=corpus, query=query, candidates=[*vector_rows, *keyword_rows])
    fused: dict[int, dict] = {}
    for source, rows in (("vector_rank", vector_rows), ("keyword_rank", keyword_rows), ("table_rank", table_rows)):
        for rank, row in enumerate(rows, 1):
            entry = fused.setdefault(row[0], {"row": row, "score": 0.0, "vector_rank": None, "keyword_rank": None})
            if source != "table_rank":
                entry[source] = rank
            entry["score"] += 1.0 / (RRF_K0 + rank)
    ordered = sorted(
        fused.values(),
        key=lambda e: (-e["score"], e["vector_rank"] or candidates + 1, e["keyword_rank"] or candidates + 1),
    )
    return [
        _hit(
            entry["row"],
            rank=rank,
            score=entry["score"],
            vector_rank=entry["vector_rank"],
            keyword_rank=entry["keyword_rank"],
        )
        for rank, entry in enumerate(ordered[:k], 1)
    ]


_MAX_WORDS = ("best", "highest", "largest", "biggest", "most", "top", "maximum", "greatest", "strongest")
_MIN_WORDS = ("lowest", "smallest", "fewest", "least", "minimum", "cheapest", "fastest", "worst")
_NUMBER = re.compile(r"^[-+]?\d[\d,]*(?:\.\d+)?%?$")
TABLE_SCAN_LIMIT = 5000


def _row_cells(text: str) -> dict[str, str]:
    cells = {}
    for part in text.split("; "):
        name, sep, value = part.partition("=")
        if sep:
            cells[name.strip()] = value.strip()
    return cells


def _number(value: str) -> float | None:
    value = value.strip()
    if not _NUMBER.match(value):
        return None
    return float(value.rstrip("%").replace(",", ""))


def _superlative_rows(*, corpus: Corpus, query: str, candidates: list) -> list:
    """The row(s) of the candidate sheets with the extreme value in the column the query names.

    Only for questions with a superlative ("best", "lowest", …) that name a column of a
    candidate row; empty otherwise. Embeddings and full text cannot tell which of a
    table's rows holds the largest number; this ranked list can.
    """
    lowered = f" {query.lower()} "
    words = set(re.findall(r"[a-z]+", lowered))
    descending = bool(words.intersection(_MAX_WORDS))
    if not descending and not words.intersection(_MIN_WORDS):
        return []
    column = None
    sheets: list[tuple[int, str]] = []
    for row in candidates:
        locator = row[4] or {}
        if "row" not in locator:
            continue
        for name, value in _row_cells(row[2]).items():
            if _number(value) is None:
                continue
            pattern = r"(?<![a-z0-9])" + re.escape(name.lower()) + r"(?![a-z0-9])"
            if re.search(pattern, lowered) and (column is None or len(name) > len(column)):
                column = name
        sheet = (row[1], str(locator.get("sheet", "")))
        if sheet not in sheets:
            sheets.append(sheet)
    if column is None:
        return []
    scored = []
    for document_id, sheet in sheets[:3]:
        rows = (
            Chunk.objects.filter(corpus=corpus, document_id=document_id, locator__sheet=sheet, locator__has_key="row")
            .order_by("ordinal")
            .values_list("id", "document_id", "text", "source_tag", "locator")[:TABLE_SCAN_LIMIT]
        )
        for row in rows:
            value = _number(_row_cells(row[2]).get(column, ""))
            if value is not None:
                scored.append((value, (*row, 0.0)))
    if not scored:
        return []
    # Only the row(s) holding the extreme value: the runners-up are found by the other lists.
    best = max(value for value, _ in scored) if descending else min(value for value, _ in scored)
    return [row for value, row in scored if value == best]


def _hit(row, *, rank: int, score: float, vector_rank: int | None = None, keyword_rank: int | None = None) -> SearchHit:
    return SearchHit(
        chunk_id=row[0],
        document_id=row[1],
        text=row[2],
        source_tag=row[3],
        locator=row[4] if isinstance(row[4], dict) else {},
        score=float(score),
        rank=rank,
        vector_rank=vector_rank,
        keyword_rank=keyword_rank,
    )


def vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def _document_filter(document_ids: list[int] | None, params: list) -> str:
    if document_ids is None:
        return ""
    params.append([int(i) for i in document_ids])
    return " AND c.document_id = ANY(%s)"


def _vector_rows(*, corpus: Corpus, vector: list[float] | None, limit: int, document_ids: list[int] | None) -> list:
    dim = int(corpus.embedding_dimension)
    if vector is None:
        return []
    if len(vector) != dim:
        raise ValueError(f"query vector has {len(vector)} dimensions; corpus {corpus.pk} uses {dim}")
    literal = vector_literal(vector)
    params: list = [literal, corpus.pk]
    doc_sql = _document_filter(document_ids, params)
    params += [literal, limit]
    # The ORDER BY expression and the WHERE on vector_dims match the partial HNSW index
    # (corpora.vector_sql); relaxed_order may return neighbours slightly out of order,
    # so the materialized result is sorted again.
    sql = f"""
        WITH nearest AS MATERIALIZED (
            SELECT c.id, c.document_id, c.text, c.source_tag, c.locator,
                   c.embedding::vector({dim}) <=> %s::vector({dim}) AS distance
            FROM corpora_chunk c
            WHERE vector_dims(c.embedding) = {dim} AND c.corpus_id = %s{doc_sql}
            ORDER BY c.embedding::vector({dim}) <=> %s::vector({dim})
            LIMIT %s
        )
        SELECT id, document_id, text, source_tag, locator, distance FROM nearest ORDER BY distance + 0, id
    """
    ef_search = min(max(HNSW_EF_SEARCH, 2 * limit), HNSW_EF_SEARCH_MAX)
    with transaction.atomic(), connection.cursor() as cursor:
        # Both settings for this transaction only, in one round trip.
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)",
            [str(ef_search)],
        )
        cursor.execute(sql, params)
        return _decoded(cursor.fetchall())


def _keyword_rows(*, corpus: Corpus, query: str, limit: int, document_ids: list[int] | None) -> list:
    params: list = [query, corpus.pk]
    doc_sql = _document_filter(document_ids, params)
    params.append(limit)
    # OR over the query's terms: plainto_tsquery ANDs them, which a natural question
    # ("which system has the best Dev F1") almost never satisfies in one chunk.
    # Ranked on (id, vector) first and joined for the text of the winners only; ts_rank
    # (term frequency) rather than ts_rank_cd (cover density), which costs several times
    # more per match and an OR query over common words can match thousands of chunks.
    sql = f"""
        WITH q AS (
            SELECT to_tsquery('english', replace(plainto_tsquery('english', %s)::text, ' & ', ' | ')) AS query
        ), ranked AS (
            SELECT c.id, ts_rank(c.search_vector, q.query) AS score
            FROM corpora_chunk c, q
            WHERE c.corpus_id = %s AND c.search_vector @@ q.query{doc_sql}
            ORDER BY score DESC, c.id
            LIMIT %s
        )
        SELECT c.id, c.document_id, c.text, c.source_tag, c.locator, ranked.score
        FROM ranked JOIN corpora_chunk c ON c.id = ranked.id
        ORDER BY ranked.score DESC, c.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _decoded(cursor.fetchall())


def _decoded(rows: list) -> list:
    import json

    return [
        (row[0], row[1], row[2], row[3], json.loads(row[4]) if isinstance(row[4], str) else row[4], float(row[5]))
        for row in rows
    ]
