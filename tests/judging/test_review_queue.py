"""The review queue at scale: filters, search, sort, pagination, "needs attention", the
effective score in SQL, and the judgment page's one-save review (JSON, no reload)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from judging.models import Judgment, Override
from judging.selectors import judgment_effective, judgments_prefetched, rubric_spec
from judging.services import override_create
from sessions.models import EvaluationSession
from sessions.review_queue import QueueFilters, review_queue
from tests.judging.review_support import judge, judged, probe_of, ratings_of

pytestmark = pytest.mark.django_db


def rows(client, **params):
    response = client.get(reverse("judging:queue"), params)
    assert response.status_code == 200
    return [row["judgment"].pk for row in response.context["rows"]]


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


def test_effective_score_in_sql_matches_the_python_one(team, reviewer):
    _, (a, b, c) = judged(
        team,
        items=[
            ("Q1?", "A1", ratings_of("Excellent")),
            ("Q2?", "A2", ratings_of("Fair", "Bad", "Fair", "Fair", "Good")),
            ("Q3?", "A3", None),
        ],
    )
    override_create(judgment=a, criterion_key="faithfulness", reviewer=reviewer, new_rating="Bad", reason="no")
    override_create(judgment=a, criterion_key="faithfulness", reviewer=reviewer, new_rating="Good", reason="yes")
    override_create(judgment=b, criterion_key="relevance", reviewer=reviewer, new_rating="Worse", reason="off")
    queue = review_queue(user=reviewer, team=team, filters=QueueFilters(kind="all"))
    sql = {j.pk: j.effective_score for j in queue}
    for judgment in judgments_prefetched(Judgment.objects.filter(pk__in=[a.pk, b.pk, c.pk])):
        _, score = judgment_effective(judgment=judgment, spec=rubric_spec(rubric=judgment.rubric))
        assert sql[judgment.pk] == score
    assert (sql[a.pk], sql[b.pk], sql[c.pk]) == (96, 38, None)  # 58.0 with Relevance Worse (0.5 × 40 less) → 38.0


def test_filters_by_session_kind_rating_state_and_search(reviewer_client, team, reviewer):
    s1, (good, bad) = judged(
        team,
        name="Run 1",
        items=[
            ("What is SAT?", "SAT is sparse adapter tuning.", ratings_of("Excellent")),
            ("How fast is it?", "It adds no latency at all.", ratings_of("Good", "Bad", "Good", "Good", "Good")),
        ],
    )
    s2, (other,) = judged(team, name="Run 2", items=[("Who wrote it?", "Nobody knows.", ratings_of("Fair"))])
    fake = probe_of(good, strategy="injection")
    good.flagged_for_review = True
    good.save(update_fields=["flagged_for_review"])
    override_create(judgment=other, criterion_key="clarity", reviewer=reviewer, new_rating="Worse", reason="muddled")

    assert set(rows(reviewer_client)) == {good.pk, bad.pk, other.pk}  # genuine by default
    assert set(rows(reviewer_client, session=s1.pk)) == {good.pk, bad.pk}
    assert rows(reviewer_client, kind="probe") == [fake.pk]
    assert rows(reviewer_client, kind="probe:injection") == [fake.pk]
    assert rows(reviewer_client, kind="probe:padding") == []
    assert rows(reviewer_client, criterion="faithfulness", rating="Bad") == [bad.pk]
    assert rows(reviewer_client, criterion="clarity", rating="Worse") == [other.pk]  # the override counts
    assert rows(reviewer_client, criterion="clarity", rating="Fair") == []  # the judge's label no longer does
    assert set(rows(reviewer_client, rating="Worse", kind="all")) == {other.pk, fake.pk}
    assert rows(reviewer_client, state="overridden") == [other.pk]
    assert set(rows(reviewer_client, state="unreviewed")) == {good.pk, bad.pk}
    assert rows(reviewer_client, state="flagged") == [good.pk]
    assert rows(reviewer_client, q="LATENCY") == [bad.pk]  # answer text, any case
    assert rows(reviewer_client, q="who wrote") == [other.pk]  # question text
    # Nonsense values fall back to defaults instead of failing.
    assert set(rows(reviewer_client, kind="bogus", sort="drop table", session="x")) == {good.pk, bad.pk, other.pk}


def test_sort_by_effective_score_and_since(reviewer_client, team):
    old, (o,) = judged(team, name="Old", items=[("Old?", "a", ratings_of("Worse"))])
    EvaluationSession.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=20))
    _, (hi, mid, none) = judged(
        team, items=[("Hi?", "a", ratings_of("Excellent")), ("Mid?", "b", ratings_of("Fair")), ("X?", "c", None)]
    )
    assert rows(reviewer_client, sort="score") == [o.pk, mid.pk, hi.pk, none.pk]  # unscored last
    assert rows(reviewer_client, sort="-score") == [hi.pk, mid.pk, o.pk, none.pk]
    assert rows(reviewer_client, sort="score", since=7) == [mid.pk, hi.pk, none.pk]


def test_needs_attention(reviewer_client, team):
    _, (fine, low, broken) = judged(
        team,
        items=[
            ("Fine?", "a", ratings_of("Excellent")),
            ("Low?", "b", ratings_of("Fair")),  # 60.0: the session's lowest genuine answer
            ("Broken?", "c", None),
        ],
    )
    judge(answer=fine.answer, ratings=ratings_of("Fair"), repeat=1)  # repeats 100 vs 60: unstable
    beats_low = probe_of(low, strategy="padding", ratings=ratings_of("Good"))  # 80 > 60
    below_low = probe_of(low, strategy="off_topic", ratings=ratings_of("Worse"))  # 20
    flagged = judge(answer=low.answer, ratings=ratings_of("Fair"), repeat=2)
    Judgment.objects.filter(pk=flagged.pk).update(flagged_for_review=True)
    attention = rows(reviewer_client, state="attention", kind="all")
    repeat = Judgment.objects.get(answer=fine.answer, repeat_index=1)
    assert set(attention) == {broken.pk, fine.pk, repeat.pk, beats_low.pk, flagged.pk}
    assert below_low.pk not in attention and low.pk not in attention
    # Old links keep working.
    assert set(rows(reviewer_client, show="attention")) == set(attention)


def test_pagination_keeps_the_filters(reviewer_client, team):
    _, judgments = judged(team, items=[(f"Q{i}?", f"a{i}", ratings_of("Good")) for i in range(55)])
    first = reviewer_client.get(reverse("judging:queue"), {"sort": "score", "q": "Q"})
    assert len(first.context["rows"]) == 50
    body = first.content.decode()
    assert "sort=score" in body and "page=2" in body and "Page 1 of 2" in body
    second = reviewer_client.get(reverse("judging:queue"), {"sort": "score", "q": "Q", "page": 2})
    assert len(second.context["rows"]) == 5


@pytest.mark.parametrize(
    ("role", "sees"), [("admin", True), ("reviewer", True), ("member", True), ("other_team", False)]
)
def test_queue_role_matrix(client, team, team_factory, user_factory, role, sees):
    _, (judgment,) = judged(team, items=[("Q?", "a", ratings_of("Good"))])
    user = (
        user_factory(team=team_factory("Team B"), role="admin")
        if role == "other_team"
        else user_factory(team=team, role=role)
    )
    client.force_login(user)
    assert (rows(client) == [judgment.pk]) is sees
    assert (rows(client, session=judgment.answer.question.session_id) == [judgment.pk]) is sees


def test_queue_needs_login(client):
    response = client.get(reverse("judging:queue"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- The judgment page: rate all five criteria, one save -------------------------------------


def save(client, judgment, ratings: dict[str, str], reason: str = "Checked against the passages."):
    data = {f"rating_{key}": label for key, label in ratings.items()}
    data["reason"] = reason
    return client.post(reverse("judging:judgment", args=[judgment.pk]), data, HTTP_ACCEPT="application/json")


def test_one_save_overrides_every_changed_criterion(reviewer_client, team, reviewer):
    _, (judgment,) = judged(team, items=[("Q?", "a", ratings_of("Excellent"))])
    response = save(reviewer_client, judgment, ratings_of("Excellent", "Bad", "Fair", "Excellent", "Good"))
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["ok"] and body["score"] == "82.0"  # 50 + 0.2×40 + 0.1×60 + 10 + 0.1×80
    assert {r["key"]: (r["rating"], r["overridden"]) for r in body["ratings"]} == {
        "relevance": ("Excellent", False),
        "faithfulness": ("Bad", True),
        "completeness": ("Fair", True),
        "clarity": ("Excellent", False),
        "conciseness": ("Good", True),
    }
    overrides = Override.objects.filter(judgment=judgment)
    assert overrides.count() == 3  # unchanged criteria make no rows
    assert {o.reason for o in overrides} == {"Checked against the passages."}
    assert {o.reviewer for o in overrides} == {reviewer}


def test_one_save_with_nothing_changed_or_no_reason_is_refused(reviewer_client, team):
    _, (judgment,) = judged(team, items=[("Q?", "a", ratings_of("Good"))])
    same = save(reviewer_client, judgment, ratings_of("Good"))
    assert same.status_code == 400 and "Nothing to save" in json.loads(same.content)["errors"][0]
    no_reason = save(reviewer_client, judgment, ratings_of("Bad"), reason=" ")
    assert no_reason.status_code == 400 and "Say why" in json.loads(no_reason.content)["errors"][0]
    off_scale = save(reviewer_client, judgment, {"relevance": "Superb"})
    assert off_scale.status_code == 400
    assert not Override.objects.exists()


def test_one_save_is_all_or_nothing_and_needs_the_reviewer_role(client, team, member):
    _, (judgment,) = judged(team, items=[("Q?", "a", ratings_of("Good"))])
    client.force_login(member)
    response = save(client, judgment, ratings_of("Bad"))
    assert response.status_code == 403 and not Override.objects.exists()
