"""Judge-only batches on a real worker: their items are judged side by side, at most
JUDGE_CONCURRENCY (default: the worker's threads) at a time, starting in input order, and
one failing item loses no other."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from judging.models import Judgment
from sessions.models import Batch, EvaluationSession
from tests.sessions.pipeline_support import wait_for_session
from tests.support.judge_load import HoldingJudge, judge_items_numbered

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def judge_worker(settings, fake_openai, celery_worker_factory):
    """Start a judging worker whose judge is the fake server; returns the fake's responder."""
    settings.LLM_BASE_URL = fake_openai.base_url  # the API checks that a judge is configured

    def start(*, threads: int, extra_env: dict[str, str] | None = None, hold: float = 0.3) -> HoldingJudge:
        judge = HoldingJudge(hold=hold)
        fake_openai.set_responder(judge)
        env = {"LLM_BASE_URL": fake_openai.base_url, "LLM_MODEL": "fake-judge", "WORKER_WARM_UP": "0"}
        celery_worker_factory(queues="judging", concurrency=threads, env={**env, **(extra_env or {})})
        return judge

    return start


def _submit(member, items: list[dict]) -> tuple[EvaluationSession, APIClient]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=member).key}")
    body = {"kind": "answers", "items": items, "settings": {"judge_provider": "openai", "judge_model": "fake-judge"}}
    response = client.post("/api/v1/batches/", body, format="json")
    assert response.status_code == 201, response.content
    return Batch.objects.get(pk=response.json()["id"]).session, client


def test_a_judge_only_batch_judges_judge_concurrency_items_at_a_time_in_input_order(member, judge_worker):
    judge = judge_worker(threads=4, extra_env={"JUDGE_CONCURRENCY": "3"})
    items = judge_items_numbered(9)
    session, client = _submit(member, items)
    session = wait_for_session(session, timeout=60)

    assert session.status == EvaluationSession.Status.COMPLETED
    assert judge.peak == 3  # fewer than the worker's four threads: the setting bounds it
    assert sorted(judge.arrived[:3]) == [1, 2, 3] and sorted(judge.arrived) == list(range(1, 10))
    results = client.get(f"/api/v1/sessions/{session.pk}/results/").json()
    assert [q["question"] for q in results["questions"]] == [item["question"] for item in items]
    assert all(q["weighted_score"] is not None for q in results["questions"])


def test_without_the_setting_a_batch_uses_the_workers_threads_and_a_failure_loses_nothing(member, judge_worker):
    judge = judge_worker(threads=2, extra_env={"LLM_MAX_RETRIES": "0"}, hold=0.2)
    items = judge_items_numbered(6, failing=4)
    session, client = _submit(member, items)
    session = wait_for_session(session, timeout=60)

    assert session.status == EvaluationSession.Status.COMPLETED_WITH_ERRORS
    assert judge.peak == 2
    judgments = Judgment.objects.filter(answer__question__session=session)
    assert judgments.count() == 6 and judgments.filter(status=Judgment.Status.OK).count() == 5
    failed = judgments.get(status=Judgment.Status.FAILED)
    assert failed.answer.question.text == "What is item 4?" and failed.error
    results = client.get(f"/api/v1/sessions/{session.pk}/results/").json()
    assert [q["question"] for q in results["questions"]] == [item["question"] for item in items]
    scored = [q["weighted_score"] is not None for q in results["questions"]]
    assert scored == [True, True, True, False, True, True]
