"""Run Celery work in-process when no worker answers (commands used without a worker)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from django.conf import settings

from config.celery_app import app, worker_state


def worker_available(*, timeout: float = 2.0) -> bool:
    try:
        return bool(app.control.ping(timeout=timeout))
    except Exception:  # noqa: BLE001 - a broker problem means "no worker" here
        return False


def tasks_run_in_process() -> bool:
    """Whether tasks sent now run at once in this process (inside ``in_process_tasks``)."""
    return bool(app.conf.task_always_eager)


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


def judge_concurrency() -> int:
    """Judge-only items judged at once: ``JUDGE_CONCURRENCY`` when set, else this worker's
    pool size, else the size a worker gets by default (``CELERY_WORKER_CONCURRENCY``)."""
    return settings.JUDGE_CONCURRENCY or worker_state.pool_size or settings.CELERY_WORKER_CONCURRENCY
