"""Retrieval on the sample corpus: vector, keyword and hybrid modes, filters, ranks."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from corpora.models import Corpus, Document
from corpora.selectors import (
    _alongside,
    _cached_embedding,
    _keyword_query,
    _keyword_rows,
    _rows,
    _search_connection,
    chunks_search,
    hnsw_ef_search,
    ranks_fuse,
)
from corpora.services import corpus_create, document_ingest, document_upload
from tests.corpora.factories import media_root, sample_corpus, sample_files  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

BEST_DEV_F1_ROW = "System=SAT + Full FT (Ensemble)"


def _document(corpus: Corpus, name: str) -> Document:
    return corpus.documents.get(original_name=name)


def test_hybrid_finds_best_dev_f1_row_in_top_3(sample_corpus) -> None:
    hits = chunks_search(corpus=sample_corpus, query="Which system has the best Dev F1?", k=3)

    assert len(hits) == 3
    row = next(hit for hit in hits if BEST_DEV_F1_ROW in hit.text)
    assert row.text.startswith("(Table 2: SQuAD v1.1 results")
    assert "Dev F1=95.1" in row.text
    assert row.source_tag == "[Sheet: sat_results.xlsx/Results] Row 17"
    assert row.locator == {"sheet": "Results", "row": 17, "table": 1}
    # The table signal that lifted it is reported with the others, not hidden.
    assert row.ranks["table"] == 1 and set(row.ranks) <= {"vector", "keyword", "table"}
    assert row.score == pytest.approx(sum(1 / (60 + rank) for rank in row.ranks.values()))


def test_ranks_fuse_is_reciprocal_rank_fusion_with_ranks_per_signal() -> None:
    fused = ranks_fuse({"vector": ["a", "b", "c"], "keyword": ["c", "a"], "table": ["c"]})

    assert [entry.key for entry in fused] == ["c", "a", "b"]
    assert fused[0].ranks == {"vector": 3, "keyword": 1, "table": 1}
    assert fused[0].score == pytest.approx(1 / 63 + 1 / 61 + 1 / 61)
    assert fused[2].ranks == {"vector": 2}


def _fused_plainly(ranked: dict[str, list]) -> list[tuple]:
    """Reciprocal rank fusion written out the obvious way, to hold ranks_fuse to it."""
    entries: dict = {}
    for signal, keys in ranked.items():
        for rank, key in enumerate(keys, start=1):
            score, ranks = entries.get(key, (0.0, {}))
            if signal not in ranks:
                entries[key] = (score + 1.0 / (60 + rank), {**ranks, signal: rank})
    first_seen = list(entries)
    order = sorted(entries, key=lambda key: (-entries[key][0], first_seen.index(key)))
    return [(key, entries[key][0], entries[key][1]) for key in order]


def test_ranks_fuse_agrees_with_a_plain_fusion_on_ties_and_repeated_keys() -> None:
    import random

    rng = random.Random(15)
    for _ in range(200):
        pool = list(range(rng.randint(1, 60)))
        ranked = {
            signal: [rng.choice(pool) for _ in range(rng.randint(0, 40))] for signal in ("vector", "keyword", "table")
        }
        # Mirror images tie exactly (a at rank 1 and b at rank 2 in one list, the reverse
        # in the other): the first seen must come first.
        ranked["keyword"][:2] = ranked["vector"][:2][::-1]

        fused = ranks_fuse(ranked)

        assert [(entry.key, entry.score, entry.ranks) for entry in fused] == _fused_plainly(ranked)


@pytest.mark.parametrize(
    "transactional",
    [
        pytest.param(False, id="inside-a-transaction"),
        # The keyword half on the second connection, its rows loaded from libpq's result.
        pytest.param(True, id="halves-alongside", marks=pytest.mark.django_db(transaction=True)),
    ],
)
def test_near_duplicate_passages_are_folded_into_the_better_hit(sample_corpus, team, tmp_path, transactional) -> None:
    assert connection.in_atomic_block is not transactional
    paragraph = (
        "Zebra notes. The zebra quagga keeps its stripes in winter, and the stripes of a quagga fade "
        "towards the tail, which no other zebra shows."
    )
    for name, text in (("notes.md", paragraph), ("notes-copy.md", paragraph.replace("Zebra notes.", "Zebra notes:"))):
        (tmp_path / name).write_text(text + "\n")
        document, _ = document_upload(corpus=sample_corpus, file=tmp_path / name)
        document_ingest(document_id=document.pk)

    hits = chunks_search(corpus=sample_corpus, query="quagga zebra stripes", k=5)

    assert sum("quagga keeps its stripes" in hit.text for hit in hits) == 1, [hit.text for hit in hits]
    assert len(hits[0].duplicates) == 1


def test_hybrid_finds_the_paper_passage_in_top_3(sample_corpus) -> None:
    hits = chunks_search(
        corpus=sample_corpus, query="How much GPU memory does SAT save compared with full fine-tuning?", k=3
    )

    passages = [hit for hit in hits if hit.source_tag.startswith("[PDF: sat_paper.pdf")]
    assert any("24.1" in hit.text and "14.2" in hit.text for hit in passages), [h.text[:80] for h in hits]


def test_vector_mode_scores_are_cosine_similarities_in_rank_order(sample_corpus) -> None:
    hits = chunks_search(
        corpus=sample_corpus, query="How much GPU memory does SAT save during training?", k=5, mode="vector"
    )

    assert [hit.rank for hit in hits] == [1, 2, 3, 4, 5]
    assert all(hit.vector_rank == hit.rank and hit.keyword_rank is None for hit in hits)
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] <= 1
    assert any("24.1" in hit.text and "memory" in hit.text for hit in hits[:3])


def test_keyword_mode_matches_any_term_of_a_natural_question(sample_corpus) -> None:
    # No single chunk contains every word of this question; OR semantics still match.
    hits = chunks_search(corpus=sample_corpus, query="what learning rate should I use for the warmup?", mode="keyword")

    assert hits, "a natural question must match by its content words"
    assert all(hit.keyword_rank == hit.rank and hit.vector_rank is None for hit in hits)
    assert "3e-4" in hits[0].text or "learning rate" in hits[0].text.lower()


def test_keyword_mode_with_no_matching_term_returns_nothing(sample_corpus) -> None:
    assert chunks_search(corpus=sample_corpus, query="zyxwvut qqqq", mode="keyword") == []


def test_hybrid_reports_both_ranks(sample_corpus) -> None:
    hits = chunks_search(corpus=sample_corpus, query="mask warmup of 500 steps", k=5)

    assert hits[0].vector_rank is not None and hits[0].keyword_rank is not None
    assert [hit.rank for hit in hits] == [1, 2, 3, 4, 5]
    assert hits[0].score == pytest.approx(1 / (60 + hits[0].vector_rank) + 1 / (60 + hits[0].keyword_rank))


@pytest.mark.parametrize("mode", ["vector", "keyword", "hybrid"])
def test_document_filter_restricts_every_mode(sample_corpus, mode) -> None:
    blog = _document(sample_corpus, "sat_blog.html")

    hits = chunks_search(
        corpus=sample_corpus, query="SAT memory learning rate", k=10, mode=mode, document_ids=[blog.pk]
    )

    assert hits and {hit.document_id for hit in hits} == {blog.pk}
    assert all(hit.source_tag == "[Doc: sat_blog.html]" for hit in hits)


def test_search_never_crosses_corpora(sample_corpus, team, tmp_path) -> None:
    other = corpus_create(team=team, name="Elsewhere")
    note = tmp_path / "other.md"
    note.write_text("Sparse Adapter Tuning best Dev F1 ensemble memory warmup.")
    document, _ = document_upload(corpus=other, file=note)
    document_ingest(document_id=document.pk)

    for mode in ("vector", "keyword", "hybrid"):
        hits = chunks_search(corpus=sample_corpus, query="Sparse Adapter Tuning best Dev F1", k=20, mode=mode)
        assert document.pk not in {hit.document_id for hit in hits}
        assert {hit.document_id for hit in chunks_search(corpus=other, query="SAT", k=5, mode=mode)} <= {document.pk}


def test_query_vector_of_wrong_dimension_is_refused(sample_corpus) -> None:
    with pytest.raises(ValueError, match="3 dimensions"):
        chunks_search(corpus=sample_corpus, query="x", mode="vector", query_vector=[0.1, 0.2, 0.3])


def test_unknown_mode_is_refused(sample_corpus) -> None:
    with pytest.raises(ValueError, match="unknown search mode"):
        chunks_search(corpus=sample_corpus, query="x", mode="fuzzy")


def test_source_type_filter_restricts_every_mode(sample_corpus) -> None:
    blog = _document(sample_corpus, "sat_blog.html")

    for mode in ("vector", "keyword", "hybrid"):
        hits = chunks_search(
            corpus=sample_corpus, query="SAT memory learning rate", k=10, mode=mode, source_types=["html"]
        )
        assert hits and {hit.document_id for hit in hits} == {blog.pk}, mode
        # Both filters at once: only documents that pass both.
        assert (
            chunks_search(corpus=sample_corpus, query="SAT", mode=mode, source_types=["pdf"], document_ids=[blog.pk])
            == []
        )
    assert chunks_search(corpus=sample_corpus, query="SAT", source_types=["csv"]) == []


def test_keyword_ranks_chunks_with_two_query_terms_above_one_term_repeated(sample_corpus, tmp_path) -> None:
    for name, text in (
        ("one.md", "Okapi notes. " + "The okapi okapi okapi okapi okapi okapi sleeps. " * 3),
        ("two.md", "Giraffe notes. An okapi is a relative of the giraffe, and it lives in a forest."),
    ):
        (tmp_path / name).write_text(text + "\n")
        document, _ = document_upload(corpus=sample_corpus, file=tmp_path / name)
        document_ingest(document_id=document.pk)

    hits = chunks_search(corpus=sample_corpus, query="okapi giraffe", mode="keyword", k=5)

    assert [hit.text.split(".")[0] for hit in hits[:2]] == ["Giraffe notes", "Okapi notes"]
    assert hits[0].score > 0 and hits[1].score > 0


def test_keyword_query_with_quotes_and_backslashes_is_searched_not_refused(sample_corpus) -> None:
    hits = chunks_search(corpus=sample_corpus, query="SAT's memory \\ 'warmup' \\\\ it''s", mode="keyword", k=3)

    assert hits and all(hit.keyword_rank == hit.rank for hit in hits)
    assert chunks_search(corpus=sample_corpus, query="the of and", mode="keyword") == []  # stop words only


def test_hnsw_candidate_list_grows_with_the_rows_asked_for_and_the_corpus() -> None:
    assert hnsw_ef_search(limit=15, chunks=50_000) == 200
    assert hnsw_ef_search(limit=100, chunks=50_000) == 500
    assert hnsw_ef_search(limit=15, chunks=1_000_000) == 600
    assert hnsw_ef_search(limit=15, chunks=500_000) == 300
    assert hnsw_ef_search(limit=10_000, chunks=50_000) == hnsw_ef_search(limit=15, chunks=10**7) == 1000
    # A filter passing a fifth of the corpus: five times the list (up to pgvector's ceiling).
    assert hnsw_ef_search(limit=15, chunks=100_000, filtered=20_000) == 1000
    assert hnsw_ef_search(limit=15, chunks=100_000, filtered=50_000) == 400


def test_query_embedding_is_computed_once_per_query(sample_corpus) -> None:
    before = _cached_embedding.cache_info()
    first = chunks_search(corpus=sample_corpus, query="GPU memory of an unusual query 31337", mode="vector", k=3)
    second = chunks_search(corpus=sample_corpus, query="GPU memory of an unusual query 31337", mode="vector", k=3)
    after = _cached_embedding.cache_info()

    assert [hit.chunk_id for hit in first] == [hit.chunk_id for hit in second]
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_hybrid_outside_a_transaction_runs_the_keyword_half_on_another_connection(sample_corpus) -> None:
    query = "How much GPU memory does SAT save with a warmup of 500 steps?"
    with CaptureQueriesContext(connection) as own:
        concurrent = chunks_search(corpus=sample_corpus, query=query, k=8)
    # Inside a transaction the keyword half stays on this connection (others cannot see
    # uncommitted rows); the answer must be the same.
    with transaction.atomic(), CaptureQueriesContext(connection) as inside:
        sequential = chunks_search(corpus=sample_corpus, query=query, k=8)

    assert [(h.chunk_id, h.ranks) for h in concurrent] == [(h.chunk_id, h.ranks) for h in sequential]
    assert any(h.keyword_rank for h in concurrent)
    assert not any("ts_rank" in q["sql"] for q in own.captured_queries)
    assert any("ts_rank" in q["sql"] for q in inside.captured_queries)


def _okapi_corpus(team, tmp_path, settings, fake_openai) -> tuple[Corpus, Document]:
    """A corpus embedded through the fake OpenAI server, with one note about the okapi."""
    settings.LLM_BASE_URL = fake_openai.base_url
    corpus = corpus_create(team=team, name="Hosted", embedding_model="openai:fake-embedding")
    note = tmp_path / "okapi.md"
    note.write_text("Okapi notes. The okapi lives in the Ituri rainforest and eats leaves.\n")
    document, _ = document_upload(corpus=corpus, file=note)
    document_ingest(document_id=document.pk)
    return corpus, document


@pytest.mark.django_db(transaction=True)
def test_hybrid_sends_the_keyword_half_before_embedding_the_query(team, media_root, tmp_path, settings, fake_openai):
    corpus, document = _okapi_corpus(team, tmp_path, settings, fake_openai)
    fake_openai.set_latency(300)
    fake_openai.clear_requests()

    hits = chunks_search(corpus=corpus, query="Where does the okapi live? (a question not embedded before)", k=3)

    (embedding_request,) = fake_openai.requests_to("/embeddings")
    search_backend = _search_connection().connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT query_start, query FROM pg_stat_activity WHERE pid = %s", [search_backend])
        started, sql = cursor.fetchone()
    # The keyword half needs no embedding: it was already running on the second
    # connection while the embedding request (300 ms) was being answered. (Compared with
    # the request's arrival, a busy machine can start the backend a few ms after it.)
    assert sql.strip().startswith("WITH terms AS")  # the keyword half (its text is cut at 1 kB)
    assert started.timestamp() < embedding_request.timestamp + 0.3 / 2
    assert hits[0].document_id == document.pk and hits[0].keyword_rank == 1 and hits[0].vector_rank == 1


def _prepared_executions() -> int:
    """Executions of prepared keyword statements on this thread's search connection."""
    with _search_connection().cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements"
            " WHERE statement LIKE '%%ts_rank%%'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_keyword_half_is_prepared_on_the_search_connection_and_ranks_as_unprepared(sample_corpus, settings) -> None:
    queries = ["mask warmup of 500 steps", "Which system has the best Dev F1?", "GPU memory of SAT"]
    executions = _prepared_executions

    before = executions()
    prepared = [[(h.chunk_id, h.ranks) for h in chunks_search(corpus=sample_corpus, query=q, k=8)] for q in queries]
    assert executions() - before == len(queries)
    settings.SEARCH_PREPARED_STATEMENTS = False
    plain = [[(h.chunk_id, h.ranks) for h in chunks_search(corpus=sample_corpus, query=q, k=8)] for q in queries]

    assert executions() - before == len(queries)
    assert prepared == plain and all(any("keyword" in ranks for _, ranks in hits) for hits in prepared)


