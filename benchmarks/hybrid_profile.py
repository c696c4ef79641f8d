"""Where a hybrid search's time goes beyond its two SQL halves, search by search.

    python benchmarks/hybrid_profile.py --database NAME [--queries 150] [--passes 1] [--slowest 10]

Searches a database a ``retrieval_bench.py --keep`` run left (same seeds, so the same
corpus and queries) in the benchmark's own per-query order, and stamps every hybrid search
(query vector given) with ``perf_counter`` around each of its parts, by wrapping
``corpora.selectors``' functions: the keyword SQL built, the keyword half sent on the
second connection (its connection checks included), the embedding (cache) look-up, the
chunk count, the vector half, the wait for the keyword rows, the table list, fusion,
folding; plus Python's garbage collections during the search (``gc.callbacks``), the
process's CPU time and its voluntary and involuntary context switches. Prints the means,
the p95 of each part, and the slowest searches part by part.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import retrieval_bench as bench  # noqa: E402

PARTS = (
    "filter", "keyword_sql", "send", "embed", "count", "vector", "wait", "table", "fuse", "fold", "other",
)  # fmt: skip


class Stamps:
    def __init__(self) -> None:
        self.active = False
        self.parts: dict[str, float] = defaultdict(float)
        self.gc: list[tuple[int, float]] = []
        self._gc_started = 0.0

    def wrap(self, module, name: str, part: str) -> None:
        function = getattr(module, name)

        def timed(*args, **kwargs):
            if not self.active:
                return function(*args, **kwargs)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.parts[part] += time.perf_counter() - started

        setattr(module, name, timed)

    def gc_callback(self, phase: str, info: dict) -> None:
        if not self.active:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc.append((info["generation"], (time.perf_counter() - self._gc_started) * 1000))


def _instrument(selectors, stamps: Stamps) -> None:
    import contextlib

    stamps.wrap(selectors, "_filter_documents", "filter")
    stamps.wrap(selectors, "_keyword_query", "keyword_sql")
    stamps.wrap(selectors, "query_embedding", "embed")
    stamps.wrap(selectors, "corpus_chunk_count", "count")
    stamps.wrap(selectors, "_vector_rows_rechecked", "vector")
    stamps.wrap(selectors, "_superlative_rows", "table")
    stamps.wrap(selectors, "_fused", "fuse")
    stamps.wrap(selectors, "_word_set", "fold")
    stamps.wrap(selectors, "_near_duplicate", "fold")
    stamps.wrap(selectors, "_hit", "fold")
    alongside = selectors._alongside

    @contextlib.contextmanager
    def timed_alongside(*args, **kwargs):
        if not stamps.active:
            with alongside(*args, **kwargs) as rows:
                yield rows
            return
        started = time.perf_counter()
        manager = alongside(*args, **kwargs)
        rows = manager.__enter__()
        stamps.parts["send"] += time.perf_counter() - started

        def waited():
            started = time.perf_counter()
            try:
                return rows()
            finally:
                stamps.parts["wait"] += time.perf_counter() - started

        try:
            yield waited
        except BaseException:
            if not manager.__exit__(*sys.exc_info()):
                raise
        else:
            manager.__exit__(None, None, None)

    selectors._alongside = timed_alongside


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--slowest", type=int, default=10)
    parser.add_argument("--same-vector", action="store_true", help="hybrid right after vector on the same query")
    parser.add_argument("--again", action="store_true", help="each hybrid search twice in a row")
    parser.add_argument(
        "--only", action="store_true", help="vector and hybrid only, not the benchmark's other searches"
    )
    args = parser.parse_args(argv)
    bench._use_database(args.database)
    bench._setup_django()
    from django.db import connection

    from corpora import selectors

    rng = np.random.default_rng(7)
    centres = rng.normal(0, 1, size=(200, bench.DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    spread = 1.0 / np.sqrt(bench.DIM)
    vocabulary = [f"w{i:04d}" for i in range(5000)]
    bench._vectors(rng, args.chunks, centres, spread)
    bench._texts(rng, args.chunks, vocabulary)
    corpus, documents, ids = bench._loaded(chunks=args.chunks)
    queries = bench._vectors(rng, args.queries, centres, spread)
    texts = [" ".join(vocabulary[i] for i in rng.integers(50, len(vocabulary), size=6)) for _ in range(args.queries)]
    K, candidates = bench.K, max(4 * bench.K, 20)

    stamps = Stamps()
    _instrument(selectors, stamps)
    gc.callbacks.append(stamps.gc_callback)
    for vector in queries[:20]:
        selectors.chunks_search(corpus=corpus, query="", k=K, mode="vector", query_vector=vector.tolist())
    warm_rng = np.random.default_rng(12)  # as retrieval_bench.py warms hybrid up
    for vector in bench._vectors(warm_rng, 20, centres, spread):
        text = " ".join(vocabulary[i] for i in warm_rng.integers(50, len(vocabulary), size=6))
        selectors.chunks_search(corpus=corpus, query=text, k=K, mode="hybrid", query_vector=vector.tolist())
    selectors.chunks_search(corpus=corpus, query="warm up the embedding model", k=K, mode="vector")

    def vector_search(vector) -> float:
        return bench._timed(selectors.chunks_search, corpus=corpus, query="", k=K, mode="vector", query_vector=vector)[
            1
        ]

    records = []
    vector_ms = []
    for _ in range(args.passes):
        for i, (query, text) in enumerate(zip(queries, texts, strict=True)):
            vector = query.tolist()
            vector_ms.append(vector_search(vector))
            # Hybrid on the query half the set away, as the benchmark does (or the same one).
            j = i if args.same_vector else (i + len(queries) // 2) % len(queries)
            hybrid_vector, hybrid_text = queries[j].tolist(), texts[j]
            stamps.parts = defaultdict(float)
            stamps.gc = []
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = time.process_time()
            stamps.active = True
            started = time.perf_counter()
            selectors.chunks_search(corpus=corpus, query=hybrid_text, k=K, mode="hybrid", query_vector=hybrid_vector)
            total = time.perf_counter() - started
            stamps.active = False
            cpu = time.process_time() - cpu
            after = resource.getrusage(resource.RUSAGE_SELF)
            parts = {part: stamps.parts[part] * 1000 for part in PARTS}
            parts["other"] = total * 1000 - sum(parts.values())
            record = {
                "i": i, "total": total * 1000, "cpu": cpu * 1000, "parts": parts, "gc": list(stamps.gc),
                "vcsw": after.ru_nvcsw - usage.ru_nvcsw, "ivcsw": after.ru_nivcsw - usage.ru_nivcsw,
            }  # fmt: skip
            records.append(record)
            if args.again:
                # The same search at once: the keyword half's pages are now in the CPU's caches.
                stamps.parts = defaultdict(float)
                stamps.active = True
                started = time.perf_counter()
                selectors.chunks_search(
                    corpus=corpus, query=hybrid_text, k=K, mode="hybrid", query_vector=hybrid_vector
                )
                record["again"] = (time.perf_counter() - started) * 1000
                record["again_wait"] = stamps.parts["wait"] * 1000
                stamps.active = False
            if args.only:
                continue
            selectors.chunks_search(corpus=corpus, query=f"{text} v{i}", k=K, mode="vector")
            selectors.chunks_search(corpus=corpus, query=f"{text} h{i}", k=K, mode="hybrid")
            selectors._keyword_rows(corpus=corpus, query=text, limit=candidates, document_ids=None)
            with connection.cursor() as cursor:
                cursor.execute(bench._KEYWORD_OR_ALL, [text, corpus.pk, candidates])
                cursor.fetchall()
            selectors._vector_rows(
                corpus=corpus, vector=vector, limit=candidates, document_ids=None, chunks=args.chunks, filtered=None
            )
            selectors._keyword_rows(corpus=corpus, query=text, limit=candidates, document_ids=None)
            sql, params = selectors._keyword_query(corpus=corpus, query=text, limit=candidates, document_ids=None)
            with selectors._alongside(sql, params) as other:
                selectors._vector_rows(
                    corpus=corpus, vector=vector, limit=candidates, document_ids=None, chunks=args.chunks, filtered=None
                )
                other()

    totals = [r["total"] for r in records]
    vp50, vp95 = bench._percentiles(vector_ms)
    hp50, hp95 = bench._percentiles(totals)
    print(f"load {os.getloadavg()}; searches {len(records)}")
    print(f"vector p50 {vp50:.2f} p95 {vp95:.2f} ms; hybrid p50 {hp50:.2f} p95 {hp95:.2f} ms; ratio {hp95 / vp95:.2f}")
    print(f"{'part':12s} {'mean':>7s} {'p50':>7s} {'p95':>7s} {'max':>7s}  (ms)")
    for part in (*PARTS, "cpu"):
        values = [r["cpu"] if part == "cpu" else r["parts"][part] for r in records]
        p50, p95 = bench._percentiles(values)
        print(f"{part:12s} {statistics.mean(values):7.3f} {p50:7.3f} {p95:7.3f} {max(values):7.3f}")
    collections = [c for r in records for c in r["gc"]]
    generations = Counter(generation for generation, _ in collections)
    print(
        f"gc collections in hybrid searches: {len(collections)} (by generation {dict(sorted(generations.items()))}),"
        f" total {sum(ms for _, ms in collections):.2f} ms, max {max((ms for _, ms in collections), default=0):.2f} ms"
    )
    if args.again:
        again = [r["again"] for r in records]
        waits = [r["again_wait"] for r in records]
        print(f"the same hybrid search again at once: p50 {bench._percentiles(again)[0]:.2f} p95 "
              f"{bench._percentiles(again)[1]:.2f} ms; its wait p50 {bench._percentiles(waits)[0]:.3f} "
              f"p95 {bench._percentiles(waits)[1]:.3f} ms")  # fmt: skip
    print(f"involuntary context switches per search: mean {statistics.mean(r['ivcsw'] for r in records):.2f}")
    print(f"slowest {args.slowest} hybrid searches (ms):")
    print("  query  total    cpu " + " ".join(f"{p[:7]:>7s}" for p in PARTS) + "  ivcsw gc")
    for r in sorted(records, key=lambda r: -r["total"])[: args.slowest]:
        cells = " ".join(f"{r['parts'][p]:7.2f}" for p in PARTS)
        print(f"  {r['i']:5d} {r['total']:6.2f} {r['cpu']:6.2f} {cells}  {r['ivcsw']:5d} {r['gc']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
