"""Retrieval at scale: latency of vector, keyword and hybrid search, recall@10 of HNSW.

    python benchmarks/retrieval_bench.py [--chunks 100000] [--queries 150] [--ef-sweep 100,200,400]
        [--more-queries N] [--keep] [--database NAME] [--reuse]

Works in a separate database (``assay_bench`` on the same PostgreSQL server), migrated
from scratch and dropped at the end unless --keep; --reuse searches the database a --keep
run left (the data are drawn from fixed seeds, so the corpus and queries are the same)
instead of loading and indexing it again. Vectors are synthetic 384-dim unit
vectors drawn around 200 cluster centres (real embeddings cluster; they are not
uniform), stored as the app stores them (``halfvec``); chunk texts are synthetic
sentences over a 5,000-word Zipf vocabulary and hybrid queries are six content words
(vocabulary ranks 50-5,000). Chunks belong to 100 documents at random (50 PDF, 30
workbooks, 20 web pages; a document's chunks stored together, as ingestion writes them),
so a filter to one document or one source type is spread over every cluster, the hard
case for a graph index. The HNSW index is built after loading, with the settings of
the migrations (corpora.vector_sql), maintenance_work_mem raised and one parallel
worker. Latencies go through ``corpora.selectors.chunks_search``; vector and hybrid
are measured the same way twice: with the query vector given (the search alone: the
target's figures) and with the query embedded by the local model inside the call (a
question end to end, where hybrid's keyword half runs while the query is embedded).
Recall@10 compares each answer with the exact ten nearest neighbours computed in float32 with numpy, so it
counts what half precision loses as well as what the graph walk misses.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "assay_bench"  # --database changes it
DIM = 384
K = 10
DOCUMENT_TYPES = ("pdf",) * 50 + ("xlsx",) * 30 + ("html",) * 20


def _use_database(name: str) -> None:
    global BENCH_DB
    BENCH_DB = name


def _admin_connect():
    import psycopg

    from config import embedded

    settings = embedded.database_settings(name="postgres")
    return psycopg.connect(dbname="postgres", host=settings["HOST"], user=settings["USER"], autocommit=True)


def _recreate_database() -> None:
    with _admin_connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def _drop_database() -> None:
    with _admin_connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def _setup_django() -> None:
    os.environ["ASSAY_DB_NAME"] = BENCH_DB
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()


def _vectors(rng: np.random.Generator, n: int, centres: np.ndarray, spread: float) -> np.ndarray:
    picks = rng.integers(0, len(centres), size=n)
    data = centres[picks] + rng.normal(0, spread, size=(n, DIM)).astype(np.float32)
    return (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)


def _texts(rng: np.random.Generator, n: int, vocabulary: list[str]) -> list[str]:
    weights = 1.0 / np.arange(1, len(vocabulary) + 1)
    weights /= weights.sum()
    lengths = rng.integers(40, 90, size=n)
    words = rng.choice(len(vocabulary), size=int(lengths.sum()), p=weights)
    texts, start = [], 0
    for length in lengths:
        texts.append(" ".join(vocabulary[i] for i in words[start : start + length]) + ".")
        start += length
    return texts


def _load(*, vectors: np.ndarray, texts: list[str], owners: np.ndarray):
    """COPY the chunks in, then build the HNSW index; returns corpus, documents, ids by ordinal, times."""
    from django.db import connection

    from accounts.services import team_create
    from corpora.models import Corpus, Document
    from corpora.vector_sql import create_index_sql, drop_index_sql

    n = len(vectors)
    team = team_create(name="Benchmark")
    corpus = Corpus.objects.create(team=team, name="bench", embedding_dimension=DIM)
    counts = np.bincount(owners, minlength=len(DOCUMENT_TYPES))
    documents = [
        Document.objects.create(
            corpus=corpus, title=f"synthetic {i}", sha256=f"{i:064d}", status="ready", source_type=kind,
            chunk_count=int(counts[i]),
        )
        for i, kind in enumerate(DOCUMENT_TYPES)
    ]  # fmt: skip
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(drop_index_sql(DIM))
        raw = cursor.cursor
        columns = "corpus_id, document_id, key, ordinal, text, locator, heading_path, source_tag, embedding"
        with raw.copy(f"COPY corpora_chunk ({columns}) FROM STDIN") as copy:
            for i in range(n):
                vector = "[" + ",".join(f"{x:.5f}" for x in vectors[i]) + "]"
                document = documents[owners[i]]
                copy.write_row(
                    (corpus.pk, document.pk, f"bench-{i}", i, texts[i], "{}", "[]", "[Doc: synthetic]", vector)
                )
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '3GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 1")
        cursor.execute(create_index_sql(DIM))
    build_s = time.perf_counter() - started
    # What autovacuum does soon after a large ingest: merges the GIN index's pending list
    # (every keyword search scans it until then) and refreshes the planner's statistics.
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) corpora_chunk")
    print(f"VACUUM (ANALYZE) after loading: {time.perf_counter() - started:.1f} s")
    ids = np.zeros(n, dtype=np.int64)
    with connection.cursor() as cursor:
        cursor.execute("SELECT ordinal, id FROM corpora_chunk WHERE corpus_id = %s", [corpus.pk])
        for ordinal, pk in cursor.fetchall():
            ids[ordinal] = pk
    return corpus, documents, ids, load_s, build_s


def _loaded(*, chunks: int):
    """Corpus, documents and ids by ordinal of a database an earlier --keep run loaded."""
    from django.db import connection

    from corpora.models import Corpus, Document

    corpus = Corpus.objects.get(name="bench")
    documents = list(Document.objects.filter(corpus=corpus).order_by("pk"))
    ids = np.zeros(chunks, dtype=np.int64)
    with connection.cursor() as cursor:
        cursor.execute("SELECT ordinal, id FROM corpora_chunk WHERE corpus_id = %s", [corpus.pk])
        rows = cursor.fetchall()
    if len(rows) != chunks or len(documents) != len(DOCUMENT_TYPES):
        raise SystemExit(f"database {BENCH_DB} holds {len(rows)} chunks, not {chunks}: run without --reuse")
    for ordinal, pk in rows:
        ids[ordinal] = pk
    return corpus, documents, ids


def _sizes() -> str:
    from django.db import connection

    from corpora.vector_sql import index_name

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_table_size('corpora_chunk')), pg_size_pretty(pg_relation_size(%s)),"
            " pg_size_pretty(pg_relation_size('chunk_search_vector_gin'))",
            [index_name(DIM)],
        )
        table, hnsw, gin = cursor.fetchone()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f"table {table}, HNSW index {hnsw}, GIN index {gin}; benchmark process peak RSS {rss_mb:.0f} MB"


def _explain(corpus, vector: list[float]) -> str:
    from django.db import connection, transaction

    from corpora.selectors import vector_literal
    from corpora.vector_sql import dimension_filter, search_expression

    literal = vector_literal(vector)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute(
            f"EXPLAIN SELECT id FROM corpora_chunk WHERE {dimension_filter(DIM)} AND corpus_id = %s "
            f"ORDER BY {search_expression(DIM)} <=> %s::halfvec({DIM}) LIMIT 10",
            [corpus.pk, literal],
        )
        return "\n".join(row[0] for row in cursor.fetchall())


# The keyword half as it was before the two tiers, kept here to measure against.
_KEYWORD_OR_ALL = """
    WITH q AS (
        SELECT to_tsquery('english', replace(plainto_tsquery('english', %s)::text, ' & ', ' | ')) AS query
    ), ranked AS (
        SELECT c.id, ts_rank(c.search_vector, q.query) AS score
        FROM corpora_chunk c, q
        WHERE c.corpus_id = %s AND c.search_vector @@ q.query
        ORDER BY score DESC, c.id
        LIMIT %s
    )
    SELECT c.id FROM ranked JOIN corpora_chunk c ON c.id = ranked.id ORDER BY ranked.score DESC, c.id
