"""Thin Celery tasks: take ids, re-fetch, call one service."""

from celery import shared_task

from sessions import services


@shared_task(name="sessions.tasks.advance_conversation", acks_late=True, reject_on_worker_lost=True)
def advance_conversation(conversation_id: int) -> str:
    return services.conversation_advance(conversation_id=conversation_id)
