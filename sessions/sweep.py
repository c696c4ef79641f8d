"""Stalled sessions: found from what the database records, re-queued by the sweep.

A session is active (queued or running) while it has unfinished work. Its progress is the
latest time an answer or judgment of it finished (or it started). It is *stalled* when
nothing progressed for longer than STALL_AFTER_SECONDS, or twice its slowest task so far
if that is longer: its tasks were lost (a broker outage, a worker that died holding them)
or no worker is consuming. Re-queueing is always safe: every task is guarded by status
and an advisory lock, so a task that was not lost after all finds nothing to do.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from core.locks import SWEEP, advisory_lock
from core.queueing import BrokerUnavailable, pending_tasks_count, pending_tasks_publish, task_publish
from corpora.sweep import document_requeue_stalled, documents_fail_overdue, documents_queued_stalled
from judging.models import Judgment, RobustnessProbe
from sessions import tasks
from sessions.models import Answer, Conversation, EvaluationSession, Question


@dataclass(frozen=True)
class SessionProgress:
    session_id: int
    last_progress: datetime
    slowest_task_seconds: float

    @property
    def stall_after(self) -> timedelta:
        return timedelta(seconds=max(settings.STALL_AFTER_SECONDS, 2 * self.slowest_task_seconds))

    def stalled(self, *, now: datetime) -> bool:
        return now - self.last_progress > self.stall_after


@functools.cache
def _progress_sql() -> str:
    return """
    WITH active AS (
        SELECT id, started_at, created_at FROM {session} WHERE status = ANY(%(active)s) {only}
    ), events AS (
        SELECT q.session_id AS sid, a.finished_at AS at,
               COALESCE(a.retrieval_latency_ms, 0) + COALESCE(a.response_latency_ms, 0) AS ms
        FROM {answer} a JOIN {question} q ON q.id = a.question_id
        WHERE q.session_id IN (SELECT id FROM active)
        UNION ALL
        SELECT q.session_id, j.finished_at, j.latency_ms
        FROM {judgment} j JOIN {answer} a ON a.id = j.answer_id JOIN {question} q ON q.id = a.question_id
        WHERE q.session_id IN (SELECT id FROM active)
        UNION ALL
        SELECT q.session_id, j.finished_at, j.latency_ms
        FROM {judgment} j JOIN {probe} p ON p.id = j.probe_id JOIN {answer} a ON a.id = p.answer_id
             JOIN {question} q ON q.id = a.question_id
        WHERE q.session_id IN (SELECT id FROM active)
    )
    SELECT s.id, COALESCE(GREATEST(s.started_at, MAX(e.at)), s.created_at), COALESCE(MAX(e.ms), 0)
    FROM active s LEFT JOIN events e ON e.sid = s.id
    GROUP BY s.id, s.started_at, s.created_at
    """.format(
        session=EvaluationSession._meta.db_table,
        question=Question._meta.db_table,
        answer=Answer._meta.db_table,
        judgment=Judgment._meta.db_table,
        probe=RobustnessProbe._meta.db_table,
        only="{only}",
    )


def sessions_progress(*, session_id: int | None = None) -> list[SessionProgress]:
    """Progress of the active sessions (or of one session, if it is active), one query."""
    params: dict = {"active": [EvaluationSession.Status.QUEUED.value, EvaluationSession.Status.RUNNING.value]}
    only = ""
    if session_id is not None:
        only, params["session"] = "AND id = %(session)s", session_id
    with connection.cursor() as cursor:
        cursor.execute(_progress_sql().format(only=only), params)
        rows = cursor.fetchall()
    return [SessionProgress(session_id=pk, last_progress=last, slowest_task_seconds=ms / 1000) for pk, last, ms in rows]


def sessions_stalled(*, now: datetime | None = None) -> list[SessionProgress]:
    now = now or timezone.now()
    return [progress for progress in sessions_progress() if progress.stalled(now=now)]


def session_is_stalled(*, session: EvaluationSession) -> bool:
    progress = sessions_progress(session_id=session.pk)
    return bool(progress) and progress[0].stalled(now=timezone.now())


def session_work_requeue(*, session_id: int, keep_if_down: bool = True) -> int:
    """Queue every conversation with unfinished turns and every pending judgment again (a
    judge-only session: its one judging task).

    Returns how many tasks were sent. Raises ``BrokerUnavailable`` when the broker refuses
    and ``keep_if_down`` is false.
    """
    provider = EvaluationSession.objects.filter(pk=session_id).values_list("generator_provider", flat=True).first()
    if provider == EvaluationSession.Provider.PROVIDED:
        task_publish(task=tasks.judge_session, args=[session_id], keep_if_down=keep_if_down)
        return 1
    conversations = list(
        Conversation.objects.filter(session_id=session_id).values_list("pk", flat=True).order_by("position")
    )
    judgments = list(
        Judgment.objects.filter(status=Judgment.Status.PENDING, answer__question__session_id=session_id).values_list(
            "pk", flat=True
        )
    ) + list(
        Judgment.objects.filter(
            status=Judgment.Status.PENDING, probe__answer__question__session_id=session_id
        ).values_list("pk", flat=True)
    )
    for conversation_id in conversations:
        task_publish(task=tasks.advance_conversation, args=[conversation_id], keep_if_down=keep_if_down)
    for judgment_id in judgments:
        task_publish(task=tasks.run_judgment, args=[judgment_id], keep_if_down=keep_if_down)
    return len(conversations) + len(judgments)


# --- The sweep, on every worker's timer ----------------------------------------------------
# Every worker runs it (``sweep_loop``, started when the worker is ready), and once at start
# with ``requeue_all_active`` so a restarted worker picks up at once what a dead one held.
# An advisory lock lets one process sweep at a time. One round: fails documents stuck in
# processing past their time limit (database only); sends the tasks an outage kept back
# (core.PendingTask); re-queues the work of stalled sessions and of queued documents nothing
# happened to. The last two stop quietly while the broker is down; the next round retries.

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


def check_work() -> dict:
    """For /healthz: stalled sessions and tasks a broker outage kept back."""
    stalled = sessions_stalled()
    return {
        "ok": not stalled,
        "stalled_sessions": [progress.session_id for progress in stalled],
        "pending_tasks": pending_tasks_count(),
    }
