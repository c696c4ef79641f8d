"""Retrieval at 100,000 chunks: latency of vector and hybrid search, recall@10 of HNSW.

    python benchmarks/retrieval_bench.py [--chunks 100000] [--queries 200] [--keep]

Works in a separate database (``assay_bench`` on the same PostgreSQL server), migrated
from scratch and dropped at the end unless --keep. Vectors are synthetic 384-dim
unit vectors drawn around 200 cluster centres, ~500 each (real embeddings cluster; they are not
uniform); chunk texts are synthetic sentences over a 5,000-word Zipf vocabulary and
hybrid queries are six content words (vocabulary ranks 50-5,000). The HNSW
index is built after loading, with maintenance_work_mem raised, using the same
settings as the migrations (corpora.vector_sql). Latencies go through
``corpora.selectors.chunks_search`` with a precomputed query vector (the embedding
model is not timed). Recall@10 compares each HNSW answer with an exact scan of the
same query (index scans disabled) in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "assay_bench"
DIM = 384


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
    return data / np.linalg.norm(data, axis=1, keepdims=True)


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


def _load(*, n: int, rng: np.random.Generator, centres: np.ndarray, spread: float, vocabulary: list[str]):
    from django.db import connection

    from accounts.services import team_create
    from corpora.models import Corpus, Document
    from corpora.vector_sql import create_index_sql, drop_index_sql

    team = team_create(name="Benchmark")
    corpus = Corpus.objects.create(team=team, name="bench", embedding_dimension=DIM)
    document = Document.objects.create(corpus=corpus, title="synthetic", sha256="0" * 64, status="ready")
    vectors = _vectors(rng, n, centres, spread)
    texts = _texts(rng, n, vocabulary)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(drop_index_sql(DIM))
        raw = cursor.cursor
        columns = "corpus_id, document_id, key, ordinal, text, locator, heading_path, source_tag, embedding"
        with raw.copy(f"COPY corpora_chunk ({columns}) FROM STDIN") as copy:
            for i in range(n):
                vector = "[" + ",".join(f"{x:.5f}" for x in vectors[i]) + "]"
                copy.write_row(
                    (corpus.pk, document.pk, f"bench-{i}", i, texts[i], "{}", "[]", "[Doc: synthetic]", vector)
                )
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '2GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 1")
        cursor.execute(create_index_sql(DIM))
        cursor.execute("ANALYZE corpora_chunk")
    build_s = time.perf_counter() - started
    return corpus, load_s, build_s


def _exact_ids(corpus, vector: list[float], k: int) -> list[int]:
    from django.db import connection, transaction

    from corpora.selectors import vector_literal

    literal = vector_literal(vector)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(
            f"SELECT id FROM corpora_chunk WHERE vector_dims(embedding) = {DIM} AND corpus_id = %s "
            f"ORDER BY embedding::vector({DIM}) <=> %s::vector({DIM}) LIMIT %s",
            [corpus.pk, literal, k],
        )
        return [row[0] for row in cursor.fetchall()]


def _explain(corpus, vector: list[float]) -> str:
    from django.db import connection, transaction

    from corpora.selectors import vector_literal

    literal = vector_literal(vector)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute(
            f"EXPLAIN SELECT id FROM corpora_chunk WHERE vector_dims(embedding) = {DIM} AND corpus_id = %s "
            f"ORDER BY embedding::vector({DIM}) <=> %s::vector({DIM}) LIMIT 10",
            [corpus.pk, literal],
        )
        return "\n".join(row[0] for row in cursor.fetchall())


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)

    _recreate_database()
    _setup_django()
    from django.core.management import call_command

    from corpora import selectors
    from corpora.vector_sql import HNSW_EF_CONSTRUCTION, HNSW_M

    try:
        call_command("migrate", verbosity=0)
        rng = np.random.default_rng(7)
        centres = rng.normal(0, 1, size=(200, DIM)).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        spread = 1.0 / np.sqrt(DIM)  # ~500 points per cluster at cosine ~0.7 from their centre
        vocabulary = [f"w{i:04d}" for i in range(5000)]
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}; load {os.getloadavg()}")
        corpus, load_s, build_s = _load(n=args.chunks, rng=rng, centres=centres, spread=spread, vocabulary=vocabulary)
        print(f"loaded {args.chunks} chunks in {load_s:.1f} s; HNSW build (m={HNSW_M}, "
              f"ef_construction={HNSW_EF_CONSTRUCTION}) {build_s:.1f} s")  # fmt: skip

        queries = _vectors(rng, args.queries, centres, spread).tolist()
        # Queries name content words (ranks 50-5,000), as real questions do once English
        # stop words are gone; the commonest synthetic words occur in almost every chunk.
        query_texts = [
            " ".join(vocabulary[i] for i in rng.integers(50, len(vocabulary), size=6)) for _ in range(args.queries)
        ]
        plan = _explain(corpus, queries[0])
        print("plan:", "HNSW index scan" if "chunk_embedding_hnsw_384" in plan else plan)

        k = 10
        # Warm-up: the first queries load the index pages into shared buffers.
        for vector in queries[:20]:
            selectors.chunks_search(corpus=corpus, query="", k=k, mode="vector", query_vector=vector)
        vector_ms, hybrid_ms, keyword_ms, recalls = [], [], [], []
        for vector, text in zip(queries, query_texts, strict=True):
            started = time.perf_counter()
            hits = selectors.chunks_search(corpus=corpus, query="", k=k, mode="vector", query_vector=vector)
            vector_ms.append((time.perf_counter() - started) * 1000)
            exact = set(_exact_ids(corpus, vector, k))
            recalls.append(len(exact.intersection(h.chunk_id for h in hits)) / k)
            started = time.perf_counter()
            selectors.chunks_search(corpus=corpus, query=text, k=k, mode="hybrid", query_vector=vector)
            hybrid_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            selectors.chunks_search(corpus=corpus, query=text, k=4 * k, mode="keyword")
            keyword_ms.append((time.perf_counter() - started) * 1000)
        v50, v95 = _percentiles(vector_ms)
        h50, h95 = _percentiles(hybrid_ms)
        recall = statistics.mean(recalls)
        ef_vector = max(selectors.HNSW_EF_SEARCH, 2 * k)
        ef_hybrid = max(selectors.HNSW_EF_SEARCH, 2 * max(4 * k, 20))
        print(f"chunks={args.chunks} dim={DIM} queries={args.queries} k={k} m={HNSW_M} "
              f"ef_construction={HNSW_EF_CONSTRUCTION} ef_search={ef_vector} (hybrid: {ef_hybrid})")  # fmt: skip
        print(f"vector  p50 {v50:.1f} ms  p95 {v95:.1f} ms  (target p95 <= 20 ms)")
        print(f"hybrid  p50 {h50:.1f} ms  p95 {h95:.1f} ms  (target p95 <= 50 ms)")
        k50, k95 = _percentiles(keyword_ms)
        print(f"keyword part of hybrid (40 candidates)  p50 {k50:.1f} ms  p95 {k95:.1f} ms")
        print(f"recall@10 HNSW vs exact: {recall:.3f}  (min {min(recalls):.2f}; target >= 0.95)")
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _drop_database()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
