"""Thin Celery tasks: take ids, re-fetch, call one service."""

from celery import shared_task
from celery.signals import worker_ready

from sessions import services
from sessions.reports.exports import report_export_build


@shared_task(name="sessions.tasks.advance_conversation", acks_late=True, reject_on_worker_lost=True)
def advance_conversation(conversation_id: int) -> str:
    return services.conversation_advance(conversation_id=conversation_id)


@shared_task(name="sessions.tasks.resume_interrupted", acks_late=True)
def resume_interrupted() -> int:
    return services.sessions_resume_interrupted()


@shared_task(name="sessions.tasks.build_report_export", acks_late=True, reject_on_worker_lost=True)
def build_report_export(export_id: int) -> str | None:
    export = report_export_build(export_id=export_id)
    return export.status if export else None


@worker_ready.connect
def _resume_after_worker_start(sender=None, **kwargs) -> None:
    # A worker that died mid-session left work unacknowledged; pick it up now rather
    # than after the broker's visibility timeout.
    resume_interrupted.delay()
