"""The gateway against the fake OpenAI server: retries, errors, structured output, embeddings."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from llm import gateway
from llm.types import LLMConfig, ProviderError
from tests.support.fake_openai import FakeOpenAIServer, count_tokens
from tests.support.fixtures import fake_openai

# Registered explicitly until tests/conftest.py loads tests.support.fixtures as a plugin.
_PLUGIN_FIXTURES = (fake_openai,)

FAST = {"retry_base_delay": 0.001, "retry_max_delay": 0.05}
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Record the backoff delays the gateway asks for (and sleep them: they are tiny)."""
    recorded: list[float] = []

    def record(seconds: float) -> None:
        recorded.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(gateway, "_sleep", record)
    yield recorded


@pytest.fixture
def clean_format_cache() -> Iterator[None]:
    gateway.response_format_cache_clear()
    yield
    gateway.response_format_cache_clear()


def config_for(server: FakeOpenAIServer, **overrides: Any) -> LLMConfig:
    values: dict[str, Any] = {
        "provider": "openai",
        "base_url": server.base_url,
        "api_key": "test-key",
        "model": "fake-model",
        "timeout": 2.0,
        "max_retries": 4,
    }
    values.update(overrides)
    return LLMConfig(**values)


MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {
        "role": "user",
        "content": "Context:\n[PDF: sat.pdf p.3] SAT reaches 91.2.\nCurrent Question:\nWhat does SAT reach?",
    },
]


def test_completion_returns_text_tokens_and_sends_exact_messages(fake_openai: FakeOpenAIServer) -> None:
    result = gateway.chat_complete(config=config_for(fake_openai), messages=MESSAGES, max_tokens=50, **FAST)

    assert result.text == "Fake answer to: What does SAT reach?"
    assert result.prompt_tokens is not None and result.prompt_tokens > 0
    assert result.completion_tokens == count_tokens(result.text)
    assert result.attempts == 1
    assert result.provider == "openai"
    assert result.model == "fake-model"
    assert result.response_format_used == "none"
    assert result.latency_ms >= 0
    [request] = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.json["messages"] == MESSAGES
    assert request.json["model"] == "fake-model"
    assert request.json["temperature"] == 0.0
    assert request.json["max_tokens"] == 50
    assert "response_format" not in request.json
    assert request.headers["authorization"] == "Bearer test-key"


