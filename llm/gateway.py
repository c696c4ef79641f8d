"""The one module that talks to OpenAI-compatible endpoints (the only importer of ``openai``).

Retries are done here, not by the ``openai`` client (``max_retries=0``), so that every
attempt is counted and the policy is the same for chat and embeddings: 408, 409, 429,
5xx, timeouts, connection errors and malformed bodies are retried with exponential
backoff and full jitter, honouring ``Retry-After`` up to a cap; other 4xx fail at once.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import openai

from llm.types import ChatResult, LLMConfig, Provider, ProviderError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Backoff: delay = uniform(0, min(MAX, BASE * 2**retry)); Retry-After overrides but is
# capped at RETRY_MAX_DELAY too, so one misbehaving endpoint cannot stall a worker.
RETRY_BASE_DELAY = 0.5
RETRY_MAX_DELAY = 20.0
EMBED_BATCH_SIZE = 256

RESPONSE_FORMAT_MODES = ("json_schema", "json_object", "none")
RETRYABLE_STATUS = frozenset({408, 409, 429})
# Status codes with which endpoints refuse a response_format they do not support.
FORMAT_REJECTION_STATUS = frozenset({400, 422})

# Process-level memory of which structured-output mode worked per (base_url, model).
_format_cache: dict[tuple[str, str], str] = {}
_format_cache_lock = threading.Lock()

# Keyed by pid too: a client (and its connection pool) must not cross a fork into a
# prefork Celery worker.
_clients: dict[tuple[int, str, str, float], openai.OpenAI] = {}
_clients_lock = threading.Lock()

# Indirection so tests can observe the delays without sleeping for real.
_sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class _Policy:
    max_retries: int
    base_delay: float
    max_delay: float


class _MalformedResponse(Exception):
    """The endpoint answered 2xx with a body we cannot use."""


def response_format_cache_clear() -> None:
    """Forget which structured-output modes worked (tests, or after reconfiguring an endpoint)."""
    with _format_cache_lock:
        _format_cache.clear()


def response_format_cached(*, base_url: str, model: str) -> str | None:
    with _format_cache_lock:
        return _format_cache.get((base_url, model))


def _client(config: LLMConfig) -> openai.OpenAI:
    key = (os.getpid(), config.base_url, config.api_key, float(config.timeout))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = openai.OpenAI(
                base_url=config.base_url or None,
                api_key=config.api_key or "not-needed",
                timeout=config.timeout,
                max_retries=0,
            )
            _clients[key] = client
        return client


def _retry_after_seconds(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _classify(exc: BaseException) -> tuple[bool, int | None, str]:
    """Return (transient, status_code, readable message) for an exception from a call."""
    if isinstance(exc, openai.APITimeoutError):
        return True, None, "request timed out"
    if isinstance(exc, openai.APIConnectionError):
        return True, None, f"connection error: {exc}"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        transient = status in RETRYABLE_STATUS or status >= 500
        return transient, status, _status_message(exc)
    if isinstance(exc, openai.APIResponseValidationError | _MalformedResponse | ValueError):
        # json.JSONDecodeError is a ValueError: a 2xx with a body that is not JSON.
        return True, getattr(exc, "status_code", None), f"malformed response: {exc}"
    return False, None, f"{type(exc).__name__}: {exc}"


def _status_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        detail = body.get("message") or body.get("error") or body
        if isinstance(detail, dict):
            detail = detail.get("message") or detail
        return str(detail)[:500]
    return str(exc.message)[:500]


def _with_retries(call: Callable[[], T], *, policy: _Policy, what: str) -> tuple[T, int]:
    """Run ``call`` under the retry policy; return its value and the attempts it took."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return call(), attempt
        except (openai.OpenAIError, _MalformedResponse, ValueError) as exc:
            transient, status, message = _classify(exc)
            if not transient:
                raise ProviderError(
                    f"{what} failed: {message}",
                    transient=False,
                    status_code=status,
                    attempts=attempt,
                ) from exc
            if attempt > policy.max_retries:
                raise ProviderError(
                    f"{what} failed after {attempt} attempts: {message}",
                    transient=True,
                    status_code=status,
                    attempts=attempt,
                ) from exc
            delay = _backoff_delay(exc, retry=attempt - 1, policy=policy)
            logger.warning("%s attempt %d failed (%s); retrying in %.2fs", what, attempt, message, delay)
            _sleep(delay)


