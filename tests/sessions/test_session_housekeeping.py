"""The session list at scale: filters, search, sort, pagination; tags, archive and delete by role."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions.models import EvaluationSession
from tests.corpora.factories import CorpusFactory
from tests.judging.review_support import finish, judged, ratings_of

pytestmark = pytest.mark.django_db


def names(client, **params) -> list[str]:
    response = client.get(reverse("sessions:list"), params)
    assert response.status_code == 200
    return [row["session"].name for row in response.context["rows"]]


@pytest.fixture
def sessions(team, member, reviewer):
    corpus = CorpusFactory(team=team, name="papers")
    low, _ = judged(team, name="Low run", user=member, items=[("Q?", "a", ratings_of("Fair"))])
    high, _ = judged(team, name="High run", user=reviewer, items=[("Q?", "a", ratings_of("Excellent"))])
    draft, _ = judged(team, name="Draft run", user=member, items=[("Q?", "a", ratings_of("Good"))])
    finish(low, corpus=corpus)
    finish(high)
    EvaluationSession.objects.filter(pk=high.pk).update(tags=["baseline", "gpt-4o"], judge_model="gpt-4o")
    EvaluationSession.objects.filter(pk=draft.pk).update(status=EvaluationSession.Status.DRAFT)
    return {"low": low, "high": high, "draft": draft, "corpus": corpus}


def test_filters_search_and_sort(member_client, sessions, reviewer):
    assert set(names(member_client)) == {"Low run", "High run", "Draft run"}
    assert names(member_client, status="draft") == ["Draft run"]
    assert names(member_client, corpus=sessions["corpus"].pk) == ["Low run"]
    assert names(member_client, judge="offline/gpt-4o") == ["High run"]
    assert names(member_client, creator=reviewer.pk) == ["High run"]
    assert names(member_client, tag="baseline") == ["High run"]
    assert names(member_client, q="low") == ["Low run"]
    assert names(member_client, q="gpt-4o") == ["High run"]  # a tag matches the search too
    assert names(member_client, sort="-score")[:2] == ["High run", "Low run"]  # the draft has no score: last
    assert names(member_client, sort="score")[:2] == ["Low run", "High run"]
    assert names(member_client, sort="name") == ["Draft run", "High run", "Low run"]
    assert set(names(member_client, corpus="bogus", sort="nonsense")) == {"Low run", "High run", "Draft run"}


def test_pagination_keeps_filters(member_client, team):
    for i in range(23):
        EvaluationSession.objects.create(team=team, name=f"bulk {i:02d}", rubric_id=_default_rubric_id(), tags=["bulk"])
    first = member_client.get(reverse("sessions:list"), {"tag": "bulk", "sort": "name"})
    assert len(first.context["rows"]) == 20 and "tag=bulk" in first.content.decode()
    second = member_client.get(reverse("sessions:list"), {"tag": "bulk", "sort": "name", "page": 2})
    assert [r["session"].name for r in second.context["rows"]] == ["bulk 20", "bulk 21", "bulk 22"]


def _default_rubric_id() -> int:
    from judging.selectors import rubric_default

    return rubric_default().pk


def test_tags_are_normalised_and_bad_ones_refused(member_client, sessions):
    high = sessions["high"]
    member_client.post(reverse("sessions:tags", args=[high.pk]), {"tags": "Baseline,  Week 12 , baseline"})
    high.refresh_from_db()
    assert high.tags == ["baseline", "week-12"]
    response = member_client.post(reverse("sessions:tags", args=[high.pk]), {"tags": "ok, <script>"}, follow=True)
    assert "Tag &#x27;&lt;script&gt;&#x27;" in response.content.decode()
    high.refresh_from_db()
    assert high.tags == ["baseline", "week-12"]  # nothing lost


def test_archive_hides_and_unarchive_brings_back(member_client, sessions):
    low = sessions["low"]
    member_client.post(reverse("sessions:archive", args=[low.pk]), {"archived": "1"})
    assert "Low run" not in names(member_client)
    assert names(member_client, archived="on") == ["Low run"]
    member_client.post(reverse("sessions:archive", args=[low.pk]), {"archived": "0"})
    assert "Low run" in names(member_client)


def test_a_draft_is_deleted_at_once_a_finished_session_after_asking(member_client, sessions):
    draft, low = sessions["draft"], sessions["low"]
    response = member_client.post(reverse("sessions:delete", args=[draft.pk]))
    assert response.status_code == 302 and not EvaluationSession.objects.filter(pk=draft.pk).exists()
    # A finished session: the button leads to a question first.
    ask = member_client.get(reverse("sessions:delete", args=[low.pk]))
    assert ask.status_code == 200 and "This cannot be undone" in ask.content.decode()
    unconfirmed = member_client.post(reverse("sessions:delete", args=[low.pk]))
    assert unconfirmed.status_code == 302 and EvaluationSession.objects.filter(pk=low.pk).exists()
    member_client.post(reverse("sessions:delete", args=[low.pk]), {"confirm": "yes"})
    assert not EvaluationSession.objects.filter(pk=low.pk).exists()


def test_a_running_session_is_not_deleted(member_client, sessions):
    low = sessions["low"]
    EvaluationSession.objects.filter(pk=low.pk).update(status=EvaluationSession.Status.RUNNING)
    response = member_client.post(reverse("sessions:delete", args=[low.pk]), {"confirm": "yes"}, follow=True)
    assert "cancel it before deleting" in response.content.decode()
    assert EvaluationSession.objects.filter(pk=low.pk).exists()


@pytest.mark.parametrize(
    ("role", "tags", "archive", "delete"),
    [
        ("admin", 302, 302, 302),  # an admin deletes anyone's session
        ("reviewer", 302, 302, 403),  # not the creator, not an admin
        ("creator", 302, 302, 302),
        ("other_team", 404, 404, 404),
        ("anonymous", 302, 302, 302),  # to the login page
    ],
)
def test_housekeeping_role_matrix(
    client, team, team_factory, user_factory, member, sessions, role, tags, archive, delete
):
    low = sessions["low"]  # created by `member`
    users = {
        "admin": lambda: user_factory(team=team, role="admin"),
        "reviewer": lambda: user_factory(team=team, role="reviewer"),
        "creator": lambda: member,
        "other_team": lambda: user_factory(team=team_factory("Team B"), role="admin"),
        "anonymous": lambda: None,
    }
    user = users[role]()
    if user is not None:
        client.force_login(user)
    assert client.post(reverse("sessions:tags", args=[low.pk]), {"tags": "x"}).status_code == tags
    assert client.post(reverse("sessions:archive", args=[low.pk]), {"archived": "0"}).status_code == archive
    response = client.post(reverse("sessions:delete", args=[low.pk]), {"confirm": "yes"})
    assert response.status_code == delete
    deleted = not EvaluationSession.objects.filter(pk=low.pk).exists()
    assert deleted is (role in ("admin", "creator"))
    if role == "anonymous":
        assert "/accounts/login/" in response["Location"]
