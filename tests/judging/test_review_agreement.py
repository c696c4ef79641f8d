"""Robustness measures the judge alone; reviewers confirm or override, and judge–human
agreement is reported beside the robustness figures (page, API, selector)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.runmode import in_process_tasks
from judging.agreement import agreement_summary, weighted_kappa
from judging.models import Confirmation, Judgment
from judging.rubric import DEFAULT_RUBRIC
from judging.scoring import mean_with_count
from judging.services import judgment_confirm, override_create
from sessions.scores import session_agreement, session_robustness
from sessions.services import session_create, session_start
from sessions.session_settings import SessionSettings
from tests.sessions.api_support import judged_session
from tests.sessions.pipeline_support import conversations, make_corpus


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_weighted_kappa_is_one_for_agreement_and_below_zero_for_systematic_disagreement() -> None:
    assert weighted_kappa(pairs=[(0, 0), (1, 1), (4, 4)], levels=5) == pytest.approx(1.0)
    assert weighted_kappa(pairs=[(0, 4), (4, 0), (0, 4), (4, 0)], levels=5) == pytest.approx(-1.0)
    # Linear weights: one level apart costs a quarter of the maximal disagreement on five levels.
    value = weighted_kappa(pairs=[(0, 0), (0, 1), (2, 2), (4, 4)], levels=5)
    assert value is not None and 0 < value < 1
    assert weighted_kappa(pairs=[], levels=5) is None
    assert weighted_kappa(pairs=[(0, 0), (0, 0)], levels=5) is None  # chance agreement is already perfect


def test_agreement_counts_exact_and_within_one_level_per_criterion() -> None:
    judge = {c.key: "Excellent" for c in DEFAULT_RUBRIC.criteria}
    human_one = dict(judge, relevance="Good")
    human_two = dict(judge, relevance="Fair")
    summary = agreement_summary(
        rubric=DEFAULT_RUBRIC, reviewed=[(judge, human_one), (judge, human_two)], confirmed=0, overridden=2
    )
    by_key = {c.criterion: c for c in summary.criteria}
    assert by_key["relevance"].n == 2
    assert by_key["relevance"].exact == 0.0 and by_key["relevance"].within_one == 0.5
    assert by_key["clarity"].exact == 1.0 and by_key["clarity"].within_one == 1.0


def test_pending_judgments_are_pending_not_unparseable() -> None:
    summary = mean_with_count([None, None, None], missing_reasons=["pending", "pending", "unparseable"])
    assert str(summary) == "no score: 0 of 3 judged; 1 unparseable, 2 pending"
    assert summary.to_dict()["n_pending"] == 2


@pytest.mark.django_db
def test_reviewer_confirms_a_verdict_by_api_and_members_cannot(team, member, reviewer) -> None:
    session = judged_session(team=team, user=member)
    judgment = Judgment.objects.get(answer__question__session=session)

    denied = _api(member).post(f"/api/v1/judgments/{judgment.pk}/confirm/", {}, format="json")
    first = _api(reviewer).post(f"/api/v1/judgments/{judgment.pk}/confirm/", {"note": "Agreed."}, format="json")
    again = _api(reviewer).post(f"/api/v1/judgments/{judgment.pk}/confirm/", {}, format="json")

    assert denied.status_code == 403
    assert first.status_code == 201 and first.json()["note"] == "Agreed." and first.json()["reviewer"] == "rita"
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]  # confirming twice is harmless
    assert Confirmation.objects.filter(judgment=judgment).count() == 1
    detail = _api(member).get(f"/api/v1/judgments/{judgment.pk}/").json()
    assert [c["reviewer"] for c in detail["confirmations"]] == ["rita"]
    agreement = session_agreement(session=session)
    assert agreement is not None and agreement.reviewed == 1 and agreement.confirmed == 1
    assert all(c.exact == 1.0 for c in agreement.criteria)


@pytest.mark.django_db
def test_reviewer_confirms_on_the_review_page(client, team, member, reviewer) -> None:
    session = judged_session(team=team, user=member)
    judgment = Judgment.objects.get(answer__question__session=session)
    url = reverse("judging:judgment", args=[judgment.pk])
    client.force_login(reviewer)

    page = client.get(url).content.decode()
    response = client.post(url, {"action": "confirm", "note": "Looks right."}, follow=True)

    assert 'id="confirm-button"' in page
    assert response.status_code == 200
    body = response.content.decode()
    assert "rita confirmed the verdict" in body and "Looks right." in body
    assert "You confirmed this verdict." in body
    client.force_login(member)
    assert client.post(url, {"action": "confirm"}).status_code == 403
    assert Confirmation.objects.filter(judgment=judgment).count() == 1


@pytest.mark.django_db(transaction=True)
def test_override_of_a_genuine_verdict_leaves_the_robustness_figures_alone(client, team, member, reviewer, tmp_path):
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = session_create(
        team=team,
        corpus=corpus,
        name="probes",
        conversations=conversations([["What learning rate does SAT use?"], ["How large is a SAT checkpoint?"]]),
        settings=SessionSettings(robustness=True),
    )
    with in_process_tasks():
        session_start(session=session)
    before = session_robustness(session=session)
    assert before is not None and before.n_genuine == 2 and before.auroc is not None
    assert session_agreement(session=session) is None

    genuine = Judgment.objects.filter(answer__question__session=session, status=Judgment.Status.OK)
    first, second = list(genuine.order_by("pk"))
    for key in ("relevance", "faithfulness", "completeness"):
        override_create(judgment=first, criterion_key=key, reviewer=reviewer, new_rating="Worse", reason="Disagree.")
    judgment_confirm(judgment=second, reviewer=reviewer)

    after = session_robustness(session=session)
    assert after is not None and after.to_dict() == before.to_dict()
    agreement = session_agreement(session=session)
    assert agreement is not None and (agreement.reviewed, agreement.confirmed, agreement.overridden) == (2, 1, 1)
    relevance = next(c for c in agreement.criteria if c.criterion == "relevance")
    assert relevance.n == 2 and relevance.exact == 0.5
    client.force_login(member)
    body = client.get(session.get_absolute_url()).content.decode()
    assert "Judge–human agreement" in body and "reviewers' overrides never change them" in body


@pytest.mark.django_db
def test_fabricated_numbers_skipped_for_answers_without_figures_are_counted(team, member) -> None:
    from judging.models import RobustnessProbe
    from judging.probes import STRATEGY_EXPECTED, make_probes

    session = judged_session(
        team=team,
        user=member,
        items=[{"question": "Why merge?", "answer": "Merging removes the adapter at inference.", "context": []}],
    )
    answer = Judgment.objects.get(answer__question__session=session).answer
    drafts = make_probes(question="Why merge?", genuine_answer=answer.text, context=[], seed=1)
    assert "fabricated_numbers" not in {d.strategy for d in drafts}
    for draft in drafts:
        RobustnessProbe.objects.create(
            answer=answer,
            strategy=draft.strategy,
            fake_answer=draft.fake_answer,
            expected_criteria=list(draft.expected_criteria),
        )
    summary = session_robustness(session=session)
    assert summary is not None
    fabricated = next(s for s in summary.strategies if s.strategy == "fabricated_numbers")
    assert fabricated.skipped == 1 and fabricated.probes == 0
    assert fabricated.expected_criteria == STRATEGY_EXPECTED["fabricated_numbers"]


@pytest.mark.django_db
def test_a_running_sessions_page_shows_unfinished_judgments_as_pending(client, team, member) -> None:
    from judging.models import CriterionVerdict
    from sessions.models import EvaluationSession

    session = judged_session(
        team=team,
        user=member,
        items=[
            {"question": "How many weights does SAT update?", "answer": "SAT updates 0.8%.", "context": []},
            {"question": "Does SAT slow inference?", "answer": "No, it adds no latency.", "context": []},
        ],
    )
    waiting = Judgment.objects.filter(answer__question__session=session).order_by("pk").last()
    CriterionVerdict.objects.filter(judgment=waiting).delete()
    Judgment.objects.filter(pk=waiting.pk).update(status=Judgment.Status.PENDING, raw_output="")
    EvaluationSession.objects.filter(pk=session.pk).update(status=EvaluationSession.Status.RUNNING, score_summary={})

    client.force_login(member)
    body = client.get(session.get_absolute_url()).content.decode()
    assert "1 pending" in body
    assert "unparseable" not in body.casefold()
