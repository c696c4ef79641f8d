"""Documents the sweep looks after: queued ones whose task was lost, processing ones stuck.

A queued document's task can be lost to a broker outage or a dead worker; queueing it
again is harmless (ingestion is guarded by status and an advisory lock). A document
processing for longer than its task may run is failed with a message saying so, after
which Retry queues it again.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.queueing import task_publish
from corpora.models import Document
from corpora.services import document_fail


def documents_queued_stalled() -> list[int]:
    """Queued documents nothing happened to for STALL_AFTER_SECONDS."""
    since = timezone.now() - timedelta(seconds=settings.STALL_AFTER_SECONDS)
    return list(
        Document.objects.filter(status=Document.Status.QUEUED, updated_at__lt=since)
        .exclude(file="", url="")
        .values_list("pk", flat=True)
    )


def document_requeue_stalled(*, document_id: int, keep_if_down: bool = True) -> None:
    from corpora.tasks import ingest_document

    task_publish(task=ingest_document, args=[document_id], keep_if_down=keep_if_down)


def documents_fail_overdue() -> int:
    """Fail documents processing for longer than DOCUMENT_PROCESSING_LIMIT_SECONDS."""
    limit = settings.DOCUMENT_PROCESSING_LIMIT_SECONDS
    since = timezone.now() - timedelta(seconds=limit)
    failed = 0
    for pk in Document.objects.filter(status=Document.Status.PROCESSING, updated_at__lt=since).values_list(
        "pk", flat=True
    ):
        document = document_fail(
            document_id=pk,
            message=f"Processing did not finish within {round(limit / 60)} minutes (the worker handling it "
            "stopped or the file is too slow to read). Press Retry to try again, or split the file.",
            only_if_processing_since=since,
        )
        failed += bool(document and document.status == Document.Status.FAILED)
    return failed
