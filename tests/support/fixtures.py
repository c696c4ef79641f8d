"""Pytest fixtures (a plugin module): register with ``pytest_plugins = ["tests.support.fixtures"]``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_openai import FakeOpenAIServer


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    """A fresh fake OpenAI-compatible server on 127.0.0.1 for one test.

    ``.base_url`` ends in ``/v1``; ``.requests``, ``.script([...])``, ``.set_responder(fn)``,
    ``.set_latency(ms)``, ``.unsupported_formats`` (a set) are the knobs.
    """
    server = FakeOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()