"""


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _recall_line(name: str, recalls: list[float]) -> str:
    ordered = sorted(recalls)
    p5 = ordered[int(0.05 * (len(ordered) - 1))]
    return f"recall@10 {name}: mean {statistics.mean(recalls):.3f}  p5 {p5:.2f}  min {ordered[0]:.2f}"


def _timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, (time.perf_counter() - started) * 1000


def _truth(data: np.ndarray, ids: np.ndarray, query: np.ndarray, mask: np.ndarray | None = None) -> set[int]:
    similarities = data @ query
    if mask is not None:
        similarities = np.where(mask, similarities, -np.inf)
    return set(ids[np.argpartition(-similarities, K)[:K]].tolist())


def _recall(hits, truth: set[int]) -> float:
    return len(truth.intersection(h.chunk_id for h in hits)) / K


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--ef-sweep", default="", help="also measure vector search at these base ef_search values")
    parser.add_argument("--m", type=int, help="build the index with this m instead of the migrations' one")
    parser.add_argument("--ef-construction", type=int, help="build with this ef_construction instead")
    parser.add_argument(
        "--more-queries", type=int, default=0,
        help="then this many more vector searches (query vector given) for recall and the second walk's rate",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--database", default=BENCH_DB, help="name of the benchmark database (made and dropped)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="search the database a --keep run left (same --chunks) instead of loading it again; implies --keep",
    )
    args = parser.parse_args(argv)
    _use_database(args.database)
    args.keep |= args.reuse

    if not args.reuse:
        _recreate_database()
    _setup_django()
    from django.core.management import call_command
    from django.db import connection, connections

    from corpora import selectors, vector_sql

    vector_sql.HNSW_M = args.m or vector_sql.HNSW_M
    vector_sql.HNSW_EF_CONSTRUCTION = args.ef_construction or vector_sql.HNSW_EF_CONSTRUCTION
    HNSW_M, HNSW_EF_CONSTRUCTION = vector_sql.HNSW_M, vector_sql.HNSW_EF_CONSTRUCTION

    try:
        call_command("migrate", verbosity=0)
        rng = np.random.default_rng(7)
        centres = rng.normal(0, 1, size=(200, DIM)).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        spread = 1.0 / np.sqrt(DIM)  # points at cosine ~0.7 from their centre
        vocabulary = [f"w{i:04d}" for i in range(5000)]
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}; load {os.getloadavg()}")
        data = _vectors(rng, args.chunks, centres, spread)
        texts = _texts(rng, args.chunks, vocabulary)
        # A document's chunks are stored together, as ingestion writes them.
        owners = np.sort(np.random.default_rng(8).integers(0, len(DOCUMENT_TYPES), size=args.chunks))
        if args.reuse:
            corpus, documents, ids = _loaded(chunks=args.chunks)
            print(f"reusing the {args.chunks} chunks of database {BENCH_DB} (load and HNSW build not measured)")
        else:
            corpus, documents, ids, load_s, build_s = _load(vectors=data, texts=texts, owners=owners)
            print(f"loaded {args.chunks} chunks in {load_s:.1f} s; HNSW build (halfvec, m={HNSW_M}, "
                  f"ef_construction={HNSW_EF_CONSTRUCTION}, 1 parallel worker) {build_s:.1f} s")  # fmt: skip
        del texts
        print("sizes:", _sizes())

        queries = _vectors(rng, args.queries, centres, spread)
        rechecks_before = dict(selectors.VECTOR_RECHECKS)
        # Queries name content words (ranks 50-5,000), as real questions do once English
        # stop words are gone; the commonest synthetic words occur in almost every chunk.
        query_texts = [
            " ".join(vocabulary[i] for i in rng.integers(50, len(vocabulary), size=6)) for _ in range(args.queries)
        ]
        plan = _explain(corpus, queries[0].tolist())
        print("plan:", "HNSW index scan" if "chunk_embedding_hnsw_384" in plan else plan)
        filter_rng = np.random.default_rng(9)
        filter_documents = filter_rng.integers(0, len(documents), size=args.queries)
        html = np.array([kind == "html" for kind in DOCUMENT_TYPES])[owners]

        # Warm-up: the first queries load the index pages into shared buffers; the query
        # embedding model is loaded.
        for vector in queries[:20]:
            selectors.chunks_search(corpus=corpus, query="", k=K, mode="vector", query_vector=vector.tolist())
        selectors.chunks_search(corpus=corpus, query="warm up the embedding model", k=K, mode="vector")
        timings: dict[str, list[float]] = {
            name: []
            for name in ("vector", "hybrid", "vector_embedded", "hybrid_embedded", "keyword", "keyword_before")
            + ("halves", "halves_concurrent")
        }
        timings |= {"doc": [], "html": []}
        recalls: dict[str, list[float]] = {"vector": [], "hybrid_vector": [], "doc": [], "html": []}
        keyword_overlap: list[float] = []
        candidates = max(4 * K, 20)
        for i, (query, text) in enumerate(zip(queries, query_texts, strict=True)):
            vector = query.tolist()
            truth = _truth(data, ids, query)
            hits, ms = _timed(selectors.chunks_search, corpus=corpus, query="", k=K, mode="vector", query_vector=vector)
            timings["vector"].append(ms)
            recalls["vector"].append(_recall(hits, truth))
            _, ms = _timed(selectors.chunks_search, corpus=corpus, query=text, k=K, mode="hybrid", query_vector=vector)
            timings["hybrid"].append(ms)
            # Both again with the query embedding included (the local model, a text not seen
            # before): what a question costs end to end. The vector is the model's, not the
            # synthetic one, so these answers are not scored.
            _, ms = _timed(selectors.chunks_search, corpus=corpus, query=f"{text} v{i}", k=K, mode="vector")
            timings["vector_embedded"].append(ms)
            _, ms = _timed(selectors.chunks_search, corpus=corpus, query=f"{text} h{i}", k=K, mode="hybrid")
            timings["hybrid_embedded"].append(ms)
            keyword, ms = _timed(
                selectors._keyword_rows, corpus=corpus, query=text, limit=candidates, document_ids=None
            )
            timings["keyword"].append(ms)
            with connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute(_KEYWORD_OR_ALL, [text, corpus.pk, candidates])
                before = [row[0] for row in cursor.fetchall()]
                timings["keyword_before"].append((time.perf_counter() - started) * 1000)
            keyword_overlap.append(len({row[0] for row in keyword} & set(before)) / max(1, len(before)))
            # The two halves of hybrid one after the other, and on two connections at once.
            started = time.perf_counter()
            vector_rows = selectors._vector_rows(
                corpus=corpus, vector=vector, limit=candidates, document_ids=None, chunks=args.chunks, filtered=None
            )
            selectors._keyword_rows(corpus=corpus, query=text, limit=candidates, document_ids=None)
            timings["halves"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            sql, params = selectors._keyword_query(corpus=corpus, query=text, limit=candidates, document_ids=None)
            with selectors._alongside(sql, params) as other:
                selectors._vector_rows(
                    corpus=corpus, vector=vector, limit=candidates, document_ids=None, chunks=args.chunks, filtered=None
                )
                other()
            timings["halves_concurrent"].append((time.perf_counter() - started) * 1000)
            fused_truth = {row[0] for row in vector_rows[:K]}
            recalls["hybrid_vector"].append(len(fused_truth & truth) / K)
            # Filtered: one document (1% of the chunks) and one source type (20%).
            document = documents[filter_documents[i]]
            hits, ms = _timed(
                selectors.chunks_search, corpus=corpus, query="", k=K, mode="vector", query_vector=vector,
                document_ids=[document.pk],
            )  # fmt: skip
            timings["doc"].append(ms)
            recalls["doc"].append(_recall(hits, _truth(data, ids, query, owners == filter_documents[i])))
            hits, ms = _timed(
                selectors.chunks_search, corpus=corpus, query="", k=K, mode="vector", query_vector=vector,
                source_types=["html"],
            )  # fmt: skip
            timings["html"].append(ms)
            recalls["html"].append(_recall(hits, _truth(data, ids, query, html)))

        ef_vector = selectors.hnsw_ef_search(limit=K + 5, chunks=args.chunks)
        ef_hybrid = selectors.hnsw_ef_search(limit=candidates, chunks=args.chunks)
        print(f"chunks={args.chunks} dim={DIM} queries={args.queries} k={K} m={HNSW_M} "
              f"ef_construction={HNSW_EF_CONSTRUCTION} ef_search={ef_vector} (hybrid: {ef_hybrid})")  # fmt: skip
        lines = {
            "vector": "vector",
            "hybrid": "hybrid",
            "vector_embedded": "vector, query embedding included",
            "hybrid_embedded": "hybrid, query embedding included",
            "keyword": "keyword half, two tiers (40)",
            "keyword_before": "keyword half, OR over all matches (before)",
            "halves": "both halves in turn",
            "halves_concurrent": "both halves on two connections",
            "doc": "vector, filter: one document (1%)",
            "html": "vector, filter: source type html (20%)",
        }
        for name, label in lines.items():
            p50, p95 = _percentiles(timings[name])
            print(f"{label:45s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
        ratio = _percentiles(timings["hybrid"])[1] / _percentiles(timings["vector"])[1]
        print(f"hybrid p95 / vector p95 = {ratio:.2f}  (target <= 1.5; both with the query vector given)")
        ratio = _percentiles(timings["hybrid_embedded"])[1] / _percentiles(timings["vector_embedded"])[1]
        print(f"hybrid p95 / vector p95 with the query embedding included = {ratio:.2f}")
        for name, label in (
            ("vector", "vector"),
            ("hybrid_vector", "vector half of hybrid (40)"),
            ("doc", "one document"),
            ("html", "source type html"),
        ):
            print(_recall_line(label, recalls[name]))
        print(f"keyword top-40 shared with the OR-over-all ranking: mean {statistics.mean(keyword_overlap):.2f}")
        worst = sorted(range(len(recalls["vector"])), key=recalls["vector"].__getitem__)[:3]
        print("worst vector queries (index, recall):", [(i, recalls["vector"][i]) for i in worst])
        print(_rechecks_line("all the searches above", rechecks_before))
        if args.more_queries:
            more = _vectors(np.random.default_rng(10), args.more_queries, centres, spread)
            print(_vector_figures(f"{args.more_queries} more queries", corpus, more, data, ids))
        # Directions no cluster is near: the synthetic counterpart of a question the corpus
        # does not answer (best similarity about 0.2, as MiniLM gives such questions).
        unrelated = np.random.default_rng(11).normal(size=(50, DIM)).astype(np.float32)
        unrelated /= np.linalg.norm(unrelated, axis=1, keepdims=True)
        print(_vector_figures("50 unrelated queries", corpus, unrelated, None, ids))

        with connection.cursor() as cursor:
            round_trips = []
            for _ in range(200):
                _, ms = _timed(cursor.execute, "SELECT 1")
                round_trips.append(ms)
        print(f"one database round trip (SELECT 1) p50 {statistics.median(round_trips):.2f} ms")

        print(embedding_cache_figures([f"Which system has the best Dev F1 on task {i}?" for i in range(30)]))
        for ef in [int(value) for value in args.ef_sweep.split(",") if value]:
            selectors.HNSW_EF_SEARCH, selectors.HNSW_EF_PER_100K = ef, 0
            sweep_ms, sweep_recall = [], []
            for query in queries:
                hits, ms = _timed(
                    selectors.chunks_search, corpus=corpus, query="", k=K, mode="vector", query_vector=query.tolist()
                )
                sweep_ms.append(ms)
                sweep_recall.append(_recall(hits, _truth(data, ids, query)))
            p50, p95 = _percentiles(sweep_ms)
            print(f"ef_search {ef:4d}: vector p50 {p50:.1f} ms  p95 {p95:.1f} ms  "
                  + _recall_line("", sweep_recall))  # fmt: skip
        print("sizes:", _sizes())
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        connections.close_all()
        if not args.keep:
            _drop_database()
    return 0


def _rechecks_line(label: str, before: dict) -> str:
    from corpora.selectors import VECTOR_RECHECKS

    walks = VECTOR_RECHECKS["walks"] - before.get("walks", 0)
    rechecks = VECTOR_RECHECKS["rechecks"] - before.get("rechecks", 0)
    return f"second walks (best similarity below the threshold), {label}: {rechecks} of {walks} graph walks"


def _vector_figures(label: str, corpus, queries: np.ndarray, data: np.ndarray | None, ids: np.ndarray) -> str:
    """Vector search over ``queries``: latency, recall@10 (when ``data`` is given), second walks."""
    from corpora import selectors

    before = dict(selectors.VECTOR_RECHECKS)
    times, recalls = [], []
    for query in queries:
        hits, ms = _timed(
            selectors.chunks_search, corpus=corpus, query="", k=K, mode="vector", query_vector=query.tolist()
        )
        times.append(ms)
        if data is not None:
            recalls.append(_recall(hits, _truth(data, ids, query)))
    p50, p95 = _percentiles(times)
    line = f"{label}: vector p50 {p50:.1f} ms  p95 {p95:.1f} ms  max {max(times):.1f} ms"
    if recalls:
        worst = sorted(range(len(recalls)), key=recalls.__getitem__)[:3]
        line += f"\n  {_recall_line('', recalls)}; worst {[(i, recalls[i]) for i in worst]}"
    return line + "\n  " + _rechecks_line(label, before)


def embedding_cache_figures(texts: list[str]) -> str:
    """Embedding the query with the local model, first time and from the cache."""
    from corpora.selectors import query_embedding

    model = "local:all-MiniLM-L6-v2"
    query_embedding(model=model, dimension=DIM, query="warm up the model")
    first = [_timed(query_embedding, model=model, dimension=DIM, query=text)[1] for text in texts]
    cached = [_timed(query_embedding, model=model, dimension=DIM, query=text)[1] for text in texts]
    return (
        f"query embedding (local MiniLM): first p50 {statistics.median(first):.1f} ms, "
        f"cached p50 {statistics.median(cached) * 1000:.0f} µs"
    )


if __name__ == "__main__":
    raise SystemExit(main())
