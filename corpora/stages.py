"""Overlapping stages for ingestion: the next batch is parsed and chunked in a thread while
the current one is embedded and stored.

Parsing (pdfplumber, openpyxl, the chunker) is Python that holds the GIL; embedding runs in
ONNX Runtime or PyTorch, which release it, so on two cores the two stages overlap. The
hand-off queue is short, so a large document never runs far ahead of what is stored.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

# Batches parsed ahead of the one being embedded: enough to keep the embedder fed.
DEPTH = 2


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items (the last may be shorter), in order."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@contextmanager
def prefetched(items: Iterable[T], *, depth: int = DEPTH, name: str = "prefetch") -> Iterator[Iterator[T]]:
    """Iterate ``items`` in a thread, at most ``depth`` items ahead of the consumer.

    An exception raised while producing reaches the consumer in place of the item that
    failed, after the items before it. Leaving the block early (an error while storing)
    stops the producer at its next hand-off and waits for it, so no thread outlives the
    block. The producer must not use the database: connections are per thread.
    """
    handoff: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            put((False, exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # a generator's `with` blocks (an open PDF) end in this thread

    def consume() -> Iterator[T]:
        while True:
            ok, value = handoff.get()
            if ok:
                yield value  # type: ignore[misc]
            elif value is None:
                return
            else:
                raise value  # type: ignore[misc]

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()
