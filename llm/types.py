"""Plain data types shared by the LLM gateway, the embedders and the offline provider."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Provider(StrEnum):
    """Who answers a model call."""

    OPENAI = "openai"  # any OpenAI-compatible endpoint
    OFFLINE = "offline"  # no network: extractive generator, heuristic judge, local embeddings


@dataclass(frozen=True)
class Passage:
    """A passage given to the generator or the judge: its source tag and its text.

    Prompts show it as ``"[tag] text"``; the two are stored apart and never split again.
    """

    tag: str
    text: str

    def render(self) -> str:
        """``"[tag] text"`` (the judge's context); the bare text of an untagged passage."""
        return f"{self.tag} {self.text}" if self.tag else self.text

    def render_line(self) -> str:
        """``"[tag] text"`` on one line, whitespace collapsed (the generator's context)."""
        return f"{self.tag} {' '.join(self.text.split())}"


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to reach a language model."""

    provider: Provider
    base_url: str = ""
    api_key: str = ""
    model: str = ""
    timeout: float = 60.0
    max_retries: int = 4


@dataclass
class ChatResult:
    """One chat completion, with what it cost and how it was obtained."""

    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int
    provider: str
    model: str
    attempts: int
    response_format_used: str  # "json_schema" | "json_object" | "none"


class ProviderError(Exception):
    """A provider call failed.

    ``transient`` is True when the same call may succeed later (rate limits, 5xx,
    timeouts, connection errors, malformed bodies); callers retry only those.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        status_code: int | None = None,
        attempts: int = 1,
    ) -> None:
        self.message = message
        self.transient = transient
        self.status_code = status_code
        self.attempts = attempts
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f" (HTTP {self.status_code})" if self.status_code is not None else ""
        kind = "transient" if self.transient else "permanent"
        return f"{self.message}{status} [{kind}, {self.attempts} attempt(s)]"
