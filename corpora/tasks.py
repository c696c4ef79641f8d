"""Celery tasks for corpora: thin wrappers that re-fetch by id and call one service."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from corpora.models import Document
from corpora.services import document_fail, document_ingest
from llm.types import ProviderError

logger = logging.getLogger(__name__)

MAX_RETRIES = 3


@shared_task(
    bind=True,
    name="corpora.tasks.ingest_document",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=15 * 60,
    time_limit=16 * 60,
)
def ingest_document(self, document_id: int) -> None:
    try:
        document_ingest(document_id=document_id)
    except Document.DoesNotExist:
        logger.info("document %s is gone; nothing to ingest", document_id)
    except ProviderError as exc:
        # Only transient errors reach here (the service fails the document on others).
        if self.request.retries >= MAX_RETRIES:
            document_fail(
                document_id=document_id,
                message=f"Embedding failed after {MAX_RETRIES + 1} attempts: {exc.message}",
            )
            return
        raise self.retry(exc=exc, countdown=min(5 * 2**self.request.retries, 120)) from exc
    except SoftTimeLimitExceeded:
        document_fail(
            document_id=document_id,
            message="Ingestion took longer than 15 minutes and was stopped; split the document and try again.",
        )
