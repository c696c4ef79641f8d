"""Thin Celery tasks: take ids, re-fetch, call one service."""

from celery import shared_task
from celery.signals import worker_ready

from sessions import services


@shared_task(name="sessions.tasks.advance_conversation", acks_late=True, reject_on_worker_lost=True)
def advance_conversation(conversation_id: int) -> str:
    return services.conversation_advance(conversation_id=conversation_id)


@shared_task(name="sessions.tasks.resume_interrupted", acks_late=True)
def resume_interrupted() -> int:
    return services.sessions_resume_interrupted()


@worker_ready.connect
def _resume_after_worker_start(sender=None, **kwargs) -> None:
    # A worker that died mid-session left work unacknowledged; pick it up now rather
    # than after the broker's visibility timeout.
    resume_interrupted.delay()