@pytest.mark.django_db(transaction=True)
def test_keyword_half_of_a_filtered_search_is_planned_for_its_documents(sample_corpus) -> None:
    # A plan prepared for unknown documents walks the document index and tests each of
    # their chunks against the query; planned for the documents given, it asks the
    # full-text index and intersects.
    blog = _document(sample_corpus, "sat_blog.html")
    chunks_search(corpus=sample_corpus, query="GPU memory of SAT", k=5)  # the connection is open
    before = _prepared_executions()

    hits = chunks_search(corpus=sample_corpus, query="SAT memory learning rate", k=5, document_ids=[blog.pk])

    assert _prepared_executions() == before
    assert hits and {hit.document_id for hit in hits} == {blog.pk} and any(hit.keyword_rank for hit in hits)


@pytest.mark.parametrize(
    "query", ["what learning rate should I use for the warmup?", "GPU memory of SAT", "best Dev F1 of the ensemble"]
)
def test_keyword_candidates_are_the_ts_rank_ranking_of_every_match(sample_corpus, query) -> None:
    # The tiers (two or more terms first, then one) are an order ts_rank over all matches
    # already keeps, as it adds up the matched terms; so, below the tiers' caps, the
    # candidates are exactly the best of every chunk matching any term.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, ts_rank(search_vector, q) AS score FROM corpora_chunk,"
            " to_tsquery('simple', array_to_string(tsvector_to_array(to_tsvector('english', %s)), ' | ')) AS q"
            " WHERE corpus_id = %s AND search_vector @@ q ORDER BY score DESC, id LIMIT 20",
            [query, sample_corpus.pk],
        )
        every_match = cursor.fetchall()

    rows = _keyword_rows(corpus=sample_corpus, query=query, limit=20, document_ids=None)

    assert len(every_match) >= 10
    assert [row[0] for row in rows] == [row[0] for row in every_match]
    assert [row[5] for row in rows] == pytest.approx([row[1] for row in every_match])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("prepared", [True, False])
