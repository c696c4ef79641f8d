"""A team's workspace in a real browser: an admin adds a reviewer, a reviewer rates all five
criteria with the keyboard in one save, two experiments are compared side by side, and the
main pages fit a phone's width."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.browser.conftest import log_in, screenshot_dir

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_adds_a_reviewer_who_sets_a_password_and_logs_in(live_server, browser_page, team, user_factory):
    from accounts.models import Membership

    page, base = browser_page, live_server.url
    user_factory(team=team, role="admin", username="ada")
    log_in(page, base, "ada", "/accounts/team/")
    page.fill("#id_username", "carol")
    page.fill("#id_email", "carol@example.org")
    page.select_option("#id_role", "reviewer")
    page.click("#member-add button[type=submit]")
    link = page.locator("#set-password-url").input_value()
    assert "/accounts/set-password/" in link
    assert page.locator('#members tr[data-member="carol"]').count() == 1
    assert Membership.objects.get(team=team, user__username="carol").role == "reviewer"
    page.screenshot(path=str(screenshot_dir() / "assay-team-page.png"), full_page=True)

    page.click("button.link")  # log out
    page.goto(link)
    page.fill("#id_new_password1", "a-long-Pass-42")
    page.fill("#id_new_password2", "a-long-Pass-42")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/accounts/login/")
    page.fill("#id_username", "carol")
    page.fill("#id_password", "a-long-Pass-42")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert "Reviewer" in page.locator(".topbar .user").inner_text()
    assert get_user_model().objects.get(username="carol").has_usable_password()


def test_reviewer_rates_all_five_criteria_with_the_keyboard_in_one_save(live_server, browser_page, team, reviewer):
    from judging.models import CriterionVerdict, Override
    from tests.judging.review_support import judged, ratings_of

    page, base = browser_page, live_server.url
    _, (judgment,) = judged(team, items=[("What does SAT train?", "Everything.", ratings_of("Excellent"))])
    log_in(page, base, "rita", "/review/?sort=score")
    page.keyboard.press("j")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/review/judgments/{judgment.pk}/")
    url_before = page.url
    page.keyboard.press("j")
    for key in ("5", "2", "3", "5", "4"):  # Excellent, Bad, Fair, Excellent, Good; then the reason
        page.keyboard.press(key)
    reason = page.locator("#ratings-form input[name=reason]")
    assert reason.evaluate("el => el === document.activeElement")
    page.keyboard.type("Only the first claim is in the passages.")
    page.keyboard.press("Enter")
    page.locator("#ratings-status", has_text="Saved").wait_for()
    assert page.url == url_before  # no reload, no navigation
    assert page.locator("#judgment-score").inner_text() == "82.0"
    assert page.locator("#criterion-faithfulness [data-effective]").inner_text() == "Bad"
    assert page.locator("#criterion-faithfulness [data-judge-note]").is_visible()
    assert not page.locator("#criterion-relevance [data-judge-note]").is_visible()
    assert Override.objects.filter(judgment=judgment).count() == 3  # the three changed criteria
    assert set(CriterionVerdict.objects.filter(judgment=judgment).values_list("rating", flat=True)) == {"Excellent"}
    page.screenshot(path=str(screenshot_dir() / "assay-review-one-save.png"), full_page=True)


def test_two_sessions_compared_side_by_side(live_server, browser_page, team, member):
    from tests.judging.review_support import finish, judged, ratings_of

    page, base = browser_page, live_server.url
    first, _ = judged(
        team, name="Prompt A", items=[("What is SAT?", "a", ratings_of("Fair")), ("Why?", "b", ratings_of("Good"))]
    )
    second, _ = judged(
        team, name="Prompt B", items=[("What is SAT?", "a2", ratings_of("Good")), ("Why?", "b", ratings_of("Good"))]
    )
    finish(first), finish(second)
    log_in(page, base, "alice", "/sessions/")
    page.check(f'tr[data-session="{first.pk}"] input[name=ids]')
    page.check(f'tr[data-session="{second.pk}"] input[name=ids]')
    with page.expect_navigation():
        page.click("#compare-selected")
    assert "/sessions/experiments/" in page.url
    assert page.locator("#experiment-rows tbody tr").count() == 2
    assert "+20.0" in page.locator("#experiment-rows").inner_text()
    page.click("text=Changed")
    assert page.locator("#experiment-rows tbody tr").count() == 1
    assert "What is SAT?" in page.locator("#experiment-rows").inner_text()
    page.screenshot(path=str(screenshot_dir() / "assay-experiment.png"), full_page=True)


def test_main_pages_fit_a_phone(live_server, browser_page, team, reviewer):
    from tests.judging.review_support import finish, judged, ratings_of

    page, base = browser_page, live_server.url
    session, _ = judged(team, items=[("What is SAT?", "Sparse adapter tuning.", ratings_of("Good"))])
    finish(session)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, base, "rita", "/")
    for path in ("/", "/sessions/", "/review/", "/accounts/team/", f"/sessions/{session.pk}/"):
        page.goto(f"{base}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (path, overflow)
    page.screenshot(path=str(screenshot_dir() / "assay-phone.png"), full_page=True)
