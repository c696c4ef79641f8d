"""The pipeline on real Celery worker processes over the real broker."""

import time

import pytest

from judging.models import Judgment
from sessions.models import Answer, EvaluationSession, Question
from sessions.services import session_create, session_start
from sessions.session_settings import SessionSettings
from tests.sessions.pipeline_support import conversations, make_corpus, wait_for_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

QUESTIONS = ["What is SAT?", "How many parameters does it train?", "Does it slow down inference?"]


def _session(team, corpus, base_url, n_conversations):
    return session_create(
        team=team,
        corpus=corpus,
        name="worker",
        conversations=conversations([list(QUESTIONS) for _ in range(n_conversations)]),
        settings=SessionSettings(
            generator_provider="openai",
            generator_model="fake-gen",
            llm_base_url=base_url,
            judge_provider="openai",
            judge_model="fake-judge",
        ),
    )


def test_conversations_overlap_and_turns_within_one_do_not(team, tmp_path, fake_openai, celery_worker_factory):
    from tests.support.fake_openai import judge_or_echo_responder

    fake_openai.set_responder(judge_or_echo_responder)
    fake_openai.set_latency(150)
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    celery_worker_factory(concurrency=6)
    session = _session(team, corpus, fake_openai.base_url, 3)
    session_start(session=session)
    session = wait_for_session(session)
    assert session.status == EvaluationSession.Status.COMPLETED

    spans = {}
    for answer in Answer.objects.filter(question__session=session).select_related("question"):
        spans.setdefault(answer.question.conversation_id, []).append(
            (answer.question.position, answer.started_at, answer.finished_at)
        )
    assert len(spans) == 3
    for turns in spans.values():
        turns.sort()
        assert [t[0] for t in turns] == [0, 1, 2]
        for (_, _, end), (_, start, _) in zip(turns, turns[1:], strict=False):
            assert end <= start, "a turn started before the previous turn of its conversation finished"
    # Different conversations ran at the same time: their first turns overlap.
    firsts = [turns[0] for turns in spans.values()]
    assert max(start for _, start, _ in firsts) < min(end for _, _, end in firsts)
    judged = Judgment.objects.filter(answer__question__session=session, status=Judgment.Status.OK)
    assert judged.count() == 9


def test_worker_killed_mid_session_then_restarted_completes_without_duplicates(
    team, tmp_path, fake_openai, celery_worker_factory
):
    from tests.support.fake_openai import judge_or_echo_responder

    fake_openai.set_responder(judge_or_echo_responder)
    fake_openai.set_latency(400)
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    worker = celery_worker_factory(concurrency=4)
    session = _session(team, corpus, fake_openai.base_url, 4)
    session_start(session=session)

    deadline = time.monotonic() + 60
    while Answer.objects.filter(question__session=session, status=Answer.Status.OK).count() < 3:
        assert time.monotonic() < deadline, "no progress before the kill"
        time.sleep(0.05)
    worker.kill()  # SIGKILL in the middle: turns and judgments are in flight
    in_flight = Answer.objects.filter(question__session=session, status=Answer.Status.PENDING).count()
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.RUNNING

    celery_worker_factory(concurrency=4)
    session = wait_for_session(session, timeout=180)
    assert session.status == EvaluationSession.Status.COMPLETED

    questions = Question.objects.filter(session=session).count()
    answers = Answer.objects.filter(question__session=session)
    assert questions == 12
    assert answers.count() == 12, f"duplicates or gaps ({in_flight} answers were in flight at the kill)"
    assert set(answers.values_list("status", flat=True)) == {Answer.Status.OK}
    assert answers.values("question_id").distinct().count() == 12
    judgments = Judgment.objects.filter(answer__question__session=session)
    assert judgments.count() == 12 and judgments.filter(status=Judgment.Status.OK).count() == 12


def test_worker_keeps_its_database_connections_between_tasks(team, tmp_path, fake_openai, celery_worker_factory):
    """Celery's Django fix-up would close the connection around every task (a new
    PostgreSQL backend per task); ours follow CONN_MAX_AGE, as web requests do."""
    from django.db import connection

    from tests.support.fake_openai import judge_or_echo_responder

    def backends() -> dict[int, object]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, backend_start FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return dict(cursor.fetchall())

    fake_openai.set_responder(judge_or_echo_responder)
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    before = backends()  # other tests' threads may hold connections of their own
    celery_worker_factory(concurrency=2)
    session = _session(team, corpus, fake_openai.base_url, 2)
    session_start(session=session)
    session = wait_for_session(session)
    assert session.status == EvaluationSession.Status.COMPLETED
    first_turn_done = min(Answer.objects.filter(question__session=session).values_list("finished_at", flat=True))
    time.sleep(1.0)  # the worker is idle now: whatever it closes after a task is closed
    worker_backends = [started for pid, started in backends().items() if pid not in before]
    # 2 conversation tasks and 12 judgment tasks ran on 2 threads; the connections that
    # served the first turn are still open after the last judgment.
    # At most one per pool thread, one in the worker's main thread (Django's checks at
    # start), and one more per pool thread that ran a hybrid search (its keyword half's
    # connection).
    assert 1 <= len(worker_backends) <= 3 + 2
    assert min(worker_backends) < first_turn_done
