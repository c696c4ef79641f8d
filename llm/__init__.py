"""LLM providers: the OpenAI-compatible gateway, embedders and the offline generator.

``llm.gateway`` is the only module in the project that imports ``openai``; it is
imported lazily here so that offline code paths never load it.
"""

from llm.types import ChatResult, LLMConfig, ProviderError

__all__ = ["ChatResult", "LLMConfig", "ProviderError"]
