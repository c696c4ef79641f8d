"""Independent calls on a bounded number of threads, with results in input order.

Used for judge-only work (``manage.py judge``, judge-only sessions), whose items wait on
an LLM and do not depend on each other. Every thread closes the database connections it
opened when it ends (Django's connections belong to the thread that opened them).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
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


class OrderedGate:
    """At most ``limit`` sections at a time, entered in the order of ``keys``.

    For work whose items each do some preparing, one slow section (an LLM call) and some
    storing: more threads than ``limit`` run the items, so the next item is prepared while
    the sections run, and a section ending lets the next prepared item in at once rather
    than after its thread has stored and prepared. Sections still start in input order.
    Each key enters at most once (``section``); a key that ends without entering must say
    so (``give_up``), or the keys after it would wait for it.
    """

    def __init__(self, *, limit: int, keys: Sequence[object]) -> None:
        self._ready = threading.Condition()
        self._limit = self._free = max(1, limit)
        self._turns = {key: turn for turn, key in enumerate(keys)}
        self._passed: set[int] = set()  # turns entered or given up
        self._next = 0  # the first turn not yet passed
        self.peak = 0  # most sections at once (for tests and benchmarks)

    def _pass(self, turn: int) -> None:
        self._passed.add(turn)
        while self._next in self._passed:
            self._next += 1
        self._ready.notify_all()

    @contextlib.contextmanager
    def section(self, key: object) -> Iterator[None]:
        turn = self._turns[key]
        with self._ready:
            if turn in self._passed:
                raise RuntimeError(f"{key!r} has already had its turn")
            self._ready.wait_for(lambda: self._next == turn and self._free > 0)
            self._free -= 1
            self.peak = max(self.peak, self._inside())
            self._pass(turn)
        try:
            yield
        finally:
            with self._ready:
                self._free += 1
                self._ready.notify_all()

    def give_up(self, key: object) -> None:
        """``key`` will not enter (it was skipped or failed before): the next may go. Harmless
        after ``section``."""
        with self._ready:
            turn = self._turns[key]
            if turn not in self._passed:
                self._pass(turn)

    def _inside(self) -> int:
        return self._limit - self._free
