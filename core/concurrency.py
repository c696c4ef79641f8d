"""Independent calls on a bounded number of threads, with results in input order.

Used for judge-only work (``manage.py judge``, judge-only sessions), whose items wait on
an LLM and do not depend on each other. Every thread closes the database connections it
opened when it ends (Django's connections belong to the thread that opened them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connections

T = TypeVar("T")
R = TypeVar("R")


class NotRun:
    """The result of an item that was not started (``stop_at`` had passed)."""

    def __repr__(self) -> str:
        return "NOT_RUN"


NOT_RUN = NotRun()


def map_bounded(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    limit: int,
    on_done: Callable[[int, R], None] | None = None,
    stop_at: float | None = None,
) -> list[R | NotRun]:
    """``[fn(item) for item in items]`` with at most ``limit`` calls at a time.

    Items start in input order and results come back in input order. ``on_done(index,
    result)`` is called as each call ends (one at a time). No item is started after the
    ``time.monotonic()`` deadline ``stop_at``: its result is ``NOT_RUN``. An exception in
    one call does not stop the others; the first one is raised once all have ended (catch
    inside ``fn`` to keep a result per item instead). With ``limit`` 1 everything runs in
    the calling thread, on its database connection.
    """
    results: list[R | NotRun] = [NOT_RUN] * len(items)
    errors: list[BaseException] = []
    lock = threading.Lock()
    upcoming = iter(range(len(items)))

    def take() -> int | None:
        with lock:
            if stop_at is not None and time.monotonic() >= stop_at:
                return None
            return next(upcoming, None)

    def run() -> None:
        while (index := take()) is not None:
            try:
                result = fn(items[index])
            except Exception as exc:  # noqa: BLE001 - raised to the caller once the others have ended
                with lock:
                    errors.append(exc)
                continue
            results[index] = result
            if on_done is not None:
                with lock:
                    on_done(index, result)

    def run_in_thread() -> None:
        try:
            run()
        finally:
            connections.close_all()  # this thread's connections only

    limit = max(1, min(limit, len(items)))
    if limit == 1:
        run()
    else:
        threads = [threading.Thread(target=run_in_thread, name=f"bounded-{i}", daemon=True) for i in range(limit)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return results
