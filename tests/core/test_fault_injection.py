"""Faults injected into the real services: the broker stopped mid-session and during a
batch POST, LLM calls failing at random. Nothing may be stranded or done twice.

The worker runs with a one-second sweep and a short stall period, so recovery is quick;
the worker is never restarted in these tests.
"""

from __future__ import annotations

import contextlib
import random
import time

import pytest
from rest_framework.authtoken.models import Token

from config import embedded
from core.models import PendingTask
from judging.models import Judgment
from sessions.models import Answer, Batch, EvaluationSession, Question
from sessions.services import session_start
from tests.sessions.pipeline_support import make_corpus, make_session, wait_for_session
from tests.support.fake_openai import judge_or_echo_responder
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

QUESTIONS = ["What is SAT?", "How many parameters does it train?", "Does it slow down inference?"]
FAST_SWEEP = {"SWEEP_INTERVAL_SECONDS": "1", "STALL_AFTER_SECONDS": "8"}


@contextlib.contextmanager
def broker_down():
    """Redis stopped for the duration of the block, then started again with its data."""
    embedded.redis_stop()
    try:
        yield
    finally:
        embedded.redis_start()


def _assert_exactly_once(session: EvaluationSession) -> None:
    """One answer per question and one judgment per answer (judge_repeats is 1)."""
    questions = Question.objects.filter(session=session).count()
    answers = Answer.objects.filter(question__session=session)
    assert answers.count() == questions
    assert set(answers.values_list("attempt", flat=True)) == {1}
    judgments = Judgment.objects.filter(answer__question__session=session)
    assert judgments.count() == answers.filter(status=Answer.Status.OK).count()
    assert not judgments.filter(status=Judgment.Status.PENDING).exists()


def _openai_session(team, corpus, base_url, n_conversations: int, **settings) -> EvaluationSession:
    return make_session(
        team,
        corpus,
        [list(QUESTIONS) for _ in range(n_conversations)],
        generator_provider="openai",
        generator_model="fake-gen",
        llm_base_url=base_url,
        judge_provider="openai",
        judge_model="fake-judge",
        **settings,
    )


def test_broker_stopped_mid_session_the_session_completes_exactly_once(
    team, tmp_path, fake_openai, celery_worker_factory
):
    fake_openai.set_responder(judge_or_echo_responder)
    fake_openai.set_latency(150)
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    worker = celery_worker_factory(concurrency=4, env=FAST_SWEEP)
    session = _openai_session(team, corpus, fake_openai.base_url, 4)
    session_start(session=session)
    wait_until(
        lambda: Answer.objects.filter(question__session=session, status=Answer.Status.OK).count() >= 2,
        timeout=60,
        what="first answers",
    )

    with broker_down():
        # Turns go on inside the running tasks; what they hand on (judgments, the next
        # slice of a conversation) cannot be published and is kept in the database.
        wait_until(lambda: PendingTask.objects.exists(), timeout=30, what="work kept back while the broker is down")
        time.sleep(2)

    session = wait_for_session(session, timeout=120)
    assert session.status == EvaluationSession.Status.COMPLETED
    _assert_exactly_once(session)
    assert worker.proc.poll() is None, "the worker was not restarted"
    wait_until(lambda: not PendingTask.objects.exists(), timeout=10, what="kept-back tasks sent")


