"""Re-judging a finished session and comparing the new verdicts with the original ones."""

import pytest

from core.runmode import in_process_tasks
from judging.models import Judgment
from sessions.models import Answer, EvaluationSession
from sessions.selectors import session_comparison
from sessions.services import session_create, session_rejudge, session_start
from sessions.session_settings import SessionSettings
from tests.sessions.pipeline_support import conversations, make_corpus
from tests.support.fake_openai import is_judge_request, verdict_responder

pytestmark = pytest.mark.django_db(transaction=True)


def _finished_session(team, tmp_path):
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = session_create(
        team=team,
        corpus=corpus,
        name="orig",
        conversations=conversations([["How many parameters does SAT train?", "Does it slow down inference?"]]),
        settings=SessionSettings(generator_provider="offline", judge_provider="offline"),
    )
    with in_process_tasks():
        session_start(session=session)
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.COMPLETED
    return session


def test_rejudge_with_another_judge_copies_answers_and_shows_what_changed(team, tmp_path, fake_openai):
    original = _finished_session(team, tmp_path)

    def judge_everything_fair(request_json):
        if is_judge_request(request_json):
            reply = verdict_responder(request_json)
            return reply.replace('"Excellent"', '"Fair"').replace('"Good"', '"Fair"')
        return "unused"

    fake_openai.set_responder(judge_everything_fair)
    original.llm_base_url = fake_openai.base_url
    original.save(update_fields=["llm_base_url"])
    with in_process_tasks():
        rejudge = session_rejudge(session=original, judge_provider="openai", judge_model="fake-judge")
    rejudge.refresh_from_db()
    assert rejudge.status == EvaluationSession.Status.COMPLETED
    assert rejudge.rejudge_of_id == original.pk and rejudge.generator_provider == "provided"

    old_answers = list(Answer.objects.filter(question__session=original).order_by("question__position"))
    new_answers = list(Answer.objects.filter(question__session=rejudge).order_by("question__position"))
    assert [a.text for a in new_answers] == [a.text for a in old_answers]
    assert [p.text for p in new_answers[1].passages.order_by("rank")] == [
        p.text for p in old_answers[1].passages.order_by("rank")
    ]
    # The second turn is judged with the first turn as its history, as originally.
    judgment = Judgment.objects.get(answer=new_answers[1])
    assert old_answers[0].text in judgment.prompt[-1]["content"]

    comparison = session_comparison(rejudge=rejudge)
    assert len(comparison.turns) == 2
    assert all(t.new_score == 60 for t in comparison.turns)  # every criterion Fair
    assert comparison.ratings_compared == 10
    assert comparison.ratings_changed == sum(len(t.changes) for t in comparison.turns) > 0
    assert ("judge", "offline / heuristic-minilm", "openai / fake-judge") in comparison.provenance


def test_rejudge_with_the_same_judge_agrees_and_is_reachable_from_the_pages(team, tmp_path, member, client):
    original = _finished_session(team, tmp_path)
    client.force_login(member)
    with in_process_tasks():
        response = client.post(f"/sessions/{original.pk}/rejudge/", {"judge_provider": "offline", "judge_model": ""})
    rejudge = EvaluationSession.objects.get(rejudge_of=original)
    assert response.status_code == 302 and response["Location"] == f"/sessions/{rejudge.pk}/compare/"
    page = client.get(f"/sessions/{rejudge.pk}/compare/")
    assert page.status_code == 200
    comparison = page.context["comparison"]
    assert comparison.ratings_changed == 0 and comparison.agreement == 1.0  # the offline judge is deterministic
    assert b"any difference is the judge" in page.content
    assert b'<span class="num">0.0</span><span class="label">mean |' in page.content
    assert f"/sessions/{rejudge.pk}/compare/".encode() in client.get(f"/sessions/{original.pk}/").content


def test_another_team_cannot_rejudge_or_compare(team, tmp_path, team_factory, user_factory, client):
    original = _finished_session(team, tmp_path)
    outsider = user_factory(team=team_factory("Team B"), role="admin")
    client.force_login(outsider)
    assert client.post(f"/sessions/{original.pk}/rejudge/", {"judge_provider": "offline"}).status_code == 404
    assert not EvaluationSession.objects.filter(rejudge_of=original).exists()
    rejudge = session_rejudge(session=original)  # made by the owning team
    assert client.get(f"/sessions/{rejudge.pk}/compare/").status_code == 404


def test_compare_page_marks_a_reviewers_override_apart_from_judge_changes(team, tmp_path, member, reviewer, client):
    from judging.services import override_create

    original = _finished_session(team, tmp_path)
    overridden = Judgment.objects.filter(answer__question__session=original).order_by("pk").first()
    override_create(
        judgment=overridden, criterion_key="relevance", reviewer=reviewer, new_rating="Worse", reason="Off the point."
    )
    client.force_login(member)
    with in_process_tasks():
        client.post(f"/sessions/{original.pk}/rejudge/", {"judge_provider": "offline", "judge_model": ""})
    rejudge = EvaluationSession.objects.get(rejudge_of=original)
    page = client.get(f"/sessions/{rejudge.pk}/compare/")
    body = page.content.decode()
    # The same deterministic judge: no judge rating changed, and the override is shown as one.
    assert page.context["comparison"].ratings_changed == 0
    assert body.count('<span class="badge warn">override</span>') == 1
    assert 'reviewer <span class="rating-Worse">Worse</span>' in body
    assert "judge ratings changed (overrides apart)" in body
