"""What the pipeline asks the database: the finish check and the queries per turn."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.runmode import in_process_tasks
from judging.models import Judgment
from sessions.models import Answer, EvaluationSession, Question
from sessions.selectors import session_has_pending_work
from sessions.services import session_start
from tests.sessions.pipeline_support import make_corpus, make_session

pytestmark = pytest.mark.django_db(transaction=True)

TURNS = ["What is SAT?", "How many parameters does it train?", "Does it slow down inference?", "And its LR?"]


def _run(session) -> int:
    """Run the session in this process; return the number of SQL statements it took."""
    with CaptureQueriesContext(connection) as queries, in_process_tasks():
        session_start(session=session)
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.COMPLETED
    return len(queries.captured_queries)


def test_pending_work_covers_unanswered_questions_pending_answers_and_both_kinds_of_judgments(team, tmp_path):
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = make_session(team, corpus, [["What is SAT?"]], robustness=True)
    other = make_session(team, corpus, [["Does SAT slow down inference?"]])
    assert session_has_pending_work(session_id=session.pk)  # nothing answered yet
    _run(session)
    assert not session_has_pending_work(session_id=session.pk)
    assert session_has_pending_work(session_id=other.pk)  # its question is unanswered: no leak between sessions

    answer = Answer.objects.get(question__session=session)
    genuine = Judgment.objects.get(answer=answer)
    probe_judgment = Judgment.objects.filter(probe__answer=answer).first()
    for rows, field, pending, done in (
        (Answer.objects.filter(pk=answer.pk), "status", Answer.Status.PENDING, Answer.Status.OK),
        (Judgment.objects.filter(pk=genuine.pk), "status", Judgment.Status.PENDING, Judgment.Status.OK),
        (Judgment.objects.filter(pk=probe_judgment.pk), "status", Judgment.Status.PENDING, Judgment.Status.OK),
    ):
        rows.update(**{field: pending})
        assert session_has_pending_work(session_id=session.pk)
        rows.update(**{field: done})
        assert not session_has_pending_work(session_id=session.pk)
    Question.objects.create(session=session, conversation=answer.question.conversation, position=9, text="More?")
    assert session_has_pending_work(session_id=session.pk)


def test_queries_per_turn_stay_fixed_as_a_conversation_grows(team, tmp_path):
    """A turn (retrieve, generate, store, judge, store the verdict, check for the end)
    takes the same few statements however long the conversation already is."""
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    short = _run(make_session(team, corpus, [TURNS[:2]]))
    long = _run(make_session(team, corpus, [TURNS]))
    per_turn = (long - short) / 2
    # 32 today, BEGIN/COMMIT included. The retrieval task: the conversation, its lock,
    # its turns (2), retrieval (4), the answer row inserted with its passages, the unlock.
    # The generation task: lock, the answer, its results with the judgment, unlock. The
    # judgment: lock, 2 reads, passages, verdicts, unlock, the finish check. It was 41.5
    # before the conversation was read once per task, then 24 while one task both
    # retrieved and generated a conversation's turns; the retrieval stage of its own
    # re-reads the conversation and takes its lock once more per turn.
    assert per_turn <= 32, f"{per_turn} statements per turn"
