"""The worker layer: each queue gets only its own tasks (a turn is retrieved on the
retrieval queue, generated on the generation queue, judged on the judging queue), and a
task of any stage delivered twice while the first delivery holds its lock makes no second
row and no second LLM call."""

from __future__ import annotations

import json
import time

import pytest

from core.queueing import task_publish
from corpora.models import Document
from corpora.services import corpus_create, document_upload
from judging.models import Judgment
from llm.gateway import REWRITE_INSTRUCTION
from sessions.models import Answer, EvaluationSession
from sessions.services import session_start
from sessions.tasks import advance_conversation, generate_answer, run_judgment
from tests.sessions.pipeline_support import CORPUS_TEXT, make_corpus, make_session, wait_for_session
from tests.support.fake_openai import is_judge_request, judge_or_echo_responder
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
NO_WARM_UP = {"WORKER_WARM_UP": "0"}


def _queued(queue: str) -> list[str]:
    """Names of the tasks waiting in ``queue`` of the test broker."""
    from config.celery_app import app

    with app.connection_for_write() as conn:
        raw = conn.default_channel.client.lrange(queue, 0, -1)
    return [json.loads(message)["headers"]["task"] for message in raw]


def _fake_llm_session(team, corpus, fake_openai, questions: list[list[str]]) -> EvaluationSession:
    """Keyword retrieval and the fake LLM: workers need no embedding model (WORKER_WARM_UP=0)."""
    return make_session(
        team,
        corpus,
        questions,
        retrieval_mode="keyword",
        generator_provider="openai",
        generator_model="fake-gen",
        judge_provider="openai",
        judge_model="fake-judge",
        llm_base_url=fake_openai.base_url,
    )


def test_a_worker_consuming_one_queue_gets_only_that_queues_tasks(team, tmp_path, fake_openai, celery_worker_factory):
    fake_openai.set_responder(judge_or_echo_responder)
    corpus = make_corpus(team=team, tmp_path=tmp_path)  # ingested in this process
    # Only the ingest worker needs the embedding model; the others start without loading it.
    session = _fake_llm_session(team, corpus, fake_openai, [["What is SAT?", "Does it slow down inference?"]])
    other = corpus_create(team=team, name="more")
    path = tmp_path / "more.md"
    path.write_text(CORPUS_TEXT)

    celery_worker_factory(queues="ingest", concurrency=2)
    document, _ = document_upload(corpus=other, file=path)
    session_start(session=session)
    wait_until(
        lambda: Document.objects.get(pk=document.pk).status == Document.Status.READY, timeout=60, what="ingestion"
    )
    # The ingest worker left the session's work alone: it waits in the retrieval queue.
    assert not Answer.objects.filter(question__session=session).exists()
    assert set(_queued("retrieval")) == {"sessions.tasks.advance_conversation"}

    celery_worker_factory(queues="retrieval", concurrency=2, env=NO_WARM_UP)
    first = wait_until(
        lambda: Answer.objects.filter(question__session=session, retrieval_latency_ms__isnull=False).first(),
        timeout=60,
        what="the first turn retrieved",
    )
    time.sleep(1)
    # Retrieved, not generated: the passages and the prompt wait on the pending answer, its
    # generation in the generation queue; the next turn waits for this one's answer.
    first.refresh_from_db()
    assert first.status == Answer.Status.PENDING and first.prompt and first.passages.exists()
    assert Answer.objects.filter(question__session=session).count() == 1
    assert set(_queued("generation")) == {"sessions.tasks.generate_answer"}

    celery_worker_factory(queues="generation", concurrency=2, env=NO_WARM_UP)
    wait_until(
        lambda: Answer.objects.filter(question__session=session, status=Answer.Status.OK).count() == 2,
        timeout=60,
        what="answers",
    )
    time.sleep(1)
    # Answers are done; their judgments wait in the judging queue for a judging worker.
    judgments = Judgment.objects.filter(answer__question__session=session)
    assert judgments.count() == 2 and set(judgments.values_list("status", flat=True)) == {Judgment.Status.PENDING}
    assert set(_queued("judging")) == {"judging.tasks.run_judgment"}
    assert len(_queued("judging")) >= 2

    celery_worker_factory(queues="judging", concurrency=2, env=NO_WARM_UP)
    session = wait_for_session(session, timeout=60)
    assert session.status == EvaluationSession.Status.COMPLETED


def _is_rewrite(request_json: dict) -> bool:
    return request_json["messages"][0]["content"] == REWRITE_INSTRUCTION


def test_a_task_delivered_twice_while_the_first_holds_its_lock_does_no_second_call(
    team, tmp_path, fake_openai, celery_worker_factory
):
    fake_openai.set_responder(judge_or_echo_responder)
    fake_openai.set_latency(1500)
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    celery_worker_factory(concurrency=4, env=NO_WARM_UP)
    session = _fake_llm_session(team, corpus, fake_openai, [["What is SAT?", "Does it slow down inference?"]])
    conversation = session.conversations.get()
    session_start(session=session)

    # While the first turn is generated (the conversation's lock is held by the generation
    # stage), deliver both stages' tasks again.
    wait_until(lambda: fake_openai.requests_to("/chat/completions"), timeout=30, what="generation call")
    first = Answer.objects.get(question__session=session, question__position=0)
    for _ in range(2):
        task_publish(task=advance_conversation, args=[conversation.pk])
        task_publish(task=generate_answer, args=[conversation.pk, first.pk])
    # The same while the judge call is under way (the judgment's lock is held).
    wait_until(
        lambda: any(is_judge_request(r.json) for r in fake_openai.requests_to("/chat/completions")),
        timeout=30,
        what="judge call",
    )
    judgment = Judgment.objects.get(answer=first)
    task_publish(task=run_judgment, args=[judgment.pk])
    task_publish(task=run_judgment, args=[judgment.pk])
    # And while the follow-up is rewritten (the lock is held by the retrieval stage).
    wait_until(
        lambda: any(_is_rewrite(r.json) for r in fake_openai.requests_to("/chat/completions")),
        timeout=30,
        what="rewrite call",
    )
    for _ in range(2):
        task_publish(task=advance_conversation, args=[conversation.pk])
        task_publish(task=generate_answer, args=[conversation.pk, first.pk])

    session = wait_for_session(session, timeout=60)
    time.sleep(2)  # let the duplicates run out
    assert session.status == EvaluationSession.Status.COMPLETED
    assert Answer.objects.filter(question__session=session).count() == 2
    assert Judgment.objects.filter(answer__question__session=session).count() == 2
    calls = fake_openai.requests_to("/chat/completions")
    assert sum(is_judge_request(r.json) for r in calls) == 2
    assert sum(_is_rewrite(r.json) for r in calls) == 1
    assert sum(not is_judge_request(r.json) and not _is_rewrite(r.json) for r in calls) == 2
