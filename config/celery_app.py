import os
from dataclasses import dataclass

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("assay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in ("ingest", "retrieval", "generation", "judging")]
# Celery's Django fix-up closes every database connection before and after each task
# unless this is set: each task then connects anew (a new PostgreSQL backend, cold
# caches: 10-20 ms of a judge task that otherwise takes 20). Connections follow
# CONN_MAX_AGE and the health checks instead, as they do for web requests (below).
app.conf.CELERY_DB_REUSE_MAX = 1_000_000
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_database_connections(sender=None, **kwargs) -> None:
    """What Django does around a request: close connections that are broken or older
    than CONN_MAX_AGE, and keep the others (runs in the thread that runs the task)."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@dataclass
class WorkerState:
    """What this process knows about the worker it runs in (nothing outside a worker)."""

    pool_size: int | None = None  # -c: threads or processes (core.runmode.judge_concurrency)


worker_state = WorkerState()


@worker_init.connect
def _remember_pool_size(sender=None, **kwargs) -> None:
    concurrency = getattr(sender, "concurrency", None)
    if isinstance(concurrency, int) and concurrency > 0:
        worker_state.pool_size = concurrency