def _backoff_delay(exc: BaseException, *, retry: int, policy: _Policy) -> float:
    retry_after = _retry_after_seconds(exc)
    if retry_after is not None:
        return min(retry_after, policy.max_delay)
    ceiling = min(policy.max_delay, policy.base_delay * (2**retry))
    return random.uniform(0.0, ceiling)


def _policy(config: LLMConfig, base_delay: float | None, max_delay: float | None) -> _Policy:
    return _Policy(
        max_retries=max(0, config.max_retries),
        base_delay=RETRY_BASE_DELAY if base_delay is None else base_delay,
        max_delay=RETRY_MAX_DELAY if max_delay is None else max_delay,
    )


def _require_openai(config: LLMConfig) -> None:
    if config.provider != Provider.OPENAI:
        raise ProviderError(f"the gateway serves the 'openai' provider, not {config.provider!r}", transient=False)
    if not config.model:
        raise ProviderError("no model configured", transient=False)


def _response_format(mode: str, schema: dict[str, Any], name: str) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def _chat_once(client: openai.OpenAI, params: dict[str, Any]) -> tuple[str, int | None, int | None]:
    completion = client.chat.completions.create(**params)
    if isinstance(completion, str) or not getattr(completion, "choices", None):
        raise _MalformedResponse("no choices in the completion body")
    message = getattr(completion.choices[0], "message", None)
    if message is None:
        raise _MalformedResponse("no message in the first choice")
    text = message.content
    if text is not None and not isinstance(text, str):
        raise _MalformedResponse("message content is not a string")
    usage = getattr(completion, "usage", None)
    prompt_tokens = getattr(usage, "prompt_tokens", None) if usage is not None else None
    completion_tokens = getattr(usage, "completion_tokens", None) if usage is not None else None
    return text or "", prompt_tokens, completion_tokens


def chat_complete(
    *,
    config: LLMConfig,
    messages: list[dict[str, Any]],
    temperature: float = 0.0,
    max_tokens: int | None = None,
    json_schema: dict[str, Any] | None = None,
    json_schema_name: str = "verdict",
    retry_base_delay: float | None = None,
    retry_max_delay: float | None = None,
) -> ChatResult:
    """One chat completion with retries and, when ``json_schema`` is given, structured output.

    ``latency_ms`` is the wall time of the whole call, retries and backoff included.
    Structured output degrades json_schema → json_object → none when the endpoint refuses
    a mode with 400/422; the mode that worked is remembered per (base_url, model). Raises
    ProviderError (``transient`` says whether a later retry may help).
    """
    _require_openai(config)
    client = _client(config)
    policy = _policy(config, retry_base_delay, retry_max_delay)
    base: dict[str, Any] = {
        "model": config.model,
        "messages": messages,
        "temperature": temperature,
    }
    if max_tokens is not None:
        base["max_tokens"] = max_tokens

    if json_schema is None:
        modes: tuple[str, ...] = ("none",)
    else:
        cached = response_format_cached(base_url=config.base_url, model=config.model)
        start = RESPONSE_FORMAT_MODES.index(cached) if cached else 0
        modes = RESPONSE_FORMAT_MODES[start:]

    attempts = 0
    started = time.monotonic()
    for index, mode in enumerate(modes):
        params = dict(base)
        response_format = _response_format(mode, json_schema or {}, json_schema_name)
        if response_format is not None:
            params["response_format"] = response_format
        try:
            (text, prompt_tokens, completion_tokens), used = _with_retries(
                lambda params=params: _chat_once(client, params),
                policy=policy,
                what="chat completion",
            )
        except ProviderError as exc:
            attempts += exc.attempts
            exc.attempts = attempts
            is_last = index == len(modes) - 1
            if is_last or exc.transient or exc.status_code not in FORMAT_REJECTION_STATUS:
                raise
            logger.info(
                "endpoint %s model %s refused response_format %s (%s); falling back",
                config.base_url,
                config.model,
                mode,
                exc.message,
            )
            continue
        attempts += used
        if json_schema is not None:
            with _format_cache_lock:
                _format_cache[(config.base_url, config.model)] = mode
        return ChatResult(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=int(round((time.monotonic() - started) * 1000)),
            provider=config.provider,
            model=config.model,
            attempts=attempts,
            response_format_used=mode,
        )
    raise AssertionError("unreachable: the last mode either returns or raises")