def test_batch_posted_while_the_broker_is_down_is_created_replayed_and_runs(
    team, member, tmp_path, fake_openai, celery_worker_factory, client
):
    fake_openai.set_responder(judge_or_echo_responder)
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    worker = celery_worker_factory(concurrency=4, env=FAST_SWEEP)
    token = Token.objects.create(user=member)
    body = {
        "kind": "questions",
        "corpus": corpus.pk,
        "settings": {"generator_provider": "offline", "judge_provider": "offline"},
        "conversations": [{"questions": QUESTIONS}, {"questions": QUESTIONS[:2]}],
    }
    headers = {"HTTP_AUTHORIZATION": f"Token {token.key}", "HTTP_IDEMPOTENCY_KEY": "outage-1"}

    with broker_down():
        first = client.post("/api/v1/batches/", body, content_type="application/json", **headers)
        assert first.status_code == 201, first.content
        replay = client.post("/api/v1/batches/", body, content_type="application/json", **headers)
        assert replay.status_code == 200, replay.content
        assert replay.json()["id"] == first.json()["id"]
        assert Batch.objects.filter(team=team).count() == 1
        assert PendingTask.objects.filter(task_name="sessions.tasks.advance_conversation").count() == 2

    session = Batch.objects.get(pk=first.json()["id"]).session
    session = wait_for_session(session, timeout=120)
    assert session.status == EvaluationSession.Status.COMPLETED
    _assert_exactly_once(session)
    assert worker.proc.poll() is None


def test_thirty_percent_llm_faults_every_call_is_accounted_for(team, tmp_path, fake_openai, celery_worker_factory):
    """Every HTTP call the fake server saw is counted in an answer's or a judgment's attempts,
    and every failure says what happened."""
    fake_openai.set_responder(judge_or_echo_responder)
    rng = random.Random(12)
    fake_openai.script(rng.choices(["500", "ok"], weights=[3, 7], k=400))
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    celery_worker_factory(concurrency=4, env={**FAST_SWEEP, "LLM_MAX_RETRIES": "2"})
    session = _openai_session(team, corpus, fake_openai.base_url, 3, robustness=True)
    session_start(session=session)
    session = wait_for_session(session, timeout=180)

    assert session.status in (EvaluationSession.Status.COMPLETED, EvaluationSession.Status.COMPLETED_WITH_ERRORS)
    answers = Answer.objects.filter(question__session=session)
    assert answers.count() == Question.objects.filter(session=session).count()
    for answer in answers.filter(status=Answer.Status.FAILED):
        # Generation gave up after 3 attempts; a follow-up's query rewrite adds its own.
        assert "failed after 3 attempts" in answer.error and "HTTP 500" in answer.error
        assert answer.provider_attempts >= 3
    judgments = Judgment.objects.filter(answer__question__session=session) | Judgment.objects.filter(
        probe__answer__question__session=session
    )
    assert not judgments.filter(status=Judgment.Status.PENDING).exists()
    for judgment in judgments.filter(status=Judgment.Status.FAILED):
        assert judgment.error and judgment.attempts >= 3 and judgment.latency_ms is not None
    recorded = sum(answers.values_list("provider_attempts", flat=True)) + sum(
        judgments.values_list("attempts", flat=True)
    )
    # Query rewrites, generations, judge calls and probes' fake-writing calls, retries included.
    assert recorded == len(fake_openai.requests_to("/chat/completions"))


def test_a_turn_retrieved_while_the_broker_is_down_is_generated_once_it_is_back(
    team, tmp_path, fake_openai, celery_worker_factory
):
    """The retrieval stage's hand-off to generation is kept in the database, like any other."""
    from sessions.services import conversation_advance

    fake_openai.set_responder(judge_or_echo_responder)
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = _openai_session(team, corpus, fake_openai.base_url, 1)
    conversation = session.conversations.get()
    with broker_down():
        session_start(session=session)
        assert conversation_advance(conversation_id=conversation.pk) == "retrieved"  # the stage, run here
        kept = sorted(PendingTask.objects.values_list("task_name", flat=True))
        assert kept == ["sessions.tasks.advance_conversation", "sessions.tasks.generate_answer"]
        first = Answer.objects.get(question__session=session)
        assert first.status == Answer.Status.PENDING and first.passages.exists()

    worker = celery_worker_factory(concurrency=4, env=FAST_SWEEP)
    session = wait_for_session(session, timeout=120)
    assert session.status == EvaluationSession.Status.COMPLETED
    _assert_exactly_once(session)
    assert worker.proc.poll() is None
    wait_until(lambda: not PendingTask.objects.exists(), timeout=10, what="kept-back tasks sent")
