"""A session's life cycle: start, cancel, resume (re-queueing stalled work: sessions.sweep)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict
from core.queueing import task_publish_on_commit
from judging.models import Rubric
from sessions import sweep, tasks  # sweep as a module: it imports the services in turn
from sessions.models import Answer, Conversation, EvaluationSession, Question
from sessions.services.judgments import judgments_requeue_for_session, judgments_schedule

FINAL_SESSION_STATES = (
    EvaluationSession.Status.COMPLETED,
    EvaluationSession.Status.COMPLETED_WITH_ERRORS,
    EvaluationSession.Status.CANCELLED,
)


def session_start(*, session: EvaluationSession) -> EvaluationSession:
    with transaction.atomic():
        session = EvaluationSession.objects.select_for_update().get(pk=session.pk)
        if session.status != EvaluationSession.Status.DRAFT:
            raise Conflict(f"The session is {session.get_status_display().lower()}; it cannot be started again.")
        session.status = EvaluationSession.Status.QUEUED
        session.started_at = timezone.now()  # progress is measured from here (sessions.sweep)
        session.save(update_fields=["status", "started_at"])
        # From now on verdicts refer to this rubric: it may not change in place any more.
        Rubric.objects.filter(pk=session.rubric_id, locked=False).update(locked=True)
        if session.is_judge_only:
            # Nothing to retrieve or generate: one task runs the judgments, a few at a time.
            answers = (
                Answer.objects.filter(question__session=session)
                .select_related("question__session__rubric", "question__session__corpus")
                .prefetch_related("passages")
                .order_by("pk")
            )
            judgments_schedule(answers=list(answers), enqueue=False)
            task_publish_on_commit(task=tasks.judge_session, args_list=[[session.pk]])
        else:
            _enqueue_conversations(session=session)
    return session


def session_cancel(*, session: EvaluationSession, reason: str = "Cancelled by a user.") -> EvaluationSession:
    with transaction.atomic():
        session = EvaluationSession.objects.select_for_update().get(pk=session.pk)
        if session.status in FINAL_SESSION_STATES:
            raise Conflict("The session has already finished.")
        session.status = EvaluationSession.Status.CANCELLED
        session.status_reason = reason
        session.finished_at = timezone.now()
        session.save(update_fields=["status", "status_reason", "finished_at"])
    return session


def session_resume(*, session: EvaluationSession) -> EvaluationSession:
    """Redo only unfinished work: failed answers get a new attempt, pending work is re-queued.

    A session still running may be resumed only when it is stalled (sessions.sweep): no
    progress for longer than its slowest task. Its pending work is then queued again.
    """
    with transaction.atomic():
        session = EvaluationSession.objects.select_for_update().get(pk=session.pk)
        if session.is_active and not sweep.session_is_stalled(session=session):
            raise Conflict("The session is already running and making progress.")
        if session.status == EvaluationSession.Status.DRAFT:
            raise Conflict("The session has not been started yet.")
        if session.status == EvaluationSession.Status.COMPLETED:
            # Nothing failed, nothing is pending: a resume would only re-queue finished work.
            raise Conflict("The session completed with nothing left to redo; re-judge it or start a new session.")
        for question in Question.objects.filter(session=session):
            latest = question.answers.order_by("-attempt").first()
            if latest is not None and latest.status == Answer.Status.FAILED:
                Answer.objects.create(
                    question=question,
                    attempt=latest.attempt + 1,
                    provider=session.generator_provider,
                    model=session.generator_model,
                )
        session.status = EvaluationSession.Status.QUEUED
        session.status_reason = ""
        session.started_at = timezone.now()
        session.finished_at = None
        session.save(update_fields=["status", "status_reason", "started_at", "finished_at"])
        judgments_requeue_for_session(session=session)
        if not session.is_judge_only:
            _enqueue_conversations(session=session)
    return session


def _enqueue_conversations(*, session: EvaluationSession) -> None:
    ids = Conversation.objects.filter(session=session).values_list("pk", flat=True)
    task_publish_on_commit(task=tasks.advance_conversation, args_list=[[pk] for pk in ids])
