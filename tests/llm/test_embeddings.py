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


def test_queries_on_onnx_runtime_get_the_pytorch_vectors() -> None:
    """Small requests run on the ONNX export of the same model: padding, truncation and
    pooling must give the vectors PyTorch gives, or queries would miss ingested chunks."""
    from llm import onnx_encoder
    from llm.embeddings import _load_local_model

    embedder = get_embedder(name=LOCAL_MODEL_NAME)
    encoder = onnx_encoder.load(model=_load_local_model(), threads=1)
    assert encoder is not None, "onnxruntime is a requirement: queries should not fall back to PyTorch"
    texts = [
        "What learning rate does it use?",
        "SAT",
        "Sparse Adapter Tuning updates 0.8% of the weights of a pretrained model. " * 40,  # over 256 tokens
    ]
    onnx_vectors = encoder.encode(texts)
    torch_vectors = embedder._encode(texts)
    assert onnx_vectors.shape == (3, 384)
    for got, expected in zip(onnx_vectors.tolist(), torch_vectors, strict=True):
        assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) < 1e-5
    # The micro-batched path (queries) returns the same vectors.
    assert max(abs(a - b) for a, b in zip(embedder.embed(texts[:1])[0], torch_vectors[0], strict=True)) < 1e-5


def test_onnx_export_is_made_once_and_reused(tmp_path, monkeypatch) -> None:
    from llm import onnx_encoder
    from llm.embeddings import _load_local_model

    monkeypatch.setenv("EMBEDDING_CACHE_DIR", str(tmp_path))
    first = onnx_encoder._exported(model=_load_local_model())
    assert first.parent == tmp_path and first.stat().st_size > 10_000_000
    made = first.stat().st_mtime_ns
    assert onnx_encoder._exported(model=_load_local_model()) == first
    assert first.stat().st_mtime_ns == made
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary file left behind


def test_embedding_onnx_0_keeps_queries_on_pytorch(monkeypatch) -> None:
    from llm import onnx_encoder
    from llm.embeddings import _load_local_model

    monkeypatch.setenv("EMBEDDING_ONNX", "0")
    assert onnx_encoder.load(model=_load_local_model(), threads=1) is None
    embedder = LocalEmbedder()
    assert len(embedder.embed(["still works"])[0]) == 384


def test_document_batches_on_onnx_runtime_get_the_pytorch_vectors_in_input_order() -> None:
    """Ingestion embeds on ONNX Runtime in sub-batches sorted by length: each vector must be
    PyTorch's for the text at its own position, whatever the sorting did."""
    embedder = get_embedder(name=LOCAL_MODEL_NAME)
    texts = [f"Adapter {n} trains {'sparse ' * (n * 7 % 40)}weights." for n in range(37)]

    vectors = embedder.embed(texts)

    expected = embedder._encode(texts)
    assert len(vectors) == len(texts)
    for got, want in zip(vectors, expected, strict=True):
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) < 1e-5
