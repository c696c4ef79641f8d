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
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.queueing import task_publish
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
    from judging.models import Judgment, RobustnessProbe

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
    """Queue every conversation with unfinished turns and every pending judgment again.

    Returns how many tasks were sent. Raises ``BrokerUnavailable`` when the broker refuses
    and ``keep_if_down`` is false.
    """
    from judging.models import Judgment
    from judging.tasks import run_judgment
    from sessions.tasks import advance_conversation

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
        task_publish(task=advance_conversation, args=[conversation_id], keep_if_down=keep_if_down)
    for judgment_id in judgments:
        task_publish(task=run_judgment, args=[judgment_id], keep_if_down=keep_if_down)
    return len(conversations) + len(judgments)
