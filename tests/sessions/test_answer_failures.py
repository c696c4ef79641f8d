"""Every answer ends ok or failed with a message: a crash in retrieval or a reply the
database would refuse never leaves it pending (and its session stuck)."""

from __future__ import annotations

import pytest

from core.runmode import in_process_tasks
from judging.models import Judgment
from sessions.models import Answer, EvaluationSession, RetrievedPassage
from sessions.services import session_start
from tests.sessions.pipeline_support import make_corpus, make_session, wait_for_session

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_crash_in_retrieval_fails_the_answer_with_a_message(team, tmp_path):
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = make_session(team, corpus, [["What is SAT?", "Is it fast?"]])
    EvaluationSession.objects.filter(pk=session.pk).update(retrieval_mode="bogus")  # as if corrupted
    with in_process_tasks():
        session_start(session=session)

    session = wait_for_session(session, timeout=30)
    assert session.status == EvaluationSession.Status.COMPLETED_WITH_ERRORS
    answers = Answer.objects.filter(question__session=session)
    assert answers.count() == 2
    for answer in answers:
        assert answer.status == Answer.Status.FAILED
        assert answer.error.startswith("Retrieval failed: unknown search mode 'bogus'")


def test_nul_characters_in_a_model_reply_are_stripped_not_fatal(team, tmp_path, fake_openai):
    from tests.support.fake_openai import is_judge_request, verdict_responder

    def responder(request: dict) -> str:
        if is_judge_request(request):
            return verdict_responder(request)
        return "SAT\x00 updates 0.8% of the weights.\x00"

    fake_openai.set_responder(responder)
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = make_session(
        team,
        corpus,
        [["What is SAT?"]],
        generator_provider="openai",
        generator_model="fake-gen",
        judge_provider="openai",
        judge_model="fake-judge",
        llm_base_url=fake_openai.base_url,
    )
    with in_process_tasks():
        session_start(session=session)

    answer = Answer.objects.get(question__session=session)
    assert answer.status == Answer.Status.OK
    assert "\x00" not in answer.text and "updates 0.8%" in answer.text
    assert RetrievedPassage.objects.filter(answer=answer).exists()
    judgment = Judgment.objects.get(answer=answer)
    assert judgment.status == Judgment.Status.OK
    assert "\x00" not in str(judgment.prompt)  # the answer, quoted in the judge's prompt
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.COMPLETED