def test_latency_is_measured(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.set_latency(120)
    result = gateway.chat_complete(config=config_for(fake_openai), messages=MESSAGES, **FAST)
    assert result.latency_ms >= 120


def test_missing_api_key_still_sends_a_placeholder(fake_openai: FakeOpenAIServer) -> None:
    gateway.chat_complete(config=config_for(fake_openai, api_key=""), messages=MESSAGES, **FAST)
    assert fake_openai.requests[0].headers["authorization"] == "Bearer not-needed"


def test_rate_limited_twice_then_success_counts_three_attempts_and_caps_retry_after(
    fake_openai: FakeOpenAIServer, sleeps: list[float]
) -> None:
    fake_openai.script(["429:30", "429:30"])

    result = gateway.chat_complete(config=config_for(fake_openai), messages=MESSAGES, **FAST)

    assert result.attempts == 3
    assert result.text.startswith("Fake answer")
    # Retry-After: 30 is honoured as a floor but capped at retry_max_delay.
    assert sleeps == [0.05, 0.05]
    assert len(fake_openai.requests) == 3


def test_retry_after_below_the_cap_is_used_as_given(fake_openai: FakeOpenAIServer, sleeps: list[float]) -> None:
    fake_openai.script(["429:0.02"])
    result = gateway.chat_complete(config=config_for(fake_openai), messages=MESSAGES, **FAST)
    assert result.attempts == 2
    assert sleeps == [0.02]


def test_server_error_always_raises_transient_after_max_retries_plus_one(
    fake_openai: FakeOpenAIServer, sleeps: list[float]
) -> None:
    fake_openai.script(["500"] * 10)

    with pytest.raises(ProviderError) as caught:
        gateway.chat_complete(config=config_for(fake_openai, max_retries=3), messages=MESSAGES, **FAST)

    assert caught.value.transient is True
    assert caught.value.status_code == 500
    assert caught.value.attempts == 4
    assert "500" in str(caught.value)
    assert len(fake_openai.requests) == 4
    assert len(sleeps) == 3
    assert all(0.0 <= s <= 0.05 for s in sleeps)


def test_backoff_ceiling_grows_exponentially(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    ceilings: list[float] = []
    monkeypatch.setattr(gateway.random, "uniform", lambda low, high: ceilings.append(high) or high)
    monkeypatch.setattr(gateway, "_sleep", lambda seconds: None)
    fake_openai.script(["503"] * 4)

    with pytest.raises(ProviderError):
        gateway.chat_complete(
            config=config_for(fake_openai, max_retries=3),
            messages=MESSAGES,
            retry_base_delay=0.01,
            retry_max_delay=0.03,
        )

    assert ceilings == [0.01, 0.02, 0.03]


def test_timeout_is_retried_and_then_succeeds(fake_openai: FakeOpenAIServer, sleeps: list[float]) -> None:
    fake_openai.script(["timeout:2"])
    started = time.monotonic()

    result = gateway.chat_complete(config=config_for(fake_openai, timeout=0.3), messages=MESSAGES, **FAST)

    assert result.attempts == 2
    assert time.monotonic() - started < 1.5  # did not wait for the slow reply


def test_persistent_timeouts_raise_transient_error(fake_openai: FakeOpenAIServer, sleeps: list[float]) -> None:
    fake_openai.script(["timeout:2"] * 3)

    with pytest.raises(ProviderError) as caught:
        gateway.chat_complete(config=config_for(fake_openai, timeout=0.2, max_retries=1), messages=MESSAGES, **FAST)

    assert caught.value.transient is True
    assert caught.value.attempts == 2
    assert "timed out" in str(caught.value)


def test_connection_refused_is_transient(sleeps: list[float]) -> None:
    server = FakeOpenAIServer()
    base_url = server.base_url
    server.stop()  # never started serving: the port is closed again
    config = LLMConfig(provider="openai", base_url=base_url, model="m", timeout=1.0, max_retries=1)

    with pytest.raises(ProviderError) as caught:
        gateway.chat_complete(config=config, messages=MESSAGES, **FAST)

    assert caught.value.transient is True
    assert caught.value.attempts == 2


def test_malformed_body_is_retried_then_succeeds(fake_openai: FakeOpenAIServer, sleeps: list[float]) -> None:
    fake_openai.script(["malformed"])
    result = gateway.chat_complete(config=config_for(fake_openai), messages=MESSAGES, **FAST)
    assert result.attempts == 2
    assert result.text.startswith("Fake answer")


def test_malformed_body_every_time_raises_transient_error(fake_openai: FakeOpenAIServer, sleeps: list[float]) -> None:
    fake_openai.script(["malformed"] * 5)

    with pytest.raises(ProviderError) as caught:
        gateway.chat_complete(config=config_for(fake_openai, max_retries=2), messages=MESSAGES, **FAST)

    assert caught.value.transient is True
    assert caught.value.attempts == 3
    assert "malformed" in str(caught.value)


def test_bad_request_is_not_retried(fake_openai: FakeOpenAIServer, sleeps: list[float]) -> None:
    fake_openai.script(["400"])

    with pytest.raises(ProviderError) as caught:
        gateway.chat_complete(config=config_for(fake_openai), messages=MESSAGES, **FAST)

    assert caught.value.transient is False
    assert caught.value.status_code == 400
    assert caught.value.attempts == 1
    assert len(fake_openai.requests) == 1
    assert sleeps == []


def test_auth_error_is_not_retried(fake_openai: FakeOpenAIServer, sleeps: list[float]) -> None:
    fake_openai.script(["401"])
    with pytest.raises(ProviderError) as caught:
        gateway.chat_complete(config=config_for(fake_openai), messages=MESSAGES, **FAST)
    assert caught.value.transient is False
    assert caught.value.status_code == 401
    assert len(fake_openai.requests) == 1


def test_offline_config_is_refused_by_the_gateway() -> None:
    with pytest.raises(ProviderError) as caught:
        gateway.chat_complete(config=LLMConfig(provider="offline"), messages=MESSAGES)
    assert caught.value.transient is False


def test_json_schema_is_requested_strictly(fake_openai: FakeOpenAIServer, clean_format_cache: None) -> None:
    fake_openai.set_responder(lambda request: json.dumps({"answer": "yes"}))

    result = gateway.chat_complete(
        config=config_for(fake_openai), messages=MESSAGES, json_schema=SCHEMA, json_schema_name="answer", **FAST
    )

    assert result.response_format_used == "json_schema"
    assert gateway.parse_json_reply(result.text) == {"answer": "yes"}
    sent = fake_openai.requests[0].json["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}}


def test_rejected_json_schema_falls_back_to_json_object_and_is_remembered(
    fake_openai: FakeOpenAIServer, clean_format_cache: None
) -> None:
    fake_openai.unsupported_formats = {"json_schema"}
    config = config_for(fake_openai)

    first = gateway.chat_complete(config=config, messages=MESSAGES, json_schema=SCHEMA, **FAST)

    assert first.response_format_used == "json_object"
    assert first.attempts == 2
    assert [r.json["response_format"]["type"] for r in fake_openai.requests] == ["json_schema", "json_object"]

    fake_openai.clear_requests()
    second = gateway.chat_complete(config=config, messages=MESSAGES, json_schema=SCHEMA, **FAST)

    assert second.response_format_used == "json_object"
    assert second.attempts == 1
    assert [r.json["response_format"]["type"] for r in fake_openai.requests] == ["json_object"]
    assert gateway.response_format_cached(base_url=config.base_url, model=config.model) == "json_object"


def test_endpoint_without_response_format_support_falls_back_to_none(
    fake_openai: FakeOpenAIServer, clean_format_cache: None
) -> None:
    fake_openai.unsupported_formats = {"json_schema", "json_object"}

    result = gateway.chat_complete(config=config_for(fake_openai), messages=MESSAGES, json_schema=SCHEMA, **FAST)

    assert result.response_format_used == "none"
    assert result.attempts == 3
    assert "response_format" not in fake_openai.requests[-1].json


def test_format_memory_is_per_model(fake_openai: FakeOpenAIServer, clean_format_cache: None) -> None:
    fake_openai.unsupported_formats = {"json_schema"}
    gateway.chat_complete(config=config_for(fake_openai), messages=MESSAGES, json_schema=SCHEMA, **FAST)
    fake_openai.unsupported_formats = set()

    other = gateway.chat_complete(
        config=config_for(fake_openai, model="other-model"), messages=MESSAGES, json_schema=SCHEMA, **FAST
    )

    assert other.response_format_used == "json_schema"


def test_transient_error_during_structured_call_is_retried_not_downgraded(
    fake_openai: FakeOpenAIServer, clean_format_cache: None, sleeps: list[float]
) -> None:
    fake_openai.script(["500"])
    result = gateway.chat_complete(config=config_for(fake_openai), messages=MESSAGES, json_schema=SCHEMA, **FAST)
    assert result.response_format_used == "json_schema"
    assert result.attempts == 2


def test_embeddings_come_back_in_input_order(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.embedding_dim = 16
    config = config_for(fake_openai, model="fake-embedding")

    vectors = gateway.embed_openai(config=config, texts=["alpha", "beta", "alpha"])

    assert len(vectors) == 3
    assert all(len(v) == 16 for v in vectors)
    assert vectors[0] == pytest.approx(vectors[2])
    assert vectors[0] != pytest.approx(vectors[1])
    [request] = fake_openai.requests
    assert request.path == "/v1/embeddings"
    assert request.json["input"] == ["alpha", "beta", "alpha"]


def test_embeddings_retry_on_rate_limit(fake_openai: FakeOpenAIServer, sleeps: list[float]) -> None:
    fake_openai.script(["429"])
    vectors = gateway.embed_openai(config=config_for(fake_openai, model="fake-embedding"), texts=["x"])
    assert len(vectors) == 1
    assert len(fake_openai.requests) == 2


def test_embeddings_are_batched(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway, "EMBED_BATCH_SIZE", 2)
    vectors = gateway.embed_openai(config=config_for(fake_openai, model="fake-embedding"), texts=["a", "b", "c"])
    assert len(vectors) == 3
    assert [r.json["input"] for r in fake_openai.requests] == [["a", "b"], ["c"]]


def test_rewrite_followup_uses_the_history(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.set_responder(lambda request: '  "How does LoRA compare to full fine-tuning?"\n')
    history = [("What is LoRA?", "LoRA freezes the pretrained weights.")]

    rewritten = gateway.rewrite_followup(
        config=config_for(fake_openai), history=history, question="How does it compare to full fine-tuning?"
    )

    assert rewritten == "How does LoRA compare to full fine-tuning?"
    prompt = fake_openai.requests[0].json["messages"][-1]["content"]
    assert "Q: What is LoRA?" in prompt
    assert "A: LoRA freezes the pretrained weights." in prompt
    assert "How does it compare to full fine-tuning?" in prompt


def test_rewrite_followup_keeps_the_question_on_empty_reply(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.set_responder(lambda request: "   ")
    question = "How does it compare?"
    assert (
        gateway.rewrite_followup(
            config=config_for(fake_openai), history=[("What is LoRA?", "A method.")], question=question
        )
        == question
    )


def test_rewrite_followup_without_history_makes_no_call(fake_openai: FakeOpenAIServer) -> None:
    assert (
        gateway.rewrite_followup(config=config_for(fake_openai), history=[], question="What is LoRA?")
        == "What is LoRA?"
    )
    assert fake_openai.requests == []