def _embed_once(client: openai.OpenAI, model: str, texts: list[str]) -> list[list[float]]:
    response = client.embeddings.create(model=model, input=texts, encoding_format="float")
    data = getattr(response, "data", None)
    if isinstance(response, str) or not data or len(data) != len(texts):
        raise _MalformedResponse(f"expected {len(texts)} embeddings")
    ordered = sorted(data, key=lambda item: item.index)
    vectors: list[list[float]] = []
    for item in ordered:
        vector = item.embedding
        if not isinstance(vector, list) or not vector:
            raise _MalformedResponse("embedding is not a non-empty list of floats")
        vectors.append([float(x) for x in vector])
    return vectors


def embed_openai(
    *,
    config: LLMConfig,
    texts: list[str],
    retry_base_delay: float | None = None,
    retry_max_delay: float | None = None,
) -> list[list[float]]:
    """Embed ``texts`` with the endpoint's embeddings API (batched, same retry policy)."""
    _require_openai(config)
    if not texts:
        return []
    client = _client(config)
    policy = _policy(config, retry_base_delay, retry_max_delay)
    vectors: list[list[float]] = []
    for start in range(0, len(texts), EMBED_BATCH_SIZE):
        batch = texts[start : start + EMBED_BATCH_SIZE]
        batch_vectors, _ = _with_retries(
            lambda batch=batch: _embed_once(client, config.model, batch),
            policy=policy,
            what="embedding",
        )
        vectors.extend(batch_vectors)
    return vectors


REWRITE_INSTRUCTION = (
    "Rewrite the user's follow-up question as a standalone search query that can be "
    "understood without the conversation. Replace pronouns and short references with the "
    "names they refer to. Reply with the query only, no explanation."
)


def rewrite_followup(
    *,
    config: LLMConfig,
    history: list[tuple[str, str]],
    question: str,
    retry_base_delay: float | None = None,
    retry_max_delay: float | None = None,
) -> str:
    """Ask the model for a standalone version of a follow-up question.

    Returns ``question`` unchanged when there is no history or the reply is empty.
    """
    return rewrite_followup_call(
        config=config,
        history=history,
        question=question,
        retry_base_delay=retry_base_delay,
        retry_max_delay=retry_max_delay,
    ).text


def rewrite_followup_call(
    *,
    config: LLMConfig,
    history: list[tuple[str, str]],
    question: str,
    retry_base_delay: float | None = None,
    retry_max_delay: float | None = None,
) -> ChatResult:
    """``rewrite_followup`` with what the call cost (attempts, latency, tokens); the
    rewritten query is the result's ``text``. No history: no call, ``attempts`` 0."""
    if not history:
        return ChatResult(
            text=question,
            prompt_tokens=None,
            completion_tokens=None,
            latency_ms=0,
            provider=config.provider,
            model=config.model,
            attempts=0,
            response_format_used="none",
        )
    turns = "\n".join(f"Q: {q}\nA: {a}" for q, a in history)
    messages = [
        {"role": "system", "content": REWRITE_INSTRUCTION},
        {
            "role": "user",
            "content": f"Conversation:\n{turns}\n\nFollow-up question: {question}\n\nStandalone query:",
        },
    ]
    result = chat_complete(
        config=config,
        messages=messages,
        temperature=0.0,
        max_tokens=128,
        retry_base_delay=retry_base_delay,
        retry_max_delay=retry_max_delay,
    )
    rewritten = result.text.strip().strip('"').strip()
    if rewritten.lower().startswith("standalone query:"):
        rewritten = rewritten.split(":", 1)[1].strip()
    return dataclasses.replace(result, text=rewritten or question)


def parse_json_reply(text: str) -> Any:
    """Parse a JSON reply, tolerating a Markdown code fence around it (json_object/none modes)."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        if stripped.rstrip().endswith("```"):
            stripped = stripped.rstrip()[:-3]
    return json.loads(stripped)
