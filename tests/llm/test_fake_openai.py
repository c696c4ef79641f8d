"""The fake OpenAI server itself: standalone CLI, judge verdict mode, models and embeddings."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np

from llm import gateway
from llm.types import LLMConfig
from tests.support.fake_openai import CRITERIA, RATINGS, VERDICT_SCHEMA, FakeOpenAIServer, verdict_responder
from tests.support.fixtures import fake_openai

# Registered explicitly until tests/conftest.py loads tests.support.fixtures as a plugin.
_PLUGIN_FIXTURES = (fake_openai,)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_models_endpoint_lists_models(fake_openai: FakeOpenAIServer) -> None:
    response = httpx.get(f"{fake_openai.base_url}/models")
    assert response.status_code == 200
    assert "fake-model" in [m["id"] for m in response.json()["data"]]


def test_base64_embeddings_decode_to_the_same_vectors(fake_openai: FakeOpenAIServer) -> None:
    url = f"{fake_openai.base_url}/embeddings"
    as_floats = httpx.post(url, json={"model": "e", "input": "hello", "encoding_format": "float"}).json()
    as_base64 = httpx.post(url, json={"model": "e", "input": "hello", "encoding_format": "base64"}).json()
    encoded = as_base64["data"][0]["embedding"]
    assert isinstance(encoded, str)
    decoded = np.frombuffer(base64.b64decode(encoded), dtype="<f4")
    assert len(as_floats["data"][0]["embedding"]) == fake_openai.embedding_dim
    np.testing.assert_allclose(decoded, np.asarray(as_floats["data"][0]["embedding"], dtype=np.float32), rtol=1e-6)


def test_verdict_responder_follows_the_schema_and_is_deterministic() -> None:
    request = {"messages": [{"role": "user", "content": "Rate this answer on each criterion."}]}

    verdict = json.loads(verdict_responder(request))

    assert [v["criterion"] for v in verdict["verdicts"]] == list(CRITERIA)
    assert all(v["rating"] in RATINGS and v["rationale"] for v in verdict["verdicts"])
    assert set(verdict) == set(VERDICT_SCHEMA["required"])
    assert verdict_responder(request) == verdict_responder(request)


def test_verdict_responder_uses_the_criteria_of_a_custom_schema() -> None:
    schema = json.loads(json.dumps(VERDICT_SCHEMA))
    schema["properties"]["verdicts"]["items"]["properties"]["criterion"]["enum"] = ["Accuracy", "Tone"]
    request = {
        "messages": [{"role": "user", "content": "Judge it."}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema}},
    }

    verdict = json.loads(verdict_responder(request))

    assert [v["criterion"] for v in verdict["verdicts"]] == ["Accuracy", "Tone"]


def test_standalone_server_prints_its_url_and_answers_judge_prompts_with_json() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_openai", "--port", "0", "--latency-ms", "5", "--judge-json"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        config = LLMConfig(provider="openai", base_url=base_url, model="fake-judge", timeout=5.0)

        judged = gateway.chat_complete(
            config=config,
            messages=[{"role": "user", "content": "Question: q\nAnswer: a\nRate the answer."}],
            json_schema=VERDICT_SCHEMA,
        )
        answered = gateway.chat_complete(
            config=config, messages=[{"role": "user", "content": "Current Question:\nWhat is SAT?\nAnswer:"}]
        )
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert {v["criterion"] for v in json.loads(judged.text)["verdicts"]} == set(CRITERIA)
    assert answered.text == "Fake answer to: What is SAT?"
    assert process.returncode == 0
