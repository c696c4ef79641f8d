"""The session list reads stored score summaries: its cost does not grow with sessions."""

import pytest

from judging.models import Judgment
from judging.services import override_create
from sessions.models import EvaluationSession
from sessions.scores import session_scores, stored_mean
from tests.sessions.api_support import judged_session

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> tuple[int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    return len(ctx.captured_queries), response


def test_list_query_count_does_not_grow_with_finished_sessions(team, member, client):
    client.force_login(member)
    for i in range(2):
        judged_session(team=team, user=member, name=f"s{i}")
    client.get("/sessions/")  # warms what is cached per process
    few, _ = _queries(client, "/sessions/")
    for i in range(2, 8):
        judged_session(team=team, user=member, name=f"s{i}")
    many, response = _queries(client, "/sessions/")
    assert many == few
    assert response.content.count(b"over 1 of 1 judged") == 8


def test_list_computes_a_missing_summary_without_storing_it(team, member, client):
    client.force_login(member)
    session = judged_session(team=team, user=member)
    EvaluationSession.objects.filter(pk=session.pk).update(score_summary={})  # finished before summaries existed
    response = client.get("/sessions/")
    assert response.content.count(b"over 1 of 1 judged") == 1
    assert EvaluationSession.objects.get(pk=session.pk).score_summary == {}  # a read never writes


def test_stored_mean_follows_overrides(team, member, reviewer):
    session = judged_session(team=team, user=member)
    from sessions.services import session_score_summary_store

    session_score_summary_store(session=session)
    session.refresh_from_db()
    assert stored_mean(session=session).mean == session_scores(session=session).overall.mean
    before = stored_mean(session=session).mean
    judgment = Judgment.objects.get(answer__question__session=session)
    override_create(judgment=judgment, criterion_key="relevance", reviewer=reviewer, new_rating="Worse", reason="Off.")
    session = EvaluationSession.objects.get(pk=session.pk)
    assert stored_mean(session=session).mean < before
    assert stored_mean(session=session).mean == session_scores(session=session).overall.mean
