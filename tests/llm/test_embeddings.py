"""Embedders: the packaged local MiniLM model (offline) and OpenAI-compatible endpoints."""

from __future__ import annotations

import math

import pytest

from llm.embeddings import (
    LOCAL_MODEL_NAME,
    Embedder,
    LocalEmbedder,
    OpenAIEmbedder,
    cosine,
    embed_query,
    get_embedder,
)
from llm.types import LLMConfig
from tests.support.fake_openai import FakeOpenAIServer
from tests.support.fixtures import fake_openai

# Registered explicitly until tests/conftest.py loads tests.support.fixtures as a plugin.
_PLUGIN_FIXTURES = (fake_openai,)


@pytest.fixture(scope="module")
def local() -> Embedder:
    return get_embedder(name=LOCAL_MODEL_NAME)


def test_local_embedder_gives_384_dim_unit_vectors(local: Embedder) -> None:
    vectors = local.embed(["LoRA adapts large language models.", "Row 3: System=BERT; Dev F1=91.8"])

    assert local.name == "local:all-MiniLM-L6-v2"
    assert local.dimension == 384
    assert len(vectors) == 2
    assert all(len(v) == 384 for v in vectors)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, abs_tol=1e-4) for v in vectors)


def test_local_embedder_ranks_paraphrases_above_unrelated_text(local: Embedder) -> None:
    query = embed_query(embedder=local, text="How accurate is the adapter method?")
    related, unrelated = local.embed(
        ["The adapter method reaches 91.2 accuracy.", "Bake the bread for forty minutes at 200 degrees."]
    )

    assert cosine(query, related) > cosine(query, unrelated) + 0.2


def test_local_embedder_is_deterministic_and_handles_empty_input(local: Embedder) -> None:
    assert local.embed([]) == []
    first = local.embed(["same text"])[0]
    second = local.embed(["same text"])[0]
    assert first == pytest.approx(second, abs=1e-6)


def test_get_embedder_returns_one_local_instance() -> None:
    assert get_embedder(name=LOCAL_MODEL_NAME) is get_embedder(name=LOCAL_MODEL_NAME)
    assert isinstance(get_embedder(name=LOCAL_MODEL_NAME), LocalEmbedder)


def test_get_embedder_rejects_unknown_names() -> None:
    with pytest.raises(ValueError):
        get_embedder(name="word2vec")
    with pytest.raises(ValueError):
        get_embedder(name="openai:text-embedding-3-small")  # no endpoint configured


def test_openai_embedder_normalises_and_uses_the_model_in_its_name(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.embedding_dim = 24
    config = LLMConfig(provider="openai", base_url=fake_openai.base_url, model="chat-model")

    embedder = get_embedder(name="openai:fake-embedding", config=config)
    vectors = embedder.embed(["alpha", "beta"])

    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.name == "openai:fake-embedding"
    assert embedder.dimension == 24
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, abs_tol=1e-6) for v in vectors)
    assert {r.json["model"] for r in fake_openai.requests} == {"fake-embedding"}


def test_openai_embedder_measures_an_unknown_dimension_once(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.embedding_dim = 12
    config = LLMConfig(provider="openai", base_url=fake_openai.base_url, model="custom-embedder")
    embedder = OpenAIEmbedder(config=config)

    assert embedder.dimension == 12
    assert embedder.dimension == 12
    assert len(fake_openai.requests) == 1


def test_concurrent_small_requests_are_batched_into_fewer_model_calls_with_the_same_vectors() -> None:
    import threading

    from llm.embeddings import MicroBatcher

    embedder = get_embedder(name="local:all-MiniLM-L6-v2")
    queries = [f"How many parameters does method {i} train?" for i in range(8)]
    expected = embedder._encode(queries)  # one direct call, no batcher
    batcher = MicroBatcher(embedder._encode, window=0.05)
    results: dict[int, list[float]] = {}
    barrier = threading.Barrier(len(queries))

    def run(i: int) -> None:
        barrier.wait()
        results[i] = batcher.embed([queries[i]])[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(queries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert batcher.calls < len(queries)
    for i, vector in results.items():
        assert cosine(vector, expected[i]) > 0.9999
