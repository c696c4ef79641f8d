"""Stalled sessions: found from the database, reported by /healthz, resumable by a user,
re-queued by the sweep; tasks a broker outage kept back are sent by the sweep."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core.models import PendingTask
from sessions.models import Answer, EvaluationSession
from sessions.services import session_start
from sessions.sweep import session_is_stalled, sessions_stalled, sweep
from tests.sessions.pipeline_support import make_corpus, make_session

pytestmark = pytest.mark.django_db(transaction=True)


class BrokerQueues:
    """The messages in the test broker's queues, as (task name, args repr)."""

    names = ("generation", "judging", "ingest", "retrieval")

    def messages(self) -> list[tuple[str, str]]:
        from config.celery_app import app

        with app.connection_for_write() as conn:
            client = conn.default_channel.client
            raw = [m for queue in self.names for m in client.lrange(queue, 0, -1)]
        return [(json.loads(m)["headers"]["task"], json.loads(m)["headers"]["argsrepr"]) for m in raw]

    def purge(self) -> None:
        from config.celery_app import app

        with app.connection_for_write() as conn:
            for queue in self.names:
                conn.default_channel.queue_purge(queue)


@pytest.fixture
def broker_queues():
    queues = BrokerQueues()
    queues.purge()
    yield queues
    queues.purge()


@pytest.fixture
def corpus(team, tmp_path):
    return make_corpus(team=team, tmp_path=tmp_path)


def _running(team, corpus, *, idle_minutes: float) -> EvaluationSession:
    session = make_session(team, corpus, [["What is SAT?", "Is it fast?"], ["How many parameters?"]])
    session_start(session=session)
    EvaluationSession.objects.filter(pk=session.pk).update(
        status=EvaluationSession.Status.RUNNING, started_at=timezone.now() - timedelta(minutes=idle_minutes)
    )
    session.refresh_from_db()
    return session


def test_a_running_session_without_progress_is_stalled_and_healthz_says_so(team, corpus, client, settings):
    settings.STALL_AFTER_SECONDS = 60
    stalled = _running(team, corpus, idle_minutes=5)
    fresh = _running(team, corpus, idle_minutes=0)

    assert [p.session_id for p in sessions_stalled()] == [stalled.pk]
    assert session_is_stalled(session=stalled) and not session_is_stalled(session=fresh)
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["work"] == {"ok": False, "stalled_sessions": [stalled.pk], "pending_tasks": 0}


def test_a_stalled_session_can_be_resumed_a_progressing_one_cannot(team, member, corpus, client, settings):
    settings.STALL_AFTER_SECONDS = 60
    stalled = _running(team, corpus, idle_minutes=5)
    fresh = _running(team, corpus, idle_minutes=0)
    token = Token.objects.create(user=member)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}

    assert client.post(f"/api/v1/sessions/{fresh.pk}/resume/", **auth).status_code == 409
    response = client.post(f"/api/v1/sessions/{stalled.pk}/resume/", **auth)
    assert response.status_code == 200, response.content
    stalled.refresh_from_db()
    assert stalled.status == EvaluationSession.Status.QUEUED
    assert not session_is_stalled(session=stalled)  # progress is measured from the resume


def test_the_session_page_offers_resume_only_when_stalled(team, member, corpus, client, settings):
    settings.STALL_AFTER_SECONDS = 60
    stalled = _running(team, corpus, idle_minutes=5)
    fresh = _running(team, corpus, idle_minutes=0)
    client.force_login(member)
    page = client.get(reverse("sessions:detail", args=[stalled.pk])).content.decode()
    assert 'id="session-stalled"' in page and reverse("sessions:resume", args=[stalled.pk]) in page
    page = client.get(reverse("sessions:detail", args=[fresh.pk])).content.decode()
    assert 'id="session-stalled"' not in page and reverse("sessions:resume", args=[fresh.pk]) not in page


def test_the_sweep_requeues_stalled_work_and_sends_what_an_outage_kept_back(team, corpus, settings, broker_queues):
    settings.STALL_AFTER_SECONDS = 60
    stalled = _running(team, corpus, idle_minutes=5)
    _running(team, corpus, idle_minutes=0)
    conversations = sorted(stalled.conversations.values_list("pk", flat=True))
    PendingTask.objects.create(task_name="sessions.tasks.advance_conversation", args=[conversations[0]])
    broker_queues.purge()  # what starting the sessions queued

    report = sweep()

    assert report.tasks_published == 1 and report.sessions_requeued == 1 and not report.broker_down
    assert not PendingTask.objects.exists()
    sent = sorted(broker_queues.messages())
    expected = [("sessions.tasks.advance_conversation", f"({pk},)") for pk in [conversations[0], *conversations]]
    assert sent == sorted(expected)
    # Within the stall period the same session is not queued again.
    assert sweep().sessions_requeued == 0


def test_the_sweep_requeues_a_stalled_judge_only_session_as_its_one_judging_task(team, settings, broker_queues):
    from sessions.services import session_create_judge_only
    from sessions.session_settings import SessionSettings

    settings.STALL_AFTER_SECONDS = 60
    items = [{"question": f"Q{i}?", "answer": f"A{i}.", "context": ["[Doc: d.md] text"]} for i in range(3)]
    session = session_create_judge_only(team=team, name="judge only", items=items, settings=SessionSettings())
    session_start(session=session)
    assert broker_queues.messages() == [("sessions.tasks.judge_session", f"({session.pk},)")]  # not one per item
    broker_queues.purge()
    five_minutes_ago = timezone.now() - timedelta(minutes=5)
    EvaluationSession.objects.filter(pk=session.pk).update(
        status=EvaluationSession.Status.RUNNING, started_at=five_minutes_ago
    )
    Answer.objects.filter(question__session=session).update(started_at=five_minutes_ago, finished_at=five_minutes_ago)

    assert sweep().sessions_requeued == 1
    assert broker_queues.messages() == [("sessions.tasks.judge_session", f"({session.pk},)")]
