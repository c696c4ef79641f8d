"""The admin for reviewers: who may enter, team-scoped querysets in every list, the judgment
list's columns, readable prompts, and no delete on verdicts or overrides for anyone."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import Team
from corpora.models import Chunk, Corpus, Document
from judging.models import Judgment, Override, Rubric
from judging.services import override_create, rubric_create
from sessions.models import Answer, EvaluationSession
from tests.corpora.factories import CorpusFactory, DocumentFactory
from tests.judging.review_support import judged, probe_of, ratings_of

pytestmark = pytest.mark.django_db

# How each registered model reaches its team (None: rows without a team are shared).
TEAM_OF = {
    Team: lambda t: Team.objects.filter(pk=t.pk),
    Corpus: lambda t: Corpus.objects.filter(team=t),
    Document: lambda t: Document.objects.filter(corpus__team=t),
    Chunk: lambda t: Chunk.objects.filter(corpus__team=t),
    EvaluationSession: lambda t: EvaluationSession.objects.filter(team=t),
    Answer: lambda t: Answer.objects.filter(question__session__team=t),
    Judgment: lambda t: (
        Judgment.objects.filter(answer__question__session__team=t)
        | Judgment.objects.filter(probe__answer__question__session__team=t)
    ),
    Override: lambda t: Override.objects.filter(judgment__answer__question__session__team=t),
    Rubric: lambda t: Rubric.objects.filter(team=t),
}


def team_rows(team, user):
    corpus = CorpusFactory(team=team, name=f"{team.name} corpus")
    document = DocumentFactory(corpus=corpus)
    Chunk.objects.create(
        corpus=corpus, document=document, key=f"k-{team.pk}", ordinal=0, text="SAT trains 2.8M", source_tag="[Doc]"
    )
    session, (judgment,) = judged(
        team, name=f"{team.name} session", items=[(f"{team.name}: what is SAT?", "An answer.", ratings_of("Good"))]
    )
    probe_of(judgment, strategy="injection")
    override_create(judgment=judgment, criterion_key="clarity", reviewer=user, new_rating="Bad", reason="muddled")
    rubric_create(team=team, name=f"{team.name} rubric", criteria=[{"key": "relevance", "weight": "1"}])
    return session, judgment


@pytest.fixture
def two_teams(team, people):
    other = people["other_team"].teams.get()
    superuser = get_user_model().objects.create_superuser("root", "root@example.org", "pw-123456!")
    people["superuser"] = superuser
    a = team_rows(team, people["reviewer"])
    b = team_rows(other, people["other_team"])
    return team, other, people, a, b


@pytest.mark.parametrize(
    ("role", "expected"),
    [("superuser", 200), ("admin", 200), ("reviewer", 200), ("member", 302), ("anonymous", 302)],
)
def test_who_may_enter_the_admin(client, two_teams, role, expected):
    _, _, people, _, _ = two_teams
    if role != "anonymous":
        client.force_login(people[role])
    assert client.get(reverse("admin:index")).status_code == expected


@pytest.mark.parametrize("role", ["admin", "reviewer"])
def test_team_staff_see_none_of_another_teams_rows_in_any_admin_list(client, two_teams, role):
    team, other, people, _, _ = two_teams
    client.force_login(people[role])
    checked = 0
    for model in admin.site._registry:
        if model not in TEAM_OF:
            # Every other model (users, groups, tokens) is closed to non-superusers.
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            assert client.get(url).status_code == 403, model
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.get(url)
        assert response.status_code == 200, model
        shown = {obj.pk for obj in response.context["cl"].queryset}
        assert shown, model  # their own team's rows are there
        assert not shown & set(TEAM_OF[model](other).values_list("pk", flat=True)), model
        assert "Team B" not in response.content.decode(), model  # not even in a filter's choices
        # Another team's object by guessed id: not there.
        foreign = TEAM_OF[model](other).first()
        change_url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[foreign.pk])
        assert client.get(change_url).status_code in (302, 404), model
        checked += 1
    assert checked == len(TEAM_OF)


def test_team_staff_are_read_only_and_nobody_deletes_verdicts_or_overrides(client, two_teams):
    _, _, people, (_, judgment), _ = two_teams
    client.force_login(people["reviewer"])
    session = judgment.answer.question.session
    change = reverse("admin:eval_sessions_evaluationsession_change", args=[session.pk])
    assert client.post(change, {}).status_code == 403
    override = Override.objects.filter(judgment=judgment).first()
    for user in (people["reviewer"], people["superuser"]):
        client.force_login(user)
        for name, pk in (("judging_override", override.pk), ("judging_judgment", judgment.pk)):
            assert client.get(reverse(f"admin:{name}_delete", args=[pk])).status_code == 403
        page = client.get(reverse("admin:judging_judgment_change", args=[judgment.pk])).content.decode()
        assert "deletelink" not in page
    assert Override.objects.filter(pk=override.pk).exists()


def test_judgment_list_and_detail_are_a_reviewers_tool(client, two_teams):
    team, _, people, (session, judgment), _ = two_teams
    client.force_login(people["reviewer"])
    url = reverse("admin:judging_judgment_changelist")
    body = client.get(url).content.decode()
    assert "Team A: what is SAT?" in body and "Team A session" in body
    assert "probe: Injection" in body and "genuine" in body
    # The judge said Good everywhere (80.0); the override of Clarity to Bad makes it 76.0.
    assert "80.0" in body and "76.0" in body
    assert client.get(url, {"q": "what is SAT"}).context["cl"].result_count == 2  # answer and its probe
    assert client.get(url, {"kind": "genuine"}).context["cl"].result_count == 1
    assert client.get(url, {"session": session.pk}).context["cl"].result_count == 2

    Judgment.objects.filter(pk=judgment.pk).update(
        prompt=[{"role": "system", "content": "You rate answers."}, {"role": "user", "content": "Question: <b>x</b>"}]
    )
    detail = client.get(reverse("admin:judging_judgment_change", args=[judgment.pk])).content.decode()
    assert "<strong>system</strong>" in detail and "You rate answers." in detail
    assert "Question: &lt;b&gt;x&lt;/b&gt;" in detail  # escaped, not a JSON blob
    assert "Judgment of “Team A: what is SAT?” (answer" in detail  # __str__ names the question
    assert "muddled" in detail  # the override, inline
