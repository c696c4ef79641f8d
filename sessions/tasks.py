"""Thin Celery tasks: take ids, re-fetch, call one service."""

import logging

from celery import shared_task
from celery.signals import worker_process_init, worker_ready
from django.conf import settings

from llm.embeddings import LOCAL_MODEL_NAME, get_embedder
from sessions import services


# The retrieval stage (queue "retrieval"): rewrite, embed and search the conversation's
# next turn, then hand it to generate_answer.
@shared_task(name="sessions.tasks.advance_conversation", acks_late=True, reject_on_worker_lost=True)
def advance_conversation(conversation_id: int) -> str:
    return services.conversation_advance(conversation_id=conversation_id)


# The generation stage (queue "generation"): generate the retrieved turn, then hand the
# conversation back to advance_conversation.
@shared_task(name="sessions.tasks.generate_answer", acks_late=True, reject_on_worker_lost=True)
def generate_answer(conversation_id: int, answer_id: int) -> str:
    return services.answer_complete(conversation_id=conversation_id, answer_id=answer_id)


# Named under judging so that it keeps its queue (CELERY_TASK_ROUTES: "judging.tasks.*")
# and messages already queued under that name still find it.
@shared_task(name="judging.tasks.run_judgment", acks_late=True, reject_on_worker_lost=True)
def run_judgment(judgment_id: int) -> str:
    judgment = services.judgment_run(judgment_id=judgment_id)
    return judgment.status if judgment is not None else "busy"


# Judge-only sessions (queue "judging"): their judgments, JUDGE_CONCURRENCY at a time.
@shared_task(name="sessions.tasks.judge_session", acks_late=True, reject_on_worker_lost=True)
def judge_session(session_id: int) -> str:
    return services.session_judge(session_id=session_id)


@shared_task(name="sessions.tasks.build_report_export", acks_late=True, reject_on_worker_lost=True)
def build_report_export(export_id: int) -> str | None:
    # Imported here: the PDF and chart libraries take a second to import, which every
    # process that only queues tasks (the judge command, the web) would pay otherwise.
    from sessions.reports.exports import report_export_build

    export = report_export_build(export_id=export_id)
    return export.status if export else None


@worker_ready.connect
def _start_sweep_timer(sender=None, **kwargs) -> None:
    """Every worker sweeps on a timer (sessions.sweep): the first round, at once, re-queues
    the work of every active session (a worker that died held some of it); later rounds
    only what stalled. It runs in the worker's main process, not through the broker, so it
    goes on while the broker is down and sends what was kept back once it is up again."""
    from sessions.sweep import sweep_timer_start

    sweep_timer_start()


def _warm_up_embedder(**kwargs) -> None:
    """Load the local embedding model (~5 s on CPU) before the first task needs it, not on
    a session's critical path (importing this module already loaded the pipeline, the
    judge and the LLM gateway)."""
    if not settings.WORKER_WARM_UP:
        return
    try:
        name = settings.EMBEDDING_MODEL if settings.EMBEDDING_MODEL.startswith("local:") else LOCAL_MODEL_NAME
        get_embedder(name=name).embed(["warm-up"])
    except Exception:  # noqa: BLE001 - a warm-up failure must not stop the worker; the first task will say why
        logging.getLogger(__name__).warning("embedding model warm-up failed", exc_info=True)


worker_ready.connect(_warm_up_embedder)  # thread and solo pools run tasks in this process
worker_process_init.connect(_warm_up_embedder)  # prefork children
