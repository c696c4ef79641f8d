"""Review pages: the queue, the judgment page, and overrides by role (member / reviewer / other team)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from judging.models import CriterionVerdict, Judgment, Override
from judging.selectors import rubric_default
from sessions.services import session_create_judge_only
from sessions.session_settings import SessionSettings

pytestmark = pytest.mark.django_db

CONTEXT = "[Doc: notes.md] SAT trains 2.8M"
ALL_EXCELLENT = {
    "relevance": "Excellent",
    "faithfulness": "Excellent",
    "completeness": "Excellent",
    "clarity": "Excellent",
    "conciseness": "Excellent",
}


def judged_session(team, *, questions=("What does SAT train?",), status=Judgment.Status.OK, flagged=False):
    """A judge-only session whose answers carry a hand-made judgment (no model needed)."""
    session = session_create_judge_only(
        team=team,
        name="Review me",
        items=[
            {"conversation": "c1", "question": q, "answer": f"Answer to {q}", "context": [CONTEXT]} for q in questions
        ],
        settings=SessionSettings(),
    )
    rubric = rubric_default()
    criteria = {c.key: c for c in rubric.criteria.all()}
    judgments = []
    for answer in [a for q in session.questions.order_by("position") for a in q.answers.all()]:
        judgment = Judgment.objects.create(
            answer=answer,
            rubric=rubric,
            status=status,
            judge_provider="offline",
            judge_model="heuristic-minilm",
            raw_output="not json at all" if status != Judgment.Status.OK else '{"ok": true}',
            flagged_for_review=flagged,
            latency_ms=900,
            weighted_score=100 if status == Judgment.Status.OK else None,
        )
        if status == Judgment.Status.OK:
            CriterionVerdict.objects.bulk_create(
                CriterionVerdict(
                    judgment=judgment, criterion=criteria[key], rating=label, points=100, rationale=f"{key} is fine"
                )
                for key, label in ALL_EXCELLENT.items()
            )
        judgments.append(judgment)
    return session, judgments


def override_payload(**extra):
    data = {"criterion_key": "faithfulness", "new_rating": "Bad", "reason": "The 2.8M figure is not in the context."}
    data.update(extra)
    return data


def test_member_sees_verdicts_but_no_override_form(client, team, member):
    _, (judgment,) = judged_session(team)
    client.force_login(member)
    response = client.get(reverse("judging:judgment", args=[judgment.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "faithfulness is fine" in body
    assert "data-override-form" not in body
    assert "needs the reviewer or admin role" in body


def test_member_cannot_override_verdict(client, team, member):
    _, (judgment,) = judged_session(team)
    client.force_login(member)
    response = client.post(reverse("judging:judgment", args=[judgment.pk]), override_payload())
    assert response.status_code == 403
    assert "Only reviewers and admins" in response.content.decode()
    assert not Override.objects.exists()


def test_reviewer_override_is_shown_and_judge_verdict_kept(client, team, reviewer):
    session, (judgment,) = judged_session(team)
    client.force_login(reviewer)
    url = reverse("judging:judgment", args=[judgment.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.content.decode().count("data-override-form") == 5

    response = client.post(url, override_payload())
    assert response.status_code == 302
    override = Override.objects.get()
    assert (override.old_rating, override.new_rating, override.reviewer) == ("Excellent", "Bad", reviewer)
    verdict = CriterionVerdict.objects.get(judgment=judgment, criterion__key="faithfulness")
    assert verdict.rating == "Excellent"  # the judge's verdict is never edited

    body = client.get(url).content.decode()
    assert "overridden" in body
    assert "judge said" in body and "data-judge-rating>Excellent<" in body
    assert "The 2.8M figure is not in the context." in body
    assert 'id="judgment-score">88.0<' in body  # 100 - 0.2 × (100 - 40)

    report = client.get(session.get_absolute_url()).content.decode()
    assert "Reviewer overrides" in report and "rita" in report
    assert "judge said" in report


def test_override_needs_a_reason(client, team, reviewer):
    _, (judgment,) = judged_session(team)
    client.force_login(reviewer)
    response = client.post(reverse("judging:judgment", args=[judgment.pk]), override_payload(reason="  "))
    assert response.status_code == 400
    assert "Say why you override the verdict." in response.content.decode()
    assert not Override.objects.exists()


def test_override_to_the_same_rating_is_rejected_with_a_message(client, team, reviewer):
    _, (judgment,) = judged_session(team)
    client.force_login(reviewer)
    response = client.post(reverse("judging:judgment", args=[judgment.pk]), override_payload(new_rating="Excellent"))
    assert response.status_code == 400
    assert "already Excellent" in response.content.decode()


def test_queue_lists_flagged_and_unparseable_first(client, team, member):
    _, ok_judgments = judged_session(team, questions=("First?", "Second?"))
    _, (bad,) = judged_session(team, questions=("Broken?",), status=Judgment.Status.UNPARSEABLE, flagged=True)
    client.force_login(member)
    response = client.get(reverse("judging:queue"))
    assert response.status_code == 200
    rows = [row["judgment"].pk for row in response.context["rows"]]
    assert rows[0] == bad.pk
    assert set(rows[1:]) == {j.pk for j in ok_judgments}
    body = response.content.decode()
    assert "flagged" in body and "Unparseable" in body

    attention = client.get(reverse("judging:queue") + "?show=attention")
    assert [row["judgment"].pk for row in attention.context["rows"]] == [bad.pk]


def test_unparseable_judgment_page_shows_raw_output_and_no_form(client, team, reviewer):
    _, (bad,) = judged_session(team, status=Judgment.Status.UNPARSEABLE, flagged=True)
    client.force_login(reviewer)
    body = client.get(reverse("judging:judgment", args=[bad.pk])).content.decode()
    assert "not json at all" in body
    assert "flagged for review" in body
    assert "data-override-form" not in body


def test_other_team_gets_404_on_review_pages(client, team, team_factory, user_factory):
    session, (judgment,) = judged_session(team)
    outsider = user_factory(team=team_factory("Team B"), role="admin")
    client.force_login(outsider)
    assert client.get(reverse("judging:judgment", args=[judgment.pk])).status_code == 404
    assert client.post(reverse("judging:judgment", args=[judgment.pk]), override_payload()).status_code == 404
    assert client.get(reverse("judging:session_queue", args=[session.pk])).status_code == 404
    assert client.get(reverse("judging:queue")).context["rows"] == []
    assert not Override.objects.exists()


def test_review_pages_need_login(client, team):
    _, (judgment,) = judged_session(team)
    response = client.get(reverse("judging:judgment", args=[judgment.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_queue_query_count_does_not_grow_with_judgments(client, team, member, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    judged_session(team, questions=("One?", "Two?"))
    client.force_login(member)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("judging:queue"))
    judged_session(team, questions=("Three?", "Four?", "Five?", "Six?"))
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("judging:queue"))
    assert len(response.context["rows"]) == 6
