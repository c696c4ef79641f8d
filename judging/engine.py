"""The judge as a library: a rubric spec, a question with its history and context, and an
answer in; a verdict out. It knows nothing of sessions or of the database."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from judging.llm_judge import (
    VerdictParseError,
    build_judge_messages,
    judge_prompt_hash,
    parse_verdict,
    verdict_json_schema,
)
from judging.models import Judgment
from judging.offline_judge import offline_judge
from judging.rubric import RubricSpec
from judging.scoring import weighted_score
from llm import gateway
from llm.embeddings import get_embedder
from llm.types import LLMConfig, Passage, Provider, ProviderError

# A reply that cannot be parsed is asked for again this many times before it is kept raw.
PARSE_RETRIES = 2


@dataclass
class JudgeOutcome:
    status: str  # Judgment.Status value
    ratings: dict[str, tuple[str, str]] = field(default_factory=dict)
    raw_output: str = ""
    error: str = ""
    latency_ms: int = 0
    attempts: int = 0
    prompt: list[dict] = field(default_factory=list)
    prompt_hash: str = ""
    response_format: str = ""
    score: Decimal | None = None


_EMBED_CACHE: dict[str, np.ndarray] = {}
_EMBED_CACHE_MAX = 50_000
_EMBED_LOCK = threading.Lock()


def embed(texts: list[str]) -> np.ndarray:
    """Local embeddings with a per-process cache: a genuine answer and its probes share context."""
    texts = list(texts)
    with _EMBED_LOCK:
        missing = list(dict.fromkeys(t for t in texts if t not in _EMBED_CACHE))
    if missing:
        vectors = get_embedder(name="local:all-MiniLM-L6-v2").embed(missing)
        with _EMBED_LOCK:
            if len(_EMBED_CACHE) + len(missing) > _EMBED_CACHE_MAX:
                _EMBED_CACHE.clear()
            for text, vector in zip(missing, vectors, strict=True):
                _EMBED_CACHE[text] = np.asarray(vector, dtype=np.float32)
    with _EMBED_LOCK:
        found = [_EMBED_CACHE.get(t) for t in texts]
    if any(v is None for v in found):  # evicted in between: embed directly
        return np.asarray(get_embedder(name="local:all-MiniLM-L6-v2").embed(texts), dtype=np.float32)
    return np.vstack(found) if found else np.zeros((0, 384), dtype=np.float32)


def judge_once(
    *,
    spec: RubricSpec,
    config: LLMConfig,
    question: str,
    history: list[tuple[str, str]],
    context: list[Passage],
    answer: str,
    temperature: float = 0.0,
) -> JudgeOutcome:
    """Judge one answer. Never raises for provider or parse trouble: the outcome says so."""
    messages = build_judge_messages(rubric=spec, question=question, history=history, context=context, answer=answer)
    prompt_hash = judge_prompt_hash(messages)
    started = time.monotonic()
    if config.provider != Provider.OPENAI:
        verdict = offline_judge(
            rubric=spec,
            question=question,
            history=history,
            context=[p.render() for p in context],
            answer=answer,
            embed=embed,
        )
        return JudgeOutcome(
            status=Judgment.Status.OK,
            ratings=verdict.ratings,
            raw_output=verdict.raw,
            latency_ms=int((time.monotonic() - started) * 1000),
            attempts=1,
            prompt=messages,
            prompt_hash=prompt_hash,
            response_format=Provider.OFFLINE,
            score=weighted_score(ratings={k: v[0] for k, v in verdict.ratings.items()}, rubric=spec),
        )

    outcome = JudgeOutcome(status=Judgment.Status.UNPARSEABLE, prompt=messages, prompt_hash=prompt_hash)
    schema = verdict_json_schema(spec)
    for _ in range(1 + PARSE_RETRIES):
        try:
            result = gateway.chat_complete(
                config=config, messages=messages, temperature=temperature, json_schema=schema
            )
        except ProviderError as exc:
            outcome.attempts += exc.attempts
            outcome.status = Judgment.Status.FAILED
            outcome.error = str(exc)
            break
        outcome.attempts += result.attempts
        outcome.raw_output = result.text
        outcome.response_format = result.response_format_used
        try:
            outcome.ratings = parse_verdict(text=result.text, rubric=spec)
        except VerdictParseError as exc:
            outcome.error = f"Unparseable judge reply: {exc}"
            continue
        outcome.status = Judgment.Status.OK
        outcome.error = ""
        outcome.score = weighted_score(ratings={k: v[0] for k, v in outcome.ratings.items()}, rubric=spec)
        break
    outcome.latency_ms = int((time.monotonic() - started) * 1000)
    return outcome
