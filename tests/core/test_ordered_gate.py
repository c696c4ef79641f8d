"""core.concurrency.OrderedGate with map_bounded: at most ``limit`` sections at once,
entered in the order of the keys, while more threads prepare and store around them."""

from __future__ import annotations

import threading
import time

import pytest

from core.concurrency import OrderedGate, map_bounded


def _run(keys: list[int], *, limit: int, threads: int, skip: frozenset[int] = frozenset(), hold: float = 0.02):
    gate = OrderedGate(limit=limit, keys=keys)
    entered: list[int] = []
    lock = threading.Lock()

    def work(key: int) -> int:
        try:
            # Preparing: later keys are quicker, so without the gate they would overtake.
            time.sleep(0.001 * (len(keys) - key) / len(keys))
            if key in skip:
                return -key
            with gate.section(key):
                with lock:
                    entered.append(key)
                time.sleep(hold)
            return key * 10
        finally:
            gate.give_up(key)

    results = map_bounded(work, keys, limit=threads)
    return gate, entered, results


def test_sections_start_in_key_order_at_most_limit_at_once_and_results_keep_input_order() -> None:
    keys = list(range(24))
    gate, entered, results = _run(keys, limit=3, threads=6)

    assert entered == keys
    assert gate.peak == 3
    assert results == [key * 10 for key in keys]


def test_a_key_that_gives_up_its_turn_does_not_hold_up_the_next() -> None:
    keys = list(range(12))
    gate, entered, results = _run(keys, limit=2, threads=4, skip=frozenset({0, 5, 6, 11}))

    assert entered == [k for k in keys if k not in {0, 5, 6, 11}]
    assert results[5] == -5 and results[7] == 70
    assert gate.peak == 2


def test_a_key_enters_only_once() -> None:
    gate = OrderedGate(limit=2, keys=["a", "b"])
    with gate.section("a"):
        pass
    with pytest.raises(RuntimeError, match="already had its turn"), gate.section("a"):
        pass
    gate.give_up("a")  # harmless after its section
    with gate.section("b"):
        assert gate.peak == 1
