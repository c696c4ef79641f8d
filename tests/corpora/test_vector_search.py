"""Vector search against exact answers: filters (exact scan or HNSW), halfvec storage, migration."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from corpora import selectors
from corpora.models import Chunk, Document
from corpora.selectors import chunks_search
from corpora.vector_sql import dimension_filter, index_name, search_expression
from tests.corpora.factories import CorpusFactory, DocumentFactory

DIM = 384


def _corpus_with_vectors(*, documents: int, per_document: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    corpus = CorpusFactory()
    owners, vectors, chunk_ids = [], [], []
    for d in range(documents):
        kind = Document.SourceType.PDF if d % 2 else Document.SourceType.HTML
        document = DocumentFactory(corpus=corpus, source_type=kind, chunk_count=per_document)
        data = rng.normal(size=(per_document, DIM)).astype(np.float32)
        data /= np.linalg.norm(data, axis=1, keepdims=True)
        chunks = Chunk.objects.bulk_create(
            Chunk(corpus=corpus, document=document, key=f"{document.pk}-{i}", ordinal=i, text=f"chunk {i}",
                  source_tag="[Doc]", embedding=data[i].tolist())
            for i in range(per_document)
        )  # fmt: skip
        owners += [document] * per_document
        vectors.append(data)
        chunk_ids += [chunk.pk for chunk in chunks]
    return corpus, owners, np.concatenate(vectors), np.array(chunk_ids)


@pytest.mark.django_db
@pytest.mark.parametrize("exact_scan_max_rows", [0, 1_000_000], ids=["hnsw-iterative", "exact-scan"])
def test_vector_search_with_and_without_filters_finds_the_nearest(settings, exact_scan_max_rows, monkeypatch):
    monkeypatch.setattr(selectors, "EXACT_SCAN_MAX_ROWS", exact_scan_max_rows)
    corpus, owners, vectors, chunk_ids = _corpus_with_vectors(documents=4, per_document=150)
    query = vectors[7] + 0.5 * vectors[400]
    query /= np.linalg.norm(query)
    wanted = owners[450]  # not the document of either vector the query is made of

    hits = chunks_search(
        corpus=corpus, query="", mode="vector", k=5, query_vector=query.tolist(), document_ids=[wanted.pk]
    )

    in_filter = np.array([owner.pk == wanted.pk for owner in owners])
    similarities = np.where(in_filter, vectors @ query, -np.inf)
    assert [hit.chunk_id for hit in hits] == chunk_ids[np.argsort(-similarities)[:5]].tolist()
    # Half precision: scores agree with float32 cosine to about three decimals.
    assert [hit.score for hit in hits] == pytest.approx(np.sort(similarities)[::-1][:5].tolist(), abs=2e-3)

    everywhere = chunks_search(corpus=corpus, query="", mode="vector", k=5, query_vector=query.tolist())
    expected = chunk_ids[np.argsort(-(vectors @ query))[:5]].tolist()
    assert [hit.chunk_id for hit in everywhere][:2] == expected[:2]  # the two the query is made of
    _assert_nearest([hit.chunk_id for hit in everywhere], expected, exact=bool(exact_scan_max_rows))

    by_type = chunks_search(
        corpus=corpus, query="", mode="vector", k=5, query_vector=query.tolist(), source_types=["pdf"]
    )
    is_pdf = np.array([owner.source_type == "pdf" for owner in owners])
    expected = chunk_ids[np.argsort(-np.where(is_pdf, vectors @ query, -np.inf))[:5]].tolist()
    _assert_nearest([hit.chunk_id for hit in by_type], expected, exact=bool(exact_scan_max_rows))


def _assert_nearest(found: list[int], expected: list[int], *, exact: bool) -> None:
    """An exact scan returns exactly the nearest; the HNSW walk is approximate.

    On random 384-dimensional vectors, past the two the query is made of, neighbours
    differ by a few thousandths of similarity, and a graph walk with ef_search 200 over
    600 rows can miss one of them (pgvector draws each row's graph level at random).
    So through HNSW: at least 4 of the exact 5.
    """
    if exact:
        assert found == expected
    else:
        assert len(set(found) & set(expected)) >= 4


@pytest.mark.django_db
def test_embeddings_are_stored_as_halfvec_with_halfvec_hnsw_indexes() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'corpora_chunk'::regclass AND attname = 'embedding'"
        )
        assert cursor.fetchone() == ("halfvec",)
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'chunk_embedding_hnsw_384'")
        (definition,) = cursor.fetchone()
    assert "halfvec_cosine_ops" in definition and "(embedding)::halfvec(384)" in definition


@pytest.mark.django_db(transaction=True)
def test_halfvec_migration_converts_stored_vectors_and_back() -> None:
    corpus, _, vectors, chunk_ids = _corpus_with_vectors(documents=1, per_document=3)
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("corpora", "0002_hnsw_indexes")])
        with connection.cursor() as cursor:
            cursor.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                           "WHERE attrelid = 'corpora_chunk'::regclass AND attname = 'embedding'")  # fmt: skip
            assert cursor.fetchone() == ("vector",)
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'chunk_embedding_hnsw_384'")
            assert "vector_cosine_ops" in cursor.fetchone()[0]
            # A row written while the column was `vector`, in full precision.
            cursor.execute("UPDATE corpora_chunk SET embedding = %s::vector WHERE id = %s",
                           [str(vectors[0].tolist()), int(chunk_ids[0])])  # fmt: skip
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    stored = np.array([Chunk.objects.get(pk=pk).embedding for pk in chunk_ids.tolist()])
    np.testing.assert_allclose(stored, vectors, atol=1e-3)
    hits = chunks_search(corpus=corpus, query="", mode="vector", k=1, query_vector=vectors[0].tolist())
    assert hits[0].chunk_id == chunk_ids[0] and hits[0].score == pytest.approx(1.0, abs=1e-3)


def _far_cluster_corpus(rng: np.random.Generator):
    """A corpus with one far chunk that a graph walk at a short candidate list does not
    reach, and the query that wants it.

    Axis 0 is the far chunk's direction. 900 chunks lie around x + 0.5 y (axes 1 and 2),
    then 40 around y, then the far chunk, leaning to y, is stored last: its nearest chunks
    are the 40 (more than the 32 links a node has at m = 16), and the 900 are closer to
    those than to it, so HNSW links it to the 40 only. The query leans to x: the 900 are
    at similarity ~0.16 to it, the 40 at ~0 and the far chunk at 0.94. From an entry
    point among the 900 (the graph's entry is the node of the highest level, almost
    surely one of them) a walk at ef_search 1 and its iterative continuation stay among
    the 900, where the query's similarity is highest nearby; a walk whose candidate list
    holds the whole corpus visits every node the graph connects.
    """

    def around(direction: np.ndarray, n: int, spread: float) -> np.ndarray:
        direction = direction / np.linalg.norm(direction)
        data = direction + rng.normal(0, spread, size=(n, DIM)).astype(np.float32)
        return data / np.linalg.norm(data, axis=1, keepdims=True)

    axis0, x, y = np.eye(DIM, dtype=np.float32)[:3]
    vectors = np.concatenate([around(x + 0.5 * y, 900, 0.025), around(y, 40, 0.025), around(axis0 + 0.3 * y, 1, 0.01)])
    corpus = CorpusFactory()
    document = DocumentFactory(corpus=corpus, chunk_count=len(vectors))
    chunks = Chunk.objects.bulk_create(
        Chunk(corpus=corpus, document=document, key=f"c{i}", ordinal=i, text=f"chunk {i}", source_tag="[Doc]",
              embedding=vector.tolist())
        for i, vector in enumerate(vectors)
    )  # fmt: skip
    with connection.cursor() as cursor:
        # Statistics, as autovacuum keeps them: with none the planner takes the corpus
        # for a handful of rows and sorts them instead of walking the graph.
        cursor.execute("ANALYZE corpora_chunk")
    query = axis0 + 0.2 * x
    return corpus, vectors, np.array([chunk.pk for chunk in chunks]), query / np.linalg.norm(query)


@pytest.mark.django_db
def test_a_walk_that_missed_the_far_cluster_is_walked_again_and_finds_it(monkeypatch):
    monkeypatch.setattr(selectors, "EXACT_SCAN_MAX_ROWS", 0)  # through HNSW
    # A first walk with the shortest candidate list: it stays where the query's
    # similarity is highest nearby, among the 900.
    monkeypatch.setattr(selectors, "HNSW_EF_SEARCH", 1)
    monkeypatch.setattr(selectors, "HNSW_EF_PER_ROW", 0)
    monkeypatch.setattr(selectors, "HNSW_EF_PER_100K", 0)
    corpus, vectors, chunk_ids, query = _far_cluster_corpus(np.random.default_rng(5))
    with connection.cursor() as cursor:  # the search walks the graph
        cursor.execute(
            f"EXPLAIN SELECT id FROM corpora_chunk c WHERE {dimension_filter(DIM, column='c.embedding')}"
            f" AND c.corpus_id = %s ORDER BY {search_expression(DIM, column='c.embedding')} <=> %s::halfvec({DIM})"
            " LIMIT 15",
            [corpus.pk, str(query.tolist())],
        )
        assert f"Index Scan using {index_name(DIM)}" in "\n".join(row[0] for row in cursor.fetchall())

    first = selectors._vector_rows(
        corpus=corpus, vector=query.tolist(), limit=15, document_ids=None, chunks=len(vectors), filtered=None
    )
    assert chunk_ids[-1] not in [row[0] for row in first]  # the walk missed the far chunk
    assert 1.0 - first[0][5] < 0.3  # and found nothing close

    before = selectors.VECTOR_RECHECKS.copy()
    hits = chunks_search(corpus=corpus, query="", mode="vector", k=10, query_vector=query.tolist())

    assert selectors.VECTOR_RECHECKS["rechecks"] == before["rechecks"] + 1
    expected = chunk_ids[np.argsort(-(vectors @ query))[:10]].tolist()
    assert hits[0].chunk_id == expected[0] == chunk_ids[-1]
    assert hits[0].score == pytest.approx(float(vectors[-1] @ query), abs=2e-3)
    assert len(set(hit.chunk_id for hit in hits) & set(expected)) >= 8
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


@pytest.mark.django_db
def test_a_walk_that_found_a_close_match_is_not_walked_again(monkeypatch):
    monkeypatch.setattr(selectors, "EXACT_SCAN_MAX_ROWS", 0)
    corpus, vectors, chunk_ids, _ = _far_cluster_corpus(np.random.default_rng(6))
    query = vectors[3]  # one of the 900: similarity 1 with itself

    before = selectors.VECTOR_RECHECKS.copy()
    hits = chunks_search(corpus=corpus, query="", mode="vector", k=5, query_vector=query.tolist())

    assert hits[0].chunk_id == chunk_ids[3]
    assert selectors.VECTOR_RECHECKS["walks"] == before["walks"] + 1
    assert selectors.VECTOR_RECHECKS["rechecks"] == before["rechecks"]


@pytest.mark.django_db
def test_an_exact_scan_is_never_walked_again(monkeypatch):
    corpus, vectors, chunk_ids, query = _far_cluster_corpus(np.random.default_rng(7))  # 941 chunks: exact

    before = selectors.VECTOR_RECHECKS.copy()
    hits = chunks_search(corpus=corpus, query="", mode="vector", k=5, query_vector=(-query).tolist())

    assert hits[0].score < selectors.VECTOR_RECHECK_BELOW  # nothing near, yet no second pass
    assert before == selectors.VECTOR_RECHECKS
    assert [hit.chunk_id for hit in hits] == chunk_ids[np.argsort(vectors @ query)[:5]].tolist()
