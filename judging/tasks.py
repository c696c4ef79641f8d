"""Thin Celery tasks for judging."""

from celery import shared_task

from judging import services


@shared_task(name="judging.tasks.run_judgment", acks_late=True, reject_on_worker_lost=True)
def run_judgment(judgment_id: int) -> str:
    judgment = services.judgment_run(judgment_id=judgment_id)
    return judgment.status if judgment is not None else "busy"
