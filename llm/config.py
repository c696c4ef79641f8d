"""LLMConfig from Django settings: the one place that reads LLM_* settings."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from llm.types import LLMConfig, Provider


def llm_available() -> bool:
    return bool(settings.LLM_BASE_URL)


def default_provider() -> Provider:
    """The OpenAI-compatible provider where an endpoint is configured, else offline."""
    return Provider.OPENAI if llm_available() else Provider.OFFLINE


def llm_config(*, provider: str, model: str = "", base_url: str = "") -> LLMConfig:
    """``provider`` is a Provider value; anything but the OpenAI-compatible one is offline."""
    if provider != Provider.OPENAI:
        return LLMConfig(provider=Provider.OFFLINE, model=model or "offline")
    return LLMConfig(
        provider=Provider.OPENAI,
        base_url=base_url or settings.LLM_BASE_URL,
        api_key=settings.LLM_API_KEY,
        model=model or settings.LLM_MODEL,
        timeout=settings.LLM_TIMEOUT,
        max_retries=settings.LLM_MAX_RETRIES,
    )


def model_prices() -> dict[str, tuple[Decimal, Decimal]]:
    """USD per million (input, output) tokens, from LLM_PRICES="model=in/out,…"."""
    prices: dict[str, tuple[Decimal, Decimal]] = {}
    for item in filter(None, (part.strip() for part in settings.LLM_PRICES.split(","))):
        name, _, pair = item.partition("=")
        prompt_price, _, completion_price = pair.partition("/")
        try:
            prices[name.strip()] = (Decimal(prompt_price), Decimal(completion_price or prompt_price))
        except ArithmeticError:
            continue
    return prices


def call_cost(*, model: str, prompt_tokens: int | None, completion_tokens: int | None) -> Decimal:
    price = model_prices().get(model)
    if price is None:
        return Decimal(0)
    return (price[0] * (prompt_tokens or 0) + price[1] * (completion_tokens or 0)) / Decimal(1_000_000)
