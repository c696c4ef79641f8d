from celery import shared_task

from core.services import heartbeat_record


@shared_task(name="core.tasks.heartbeat", acks_late=True)
def heartbeat(token: str) -> None:
    heartbeat_record(token=token, worker=heartbeat.request.hostname or "unknown")
