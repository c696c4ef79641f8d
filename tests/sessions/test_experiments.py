"""Experiments side by side (questions matched by text per conversation) and a corpus's
score trend (mean and AUROC over time, drawn as a server-side SVG)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions.models import EvaluationSession
from sessions.scores import session_robustness
from sessions.trends import corpus_trend
from tests.corpora.factories import CorpusFactory
from tests.judging.review_support import finish, judged, probe_of, ratings_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_runs(team):
    base, _ = judged(
        team,
        name="Baseline",
        items=[
            ("What is SAT?", "Sparse adapter tuning.", ratings_of("Good")),
            ("How   fast is it?", "Fast.", ratings_of("Fair")),
            ("Only in the baseline?", "Yes.", ratings_of("Good")),
        ],
    )
    new, _ = judged(
        team,
        name="New prompt",
        items=[
            ("What is SAT?", "Sparse adapter tuning.", ratings_of("Good")),
            ("How fast is it?", "No added latency.", ratings_of("Excellent", "Good", "Fair", "Fair", "Fair")),
            ("Only in the new one?", "Yes.", ratings_of("Bad")),
        ],
    )
    EvaluationSession.objects.filter(pk=base.pk).update(created_at=timezone.now() - timedelta(days=1))
    EvaluationSession.objects.filter(pk=new.pk).update(judge_model="gpt-4o-mini")
    return finish(base), finish(new)


def compare(client, *sessions, **params):
    return client.get(reverse("sessions:experiments"), {"ids": [s.pk for s in sessions], **params})


def test_two_sessions_side_by_side(member_client, two_runs):
    base, new = two_runs
    response = compare(member_client, new, base)  # order of picking does not matter: the oldest is the baseline
    assert response.status_code == 200
    e = response.context["experiment"]
    assert [s.name for s in e.sessions] == ["Baseline", "New prompt"]
    assert e.shared_count == 2  # "How   fast is it?" matches "How fast is it?"
    by_question = {row.question: row for row in e.rows}
    fast = by_question["How fast is it?"]
    assert [c.score for c in fast.cells] == [60, 84]  # all Fair; then 0.5×100 + 0.2×80 + 3 × 0.1×60
    assert fast.cells[1].delta == 24 and fast.better and not fast.worse and fast.changed
    assert ("Relevance", "Fair", "Excellent") in fast.cells[1].rating_changes
    same = by_question["What is SAT?"]
    assert same.cells[1].delta == 0 and not same.changed
    assert by_question["Only in the baseline?"].cells[1] is None
    base_totals, new_totals = e.totals
    assert (base_totals.shared_mean.mean, new_totals.shared_mean.mean, new_totals.delta) == (70, 82, 12)
    assert (new_totals.better, new_totals.worse) == (1, 0)
    differing = {what for what, _, differs in e.provenance if differs}
    assert "judge" in differing and "rubric" not in differing
    body = response.content.decode()
    assert "+24.0" in body and "baseline" in body and "differs" in body


def test_changed_rows_filter(member_client, two_runs):
    response = compare(member_client, *two_runs, show="changed")
    assert [row.question for row in response.context["rows"]] == ["How fast is it?"]
    assert compare(member_client, *two_runs, show="worse").context["rows"] == []


def test_compare_needs_two_sessions_of_your_team_that_share_questions(
    member_client, two_runs, team, team_factory, client, user_factory
):
    base, new = two_runs
    assert compare(member_client, base).status_code == 400
    other, _ = judged(team, name="Other", items=[("Unrelated?", "a", ratings_of("Good"))])
    response = compare(member_client, base, other)
    assert response.status_code == 400 and "share no questions" in response.content.decode()
    outsider = user_factory(team=team_factory("Team B"), role="admin")
    client.force_login(outsider)
    assert compare(client, base, new).status_code == 404
    client.logout()
    assert compare(client, base, new).status_code == 302


def test_corpus_trend_has_means_and_the_reports_auroc(member_client, team):
    corpus = CorpusFactory(team=team, name="papers")
    earlier, _ = judged(team, name="Week 1", items=[("Q?", "a", ratings_of("Fair"))])
    later, (genuine, other) = judged(
        team, name="Week 2", items=[("Q1?", "a", ratings_of("Good")), ("Q2?", "b", ratings_of("Fair"))]
    )
    probe_of(genuine, strategy="off_topic", ratings=ratings_of("Worse"))
    probe_of(other, strategy="padding", ratings=ratings_of("Good"))  # 80 beats the 60 genuine answer
    EvaluationSession.objects.filter(pk=later.pk).update(robustness=True)
    finish(earlier, corpus=corpus, when=timezone.now() - timedelta(days=7))
    later = finish(later, corpus=corpus)
    points = corpus_trend(user=team.memberships.first().user, corpus=corpus)
    assert [(p.session.name, p.mean) for p in points] == [("Week 1", 60), ("Week 2", 70)]
    assert points[0].auroc is None
    assert points[1].auroc == pytest.approx(session_robustness(session=later).auroc)
    assert points[1].auroc == pytest.approx(0.625)  # 80 vs (20, 80): 1 + .5; 60 vs (20, 80): 1 + 0 → 2.5/4

    page = member_client.get(reverse("sessions:corpus_trend", args=[corpus.pk]))
    assert page.status_code == 200 and "<svg" in page.content.decode() and "Week 2" in page.content.decode()
    svg = member_client.get(reverse("sessions:corpus_trend_svg", args=[corpus.pk]))
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg.content.decode().count("<circle") == 2 and svg.content.decode().count("<rect") == 1
    corpus_page = member_client.get(reverse("corpora:detail", args=[corpus.pk])).content.decode()
    assert reverse("sessions:corpus_trend_svg", args=[corpus.pk]) in corpus_page


def test_corpus_trend_is_team_scoped(client, team, team_factory, user_factory):
    corpus = CorpusFactory(team=team)
    client.force_login(user_factory(team=team_factory("Team B"), role="admin"))
    assert client.get(reverse("sessions:corpus_trend", args=[corpus.pk])).status_code == 404
    assert client.get(reverse("sessions:corpus_trend_svg", args=[corpus.pk])).status_code == 404
