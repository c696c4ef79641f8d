"""Live web search as a retrieval source, behind a small interface.

The only backend is SearxNG (self-hosted metasearch with a JSON API). Its base URL is
operator configuration, not user input, so it is called directly (no private-address
check: SearxNG usually runs next to Assay on a private network).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from corpora.chunking import source_tag


class WebSearchError(Exception):
    """The search backend failed; ``str(error)`` is shown to the user as is."""


@dataclass
class WebResult:
    title: str
    url: str
    snippet: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    @property
    def source_tag(self) -> str:
        return source_tag(source_type="web", name=self.url, host=self.host)


class WebSearchBackend(Protocol):
    def search(self, *, query: str, k: int) -> list[WebResult]: ...


class SearxngBackend:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def search(self, *, query: str, k: int) -> list[WebResult]:
        if not query.strip() or k <= 0:
            return []
        try:
            response = httpx.get(
                f"{self.base_url}/search",
                params={"q": query, "format": "json"},
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except httpx.TimeoutException as exc:
            raise WebSearchError(f"Web search at {self.base_url} did not answer within {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise WebSearchError(f"Could not reach web search at {self.base_url}: {exc}") from exc
        if response.status_code == 403:
            raise WebSearchError(
                "SearxNG refused the JSON request (403); add 'json' to search.formats in its settings.yml"
            )
        if response.status_code >= 400:
            raise WebSearchError(f"Web search at {self.base_url} answered {response.status_code}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise WebSearchError(f"Web search at {self.base_url} did not return JSON") from exc
        items = payload.get("results") if isinstance(payload, dict) else None
        if not isinstance(items, list):
            raise WebSearchError(f"Web search at {self.base_url} returned JSON without a results list")
        results: list[WebResult] = []
        seen: set[str] = set()
        for item in items:
            if not isinstance(item, dict):
                continue
            url = str(item.get("url") or "").strip()
            if not url.startswith(("http://", "https://")) or url in seen:
                continue
            seen.add(url)
            results.append(
                WebResult(
                    title=" ".join(str(item.get("title") or url).split()),
                    url=url,
                    snippet=" ".join(str(item.get("content") or "").split()),
                )
            )
            if len(results) >= k:
                break
        return results
