"""The sweep: what keeps broker outages and dead workers from stranding work.

Every worker runs it on a timer (``sweep_loop``, started when the worker is ready), and
once at start with ``requeue_all_active`` so a restarted worker picks up at once what a
dead one held. An advisory lock lets one process sweep at a time. One round:

1. fails documents stuck in processing past their time limit (database only);
2. sends the tasks an outage kept back (core.PendingTask);
3. re-queues the work of stalled sessions and of queued documents nothing happened to.

Steps 2 and 3 stop quietly while the broker is down; the next round tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections

from core.locks import SWEEP, advisory_lock
from core.queueing import BrokerUnavailable, pending_tasks_publish

logger = logging.getLogger(__name__)

# When this process last re-queued a session or document: each is re-queued at most once
# per stall period, so a long outage does not pile copies of the same task into the queue.
_requeued_at: dict[tuple[str, int], float] = {}


@dataclass
class SweepReport:
    documents_failed: int = 0
    tasks_published: int = 0
    sessions_requeued: int = 0
    documents_requeued: int = 0
    broker_down: bool = False


def _due(kind: str, pk: int, *, every: float) -> bool:
    last = _requeued_at.get((kind, pk))
    return last is None or time.monotonic() - last >= every


def sweep(*, requeue_all_active: bool = False) -> SweepReport | None:
    """One round; None when another process is sweeping."""
    from corpora.sweep import document_requeue_stalled, documents_fail_overdue, documents_queued_stalled
    from sessions.sweep import session_work_requeue, sessions_progress, sessions_stalled

    with advisory_lock(namespace=SWEEP, key=0) as acquired:
        if not acquired:
            return None
        report = SweepReport(documents_failed=documents_fail_overdue())
        try:
            report.tasks_published = pending_tasks_publish()
            sessions = sessions_progress() if requeue_all_active else sessions_stalled()
            for progress in sessions:
                every = progress.stall_after.total_seconds()
                if requeue_all_active or _due("session", progress.session_id, every=every):
                    session_work_requeue(session_id=progress.session_id, keep_if_down=False)
                    _requeued_at[("session", progress.session_id)] = time.monotonic()
                    report.sessions_requeued += 1
            for pk in documents_queued_stalled():
                if requeue_all_active or _due("document", pk, every=settings.STALL_AFTER_SECONDS):
                    document_requeue_stalled(document_id=pk, keep_if_down=False)
                    _requeued_at[("document", pk)] = time.monotonic()
                    report.documents_requeued += 1
        except BrokerUnavailable as exc:
            report.broker_down = True
            logger.warning("sweep: broker still unavailable (%s); trying again next round", exc)
    if report.sessions_requeued or report.documents_requeued or report.tasks_published or report.documents_failed:
        logger.warning("sweep: %s", report)
    return report


def sweep_loop(*, stop: threading.Event, interval: float) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set (a worker's timer thread)."""
    first = True
    while not stop.is_set():
        try:
            close_old_connections()
            sweep(requeue_all_active=first)
            first = False
        except Exception:  # noqa: BLE001 - a failed round (database down, say) must not end the timer
            logger.exception("sweep round failed; trying again next round")
        finally:
            close_old_connections()
        stop.wait(interval)


def sweep_timer_start(*, interval: float | None = None) -> threading.Event:
    """Start the sweep thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=sweep_loop,
        kwargs={"stop": stop, "interval": interval or settings.SWEEP_INTERVAL_SECONDS},
        name="assay-sweep",
        daemon=True,
    )
    thread.start()
    return stop
