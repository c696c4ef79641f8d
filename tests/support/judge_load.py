"""A fake judge that holds each call and counts how many are in flight at once."""

from __future__ import annotations

import re
import threading
import time

from tests.support.fake_openai import last_user_message, verdict_responder

ITEM = re.compile(r"item (\d+)\?")


def judge_items_numbered(n: int, *, failing: int | None = None) -> list[dict]:
    """``n`` judge-only items whose questions name their number ("What is item 7?")."""
    return [
        {
            "id": f"q{i}",
            "question": f"What is item {i}?",
            "answer": "boom" if i == failing else f"Item {i} is a sparse adapter.",
            "context": [f"[Doc: items.md] Item {i} is a sparse adapter."],
        }
        for i in range(1, n + 1)
    ]


class HoldingJudge:
    """A responder for ``FakeOpenAIServer``: holds every call ``hold`` seconds (longer for
    the items in ``slow``), records the order the items arrived in and the peak number of
    calls in flight, and fails every call about an answer that reads "boom" (the client
    sees a dropped connection)."""

    def __init__(self, *, hold: float, slow: dict[int, float] | None = None) -> None:
        self.hold = hold
        self.slow = slow or {}
        self.arrived: list[int] = []
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, request: dict) -> str:
        prompt = last_user_message(request)
        match = ITEM.search(prompt)
        item = int(match.group(1)) if match else 0
        with self._lock:
            self.arrived.append(item)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.slow.get(item, self.hold))
            if "boom" in prompt:
                raise ConnectionAbortedError("the fake judge drops this call")
            return verdict_responder(request)
        finally:
            with self._lock:
                self.in_flight -= 1
