"""Failed, unparseable and pending are three different counts everywhere."""

from __future__ import annotations

import pytest

from core.runmode import in_process_tasks
from judging.models import Judgment
from sessions.selectors import session_report
from sessions.services import session_start
from sessions.summary_text import render_summary
from tests.sessions.pipeline_support import make_corpus, make_session

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_judgment_that_failed_after_rate_limits_is_counted_as_failed_not_unparseable(
    team, tmp_path, fake_openai, client, member
):
    fake_openai.script(["429"] * 5)  # the judge's one call: five rate-limited attempts
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = make_session(
        team,
        corpus,
        [["What is SAT?"]],
        judge_provider="openai",
        judge_model="fake-judge",
        llm_base_url=fake_openai.base_url,
    )
    with in_process_tasks():
        session_start(session=session)

    judgment = Judgment.objects.get(answer__question__session=session)
    assert judgment.status == Judgment.Status.FAILED
    assert judgment.attempts == 5 and judgment.latency_ms is not None
    report = session_report(session=session)
    totals = report.totals
    assert (totals["failed_judgments"], totals["unparseable_judgments"], totals["pending_judgments"]) == (1, 0, 0)
    mean = totals["mean_score"]
    assert (mean.n_failed, mean.n_unparseable, mean.n_pending) == (1, 0, 0)
    assert str(mean) == "no score: 0 of 1 judged; 1 failed"
    assert "unparseable" not in str(mean)
    assert "verdicts: 1 failed, 0 unparseable, 0 pending" in render_summary(report)

    client.force_login(member)
    page = client.get(session.get_absolute_url()).content.decode()
    assert "1 failed judgment" in page and "1 failed" in page
    assert "unparseable judgment" not in page
