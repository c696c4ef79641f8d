"""Handing tasks to the broker so that an outage loses nothing.

Every task Assay sends goes through ``task_publish``. Celery retries each publish with
backoff (CELERY_TASK_PUBLISH_RETRY_POLICY); when the broker is still unreachable the task
is stored as a ``PendingTask`` row and ``pending_tasks_publish`` (run by the sweep) sends
it later. Every task is idempotent (status guards, advisory locks, unique constraints),
so a task sent twice is harmless; one never sent would strand its session or document.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence

import redis
from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError

from core.models import PendingTask

logger = logging.getLogger(__name__)

# What a publish raises when the broker cannot be reached (kombu wraps most as
# OperationalError; a pooled connection to a restarted server can surface as redis-py's).
PUBLISH_ERRORS = (OperationalError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class BrokerUnavailable(Exception):
    """The broker refused a publish even after the retries."""


# In-process (eager) mode: the tasks a running task sends wait here and run after it, in
# order, as they would from a broker. Running them at once instead would nest every hop of
# a conversation's task chain (retrieval, generation, the next retrieval, ...) inside the
# one before: a stack as deep as the conversation is long, and locks still held.
_eager = threading.local()


def _run_eagerly(task: Task, args: Sequence) -> None:
    waiting = getattr(_eager, "waiting", None)
    if waiting is not None:
        waiting.append((task, args))
        return
    _eager.waiting = waiting = deque([(task, args)])
    try:
        while waiting:
            next_task, next_args = waiting.popleft()
            next_task.delay(*next_args)
    finally:
        _eager.waiting = None


def task_publish(*, task: Task, args: Sequence, keep_if_down: bool = True) -> bool:
    """Send ``task`` with ``args``; True when the broker took it.

    With ``keep_if_down`` a failed publish is stored for the sweep; otherwise it raises
    ``BrokerUnavailable`` (the sweep itself re-derives its work on the next round).
    """
    if task.app.conf.task_always_eager:  # in-process mode: the task runs here, nothing is published
        _run_eagerly(task, args)
        return True
    try:
        task.delay(*args)
    except PUBLISH_ERRORS as exc:
        if not keep_if_down:
            raise BrokerUnavailable(str(exc)) from exc
        logger.warning("broker unavailable; %s%s kept for the sweep: %s", task.name, tuple(args), exc)
        PendingTask.objects.create(task_name=task.name, args=list(args), error=str(exc)[:1000])
        return False
    return True


def task_publish_on_commit(*, task: Task, args_list: Sequence[Sequence]) -> None:
    """Send ``task`` once per ``args`` when the current transaction commits."""
    args_list = [list(args) for args in args_list]
    if not args_list:
        return

    def send() -> None:
        broker_up = True
        for args in args_list:
            if broker_up:
                broker_up = task_publish(task=task, args=args)
            else:  # the broker just refused one: keep the rest without waiting out more retries
                PendingTask.objects.create(task_name=task.name, args=args, error="broker unavailable")

    transaction.on_commit(send)


def pending_tasks_publish(*, limit: int = 5000) -> int:
    """Send the tasks a broker outage kept back; returns how many went out.

    Stops at the first refusal (the broker is still down) and leaves the rest for the next
    sweep. A row is deleted only after its publish succeeded.
    """
    from celery import current_app

    sent = 0
    for pending in PendingTask.objects.order_by("id")[:limit]:
        task = current_app.tasks.get(pending.task_name)
        if task is None:
            logger.error("pending task %s is unknown; dropped", pending.task_name)
            pending.delete()
            continue
        try:
            task_publish(task=task, args=pending.args, keep_if_down=False)
        except BrokerUnavailable:
            break
        pending.delete()
        sent += 1
    return sent


def pending_tasks_count() -> int:
    return PendingTask.objects.count()
