"""The session page and the review page in a real browser (Debian Chromium, headless).

Logs in through the form, watches a queued session's status change live (progress.json
polling), reads a finished session's report, and overrides a verdict with the keyboard.
Screenshots go to the temp directory (ASSAY_SCREENSHOTS overrides it) for a human to look at.
"""

from __future__ import annotations

import pytest

from sessions.session_settings import SessionSettings
from tests.browser.conftest import log_in, screenshot_dir

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_live_progress_report_and_keyboard_override(live_server, browser_page, team, user_factory, tmp_path):
    from core.runmode import in_process_tasks
    from judging.models import CriterionVerdict, Judgment, Override
    from sessions.models import EvaluationSession
    from sessions.services import session_cancel, session_create, session_start
    from tests.sessions.pipeline_support import conversations, make_corpus

    page = browser_page
    base = live_server.url
    user_factory(team=team, role="reviewer", username="rita")
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    finished = session_create(
        team=team,
        corpus=corpus,
        name="SAT walkthrough",
        conversations=conversations(
            [["What is Sparse Adapter Tuning?", "How many parameters does it train?"], ["Does SAT slow inference?"]]
        ),
        settings=SessionSettings(),
    )
    with in_process_tasks():
        session_start(session=finished)
    finished.refresh_from_db()
    assert finished.status == EvaluationSession.Status.COMPLETED
    queued = session_create(
        team=team,
        corpus=corpus,
        name="Waiting",
        conversations=conversations([["What is SAT?"]]),
        settings=SessionSettings(),
    )
    session_start(session=queued)  # no worker here: it stays queued until cancelled below

    # Live: the page polls progress.json and follows the status without a reload.
    log_in(page, base, "rita", f"/sessions/{queued.pk}/")
    assert page.locator("#session-status").inner_text() == "Queued"
    assert page.locator("#progress-card[data-active='1']").count() == 1
    session_cancel(session=queued)
    page.wait_for_function("document.getElementById('session-status').textContent.trim() === 'Cancelled'")
    page.locator("#session-header button", has_text="Resume").wait_for()  # sections re-rendered

    # The finished session's report.
    page.goto(f"{base}/sessions/{finished.pk}/")
    assert page.locator("#progress-percent").inner_text() == "100%"
    assert page.locator("#progress-bar").evaluate("el => el.style.width") == "100%"
    assert "over 3 of 3 judged" in page.locator("#mean-accounting").inner_text()
    charts = page.locator("#charts img.chart-img")
    assert charts.count() == 3  # scores, criteria, latency (no probes in this session)
    assert all(w > 300 for w in charts.evaluate_all("imgs => imgs.map(i => i.naturalWidth)"))  # the SVGs decode
    assert page.locator("#question-table tbody tr").count() == 3
    first_turn = page.locator("#turns .turn").first
    assert first_turn.locator("table.verdicts tbody tr").count() == 5
    assert "Relevance" in first_turn.locator("table.verdicts").inner_text()
    first_turn.locator("details.prompt summary").click()
    assert "Current Question:" in first_turn.locator("details.prompt pre").inner_text()
    page.screenshot(path=str(screenshot_dir() / "assay-session-page.png"), full_page=True)

    # Review with the keyboard: j focuses the first criterion, a digit rates it and moves on
    # to the next, r puts the cursor in the reason, Enter saves without leaving the page.
    judgment = Judgment.objects.filter(answer__question__session=finished).order_by("pk").first()
    verdict = CriterionVerdict.objects.select_related("criterion").get(judgment=judgment, criterion__key="relevance")
    key, label = ("5", "Excellent") if verdict.rating == "Worse" else ("1", "Worse")
    page.goto(f"{base}/review/judgments/{judgment.pk}/")
    page.keyboard.press("j")
    assert "focused" in (page.locator("#criterion-relevance").get_attribute("class") or "")
    page.keyboard.press(key)
    assert page.locator("#criterion-relevance select").input_value() == label
    assert "focused" in (page.locator("#criterion-faithfulness").get_attribute("class") or "")
    page.keyboard.press("r")
    reason = page.locator("#ratings-form input[name=reason]")
    assert reason.evaluate("el => el === document.activeElement")
    reason.type("Checked against the source: the answer misses the question.")
    reason.press("Enter")
    page.locator("#ratings-status", has_text="Saved").wait_for()
    relevance = page.locator("#criterion-relevance")
    assert relevance.locator("[data-effective]").inner_text() == label
    assert relevance.locator("[data-judge-rating]").inner_text() == verdict.rating
    override = Override.objects.get()
    assert (override.old_rating, override.new_rating, override.criterion.key) == (verdict.rating, label, "relevance")
    verdict.refresh_from_db()
    assert verdict.rating == override.old_rating  # the judge's verdict itself is untouched
    page.screenshot(path=str(screenshot_dir() / "assay-review-page.png"), full_page=True)

    page.goto(f"{base}/sessions/")
    assert page.locator("#session-table tbody tr").count() == 2
    page.screenshot(path=str(screenshot_dir() / "assay-session-list.png"), full_page=True)
    page.goto(f"{base}/sessions/new/")
    page.screenshot(path=str(screenshot_dir() / "assay-session-form.png"), full_page=True)

    page.goto(f"{base}/review/sessions/{finished.pk}/")
    page.keyboard.press("j")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/review/judgments/" in page.url
