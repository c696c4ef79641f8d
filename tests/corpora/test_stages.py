"""The parse thread hands batches on in order, passes its errors on, and never outlives its block."""

from __future__ import annotations

import threading

import pytest

from corpora.parsers import ParseError
from corpora.stages import batched, prefetched


def test_items_arrive_in_order_and_batches_keep_the_remainder() -> None:
    with prefetched(batched(range(10), 4)) as batches:
        assert list(batches) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_an_error_while_producing_reaches_the_consumer_after_the_items_before_it() -> None:
    def pages():
        yield "page 1"
        yield "page 2"
        raise ParseError("page 3 is damaged")

    received = []
    with pytest.raises(ParseError, match="page 3 is damaged"), prefetched(pages()) as items:
        for item in items:
            received.append(item)
    assert received == ["page 1", "page 2"]


def test_leaving_early_stops_the_producer_and_closes_its_generator() -> None:
    closed = threading.Event()
    produced = []

    def endless():
        try:
            n = 0
            while True:
                produced.append(n)
                yield n
                n += 1
        finally:
            closed.set()

    with pytest.raises(RuntimeError), prefetched(endless(), depth=2, name="test-producer") as items:
        for item in items:
            if item == 3:
                raise RuntimeError("storing failed")

    assert closed.is_set()
    assert len(produced) <= 3 + 1 + 2 + 1  # never more than depth ahead of the consumer
    assert not [t for t in threading.enumerate() if t.name == "test-producer"]