def test_keyword_rows_read_off_the_search_connection_are_the_rows_a_cursor_reads(
    sample_corpus, settings, prepared
) -> None:
    # The search connection's rows are loaded straight from libpq's result: the same
    # values and types as Django's cursor gives (the locator as JSON text), in order.
    settings.SEARCH_PREPARED_STATEMENTS = prepared
    for query in ("Which system has the best Dev F1?", "GPU memory of SAT", "mask warmup of 500 steps"):
        sql, params = _keyword_query(corpus=sample_corpus, query=query, limit=20, document_ids=None)
        with _alongside(sql, params) as rows:
            alongside = rows()

        through_cursor = _rows(sql, params)

        assert len(alongside) >= 5
        assert alongside == through_cursor
        assert [tuple(map(type, row)) for row in alongside] == [(int, int, str, str, str, float)] * len(alongside)
        assert any(row[4].startswith('{"') for row in alongside)  # table rows carry a locator


@pytest.mark.django_db(transaction=True)
def test_a_search_that_fails_after_sending_its_keyword_half_leaves_the_connection_usable(
    team, media_root, tmp_path, settings, fake_openai
) -> None:
    corpus, document = _okapi_corpus(team, tmp_path, settings, fake_openai)
    fake_openai.script(["400"])  # the query's embedding fails after the keyword half went out

    with pytest.raises(Exception):  # noqa: B017 - whichever error the embedder raises
        chunks_search(corpus=corpus, query="Where does the okapi live, first try?", k=3)
    hits = chunks_search(corpus=corpus, query="Where does the okapi live, second try?", k=3)

    assert hits[0].document_id == document.pk and hits[0].keyword_rank == 1 and hits[0].vector_rank == 1
    assert fake_openai.requests_to("/embeddings")[-2].behaviour == "400"
