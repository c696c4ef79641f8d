"""What a session runs with, besides its corpus and questions: one value, checked once.

The page form, the API serializers, the `evaluate` command and batches each build a
``SessionSettings`` (``to_settings()``); the services take it whole. The bounds and
defaults below are the only ones: the form and serializer fields show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.errors import InvalidInput
from llm.config import llm_available
from llm.types import Provider
from sessions.models import DEFAULT_PROMPT_TEMPLATE, EvaluationSession

K_DEFAULT, K_MIN, K_MAX = 5, 1, 50
REPEATS_DEFAULT, REPEATS_MIN, REPEATS_MAX = 1, 1, 10
TEMPERATURE_MIN, TEMPERATURE_MAX = 0.0, 2.0
PROMPT_PLACEHOLDERS_REQUIRED = ("{context}", "{question}")


@dataclass(frozen=True)
class SessionSettings:
    """``None`` for a provider means the default one (see ``llm.config.default_provider``);
    a blank model the configured default for that provider; ``rubric_id`` None the
    shared default rubric."""

    rubric_id: int | None = None
    retrieval_mode: str = EvaluationSession.RetrievalMode.HYBRID
    retrieval_k: int = K_DEFAULT
    web_search: bool = False
    generator_provider: str | None = None
    generator_model: str = ""
    # Blank: the LLM_BASE_URL setting. The API key always comes from the environment.
    llm_base_url: str = ""
    temperature: float = 0.0
    prompt_template: str = DEFAULT_PROMPT_TEMPLATE
    judge_provider: str | None = None
    judge_model: str = ""
    judge_repeats: int = REPEATS_DEFAULT
    robustness: bool = False
    budget_usd: Decimal | None = None

    def __post_init__(self) -> None:
        if not self.prompt_template:
            object.__setattr__(self, "prompt_template", DEFAULT_PROMPT_TEMPLATE)
        object.__setattr__(self, "generator_model", self.generator_model.strip())
        object.__setattr__(self, "judge_model", self.judge_model.strip())
        if self.retrieval_mode not in EvaluationSession.RetrievalMode.values:
            raise InvalidInput(f"Unknown retrieval mode {self.retrieval_mode!r}.")
        if not K_MIN <= self.retrieval_k <= K_MAX:
            raise InvalidInput(f"k must be between {K_MIN} and {K_MAX}.")
        if not REPEATS_MIN <= self.judge_repeats <= REPEATS_MAX:
            raise InvalidInput(f"Judge repeats must be between {REPEATS_MIN} and {REPEATS_MAX}.")
        if not TEMPERATURE_MIN <= self.temperature <= TEMPERATURE_MAX:
            raise InvalidInput(f"The temperature must be between {TEMPERATURE_MIN} and {TEMPERATURE_MAX}.")
        if self.budget_usd is not None and self.budget_usd < 0:
            raise InvalidInput("The budget cannot be negative.")
        missing = [p for p in PROMPT_PLACEHOLDERS_REQUIRED if p not in self.prompt_template]
        if missing:
            raise InvalidInput(f"The prompt template must contain {' and '.join(missing)}.")
        for provider in (self.generator_provider, self.judge_provider):
            if provider is None:
                continue
            if provider not in list(Provider):
                raise InvalidInput(f"Unknown provider {provider!r}.")
            if provider == Provider.OPENAI and not (self.llm_base_url or llm_available()):
                raise InvalidInput("The OpenAI-compatible provider needs LLM_BASE_URL (or a base URL for the session).")
