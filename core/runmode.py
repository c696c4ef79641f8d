"""Run Celery work in-process when no worker answers (commands used without a worker)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


def worker_available(*, timeout: float = 2.0) -> bool:
    from config.celery_app import app

    try:
        return bool(app.control.ping(timeout=timeout))
    except Exception:  # noqa: BLE001 - a broker problem means "no worker" here
        return False


@contextlib.contextmanager
def in_process_tasks() -> Iterator[None]:
    """Tasks sent inside this block run at once in this process (Celery eager mode)."""
    from config.celery_app import app

    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = previous
