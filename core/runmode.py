"""Run Celery work in-process when no worker answers (commands used without a worker)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from config.celery_app import app


def worker_available(*, timeout: float = 2.0) -> bool:
    try:
        return bool(app.control.ping(timeout=timeout))
    except Exception:  # noqa: BLE001 - a broker problem means "no worker" here
        return False


@contextlib.contextmanager
def in_process_tasks() -> Iterator[None]:
    """Tasks sent inside this block run at once in this process (Celery eager mode)."""
    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    trace_logger = logging.getLogger("celery.app.trace")
    previous_level = trace_logger.level
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    trace_logger.setLevel(logging.WARNING)  # one line per task would drown the command's output
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = previous
        trace_logger.setLevel(previous_level)
