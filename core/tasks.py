from celery import shared_task
from celery.signals import worker_process_init, worker_ready

from core.services import heartbeat_record


@shared_task(name="core.tasks.heartbeat", acks_late=True)
def heartbeat(token: str) -> None:
    heartbeat_record(token=token, worker=heartbeat.request.hostname or "unknown")


def _warm_up_embedder(**kwargs) -> None:
    """Load the local embedding model (~5 s on CPU) and the heavy modules (openai, parsers,
    the judge: ~1 s together) before the first task needs them, not on a session's
    critical path."""
    import importlib
    import logging

    from django.conf import settings

    if not settings.WORKER_WARM_UP:
        return
    for module in ("llm.gateway", "corpora.services", "judging.services", "sessions.services"):
        importlib.import_module(module)
    try:
        from llm.embeddings import get_embedder

        name = settings.EMBEDDING_MODEL if settings.EMBEDDING_MODEL.startswith("local:") else "local:all-MiniLM-L6-v2"
        get_embedder(name=name).embed(["warm-up"])
    except Exception:  # noqa: BLE001 - a warm-up failure must not stop the worker; the first task will say why
        logging.getLogger(__name__).warning("embedding model warm-up failed", exc_info=True)


def _start_sweep_timer(**kwargs) -> None:
    """Every worker sweeps on a timer (core.sweep): the first round, at once, re-queues the
    work of every active session (a worker that died held some of it); later rounds only
    what stalled. It runs in the worker's main process, not through the broker, so it goes
    on while the broker is down and sends what was kept back once it is up again."""
    from core.sweep import sweep_timer_start

    sweep_timer_start()


worker_ready.connect(_start_sweep_timer)
worker_ready.connect(_warm_up_embedder)  # thread and solo pools run tasks in this process
worker_process_init.connect(_warm_up_embedder)  # prefork children
