"""Corpus reads: team-scoped querysets and retrieval (vector, keyword, hybrid)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet

from accounts.selectors import scope_to_user
from core.tables import column_match, descending, row_parse, superlative, words
from corpora.models import Chunk, Corpus, Document

Key = TypeVar("Key")

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
    scores: dict[Key, float] = {}
    ranks: dict[Key, dict[str, int]] = {}
    for signal, keys in ranked.items():
        for rank, key in enumerate(keys, start=1):
            if signal in ranks.setdefault(key, {}):
                continue  # a list that names a key twice counts it once, at its best rank
            ranks[key][signal] = rank
            scores[key] = scores.get(key, 0.0) + 1.0 / (k0 + rank)
    order = {key: index for index, key in enumerate(ranks)}
    keys = sorted(scores, key=lambda key: (-scores[key], order[key]))
    return [Fused(key=key, score=scores[key], ranks=ranks[key]) for key in keys]


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
    (default): reciprocal rank fusion (``ranks_fuse``) of about 4k candidates from each,
    plus a third ranked list, ``table``, for superlative questions about a table ("which
    system has the best Dev F1"): the row(s) of the candidate tables holding the extreme
    value of the column the question names. Each hit reports its rank in every list
    (``ranks``); passages that repeat a better-ranked one nearly word for word are folded
    into it (``duplicates``). ``query_vector`` skips embedding the query (it must come
    from the corpus's model).
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

    candidates = max(4 * k, 20) if mode == "hybrid" else k + DUPLICATE_SLACK
    lists: dict[str, list] = {}
    if mode in ("vector", "hybrid"):
        lists[SIGNAL_VECTOR] = _vector_rows(
            corpus=corpus, vector=query_vector, limit=candidates, document_ids=document_ids
        )
    if mode in ("keyword", "hybrid") and query:
        lists[SIGNAL_KEYWORD] = _keyword_rows(corpus=corpus, query=query, limit=candidates, document_ids=document_ids)
    if mode == "hybrid":
        lists[SIGNAL_TABLE] = _superlative_rows(
            corpus=corpus, query=query, candidates=[row for rows in lists.values() for row in rows]
        )
    rows_by_id = {row[0]: row for rows in lists.values() for row in rows}
    if mode == "hybrid":
        fused = ranks_fuse({signal: [row[0] for row in rows] for signal, rows in lists.items()})
        scored = [(entry.key, entry.score, entry.ranks) for entry in fused]
    else:
        # One list: its own score (1 - cosine distance, or ts_rank) and rank.
        ((signal, rows),) = lists.items() if lists else ((mode, []),)
        scored = [
            (row[0], 1.0 - row[5] if signal == SIGNAL_VECTOR else row[5], {signal: rank})
            for rank, row in enumerate(rows, 1)
        ]
    hits: list[SearchHit] = []
    for chunk_id, score, ranks in scored:
        row = rows_by_id[chunk_id]
        kept = next((hit for hit in hits if _near_duplicate(hit.text, row[2])), None)
        if kept is not None:
            kept.duplicates.append(chunk_id)
            continue
        if len(hits) == k:
            break
        hits.append(_hit(row, rank=len(hits) + 1, score=score, ranks=ranks))
    return hits


# Extra candidates fetched in single-list modes so that folding duplicates still leaves k.
DUPLICATE_SLACK = 5
# Word-set overlap above which two passages count as the same one (a sentence shared by
# overlapping chunks does not; a paragraph repeated on a web page and in a paper does).
DUPLICATE_JACCARD = 0.85
_WORDS = re.compile(r"\w+")


def _near_duplicate(a: str, b: str) -> bool:
    words_a = set(_WORDS.findall(a.lower()))
    words_b = set(_WORDS.findall(b.lower()))
    if not words_a or not words_b:
        return a == b
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
        locator = row[4] or {}
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
        locator=row[4] if isinstance(row[4], dict) else {},
        score=float(score),
        rank=rank,
        ranks=dict(ranks),
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


def corpus_table_rows(*, corpus_id: int, limit: int = 500) -> list[str]:
    """The corpus's table-row chunks as tagged passages ("[Sheet: r.xlsx/Results] (Table 3:
    …): Method=LoRA r=8; …"), the first ``limit`` in document order."""
    rows = (
        Chunk.objects.filter(corpus_id=corpus_id, locator__has_key="row")
        .order_by("document_id", "ordinal")
        .values_list("source_tag", "text")[:limit]
    )
    return [f"{tag} {text}" for tag, text in rows]
