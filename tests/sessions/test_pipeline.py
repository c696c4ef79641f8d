"""The RAG pipeline, in process: prompts, history, tags, retries, failures, budget, resume."""

import json
from decimal import Decimal

import pytest

from core.runmode import in_process_tasks
from judging.models import Judgment
from sessions.models import Answer, EvaluationSession
from sessions.services import session_resume, session_start
from tests.sessions.pipeline_support import make_corpus, make_session

pytestmark = pytest.mark.django_db(transaction=True)


def _run(session):
    with in_process_tasks():
        session_start(session=session)
    session.refresh_from_db()
    return session


def _openai_session(team, corpus, base_url, spec, **extra):
    return make_session(
        team, corpus, spec, generator_provider="openai", generator_model="fake-gen", llm_base_url=base_url, **extra
    )


def _generation_requests(fake):
    """Chat requests that carried an answer prompt (not query rewrites)."""
    out = []
    for request in fake.requests_to("/chat/completions"):
        content = request.json["messages"][-1]["content"]
        if content.startswith("You are a helpful assistant."):
            out.append(content)
    return out


def test_prompt_stored_is_prompt_sent_with_history_of_own_conversation_only(team, tmp_path, fake_openai):
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = _openai_session(
        team,
        corpus,
        fake_openai.base_url,
        [
            ["What is Sparse Adapter Tuning?", "How many parameters does it train?"],
            ["Does SAT slow down inference?", "What learning rate does it use?"],
        ],
    )
    session = _run(session)
    assert session.status == EvaluationSession.Status.COMPLETED

    sent = _generation_requests(fake_openai)
    answers = list(Answer.objects.filter(question__session=session).select_related("question__conversation"))
    assert len(answers) == 4 and len(sent) == 4
    assert sorted(a.prompt for a in answers) == sorted(sent)

    by_text = {a.question.text: a for a in answers}
    first, follow = by_text["What is Sparse Adapter Tuning?"], by_text["How many parameters does it train?"]
    other_first = by_text["Does SAT slow down inference?"]
    assert "History:\n(none)\n" in first.prompt
    assert f"History:\nQ: What is Sparse Adapter Tuning?\nA: {first.text}\nContext:" in follow.prompt
    assert "Does SAT slow down inference?" not in follow.prompt.split("Context:")[0]
    assert other_first.question.text not in follow.prompt
    # The prompt keeps the user's words; retrieval used a standalone rewrite.
    assert follow.prompt.rstrip().endswith("Current Question:\nHow many parameters does it train?\nAnswer:")
    rewrites = [r for r in fake_openai.requests_to("/chat/completions") if r not in sent]
    assert rewrites, "the follow-up was rewritten into a standalone query"

    context = follow.prompt.split("Context:\n", 1)[1].split("\nCurrent Question:", 1)[0]
    lines = [line for line in context.splitlines() if line.strip()]
    assert lines and all(line.startswith("[Doc: sat_notes.md]") for line in lines)
    passages = list(follow.passages.order_by("rank"))
    assert [p.rank for p in passages] == list(range(1, len(passages) + 1))
    assert all(p.chunk_id and p.source_tag == "[Doc: sat_notes.md]" for p in passages)


def test_provider_that_fails_twice_then_succeeds_yields_one_answer(team, tmp_path, fake_openai, settings):
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    fake_openai.script(["500", "429:0", "ok"])
    session = _run(_openai_session(team, corpus, fake_openai.base_url, [["What is SAT?"]]))
    answers = list(Answer.objects.filter(question__session=session))
    assert len(answers) == 1
    assert answers[0].status == Answer.Status.OK and answers[0].provider_attempts == 3
    assert session.status == EvaluationSession.Status.COMPLETED


def test_provider_that_always_fails_is_recorded_and_session_completes_with_errors(
    team, tmp_path, fake_openai, settings
):
    settings.LLM_MAX_RETRIES = 1
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    # Two calls per answer (LLM_MAX_RETRIES=1); no rewrite, as the first turn has no answer.
    fake_openai.script(["500"] * 4)
    session = _run(_openai_session(team, corpus, fake_openai.base_url, [["What is SAT?", "Why?"]]))
    assert session.status == EvaluationSession.Status.COMPLETED_WITH_ERRORS
    answers = list(Answer.objects.filter(question__session=session))
    assert len(answers) == 2
    assert all(a.status == Answer.Status.FAILED and "500" in a.error and a.prompt for a in answers)
    assert not Judgment.objects.filter(answer__in=answers).exists()

    # The outage is over; resume redoes only the failed turns, as new attempts.
    with in_process_tasks():
        session_resume(session=session)
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.COMPLETED
    latest = Answer.objects.filter(question__session=session, attempt=2)
    assert latest.count() == 2 and all(a.status == Answer.Status.OK for a in latest)
    assert Answer.objects.filter(question__session=session).count() == 4


def test_budget_cap_stops_the_session_cleanly(team, tmp_path, fake_openai, settings):
    settings.LLM_PRICES = "fake-gen=1000/1000"  # USD per million tokens: every call costs
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = _openai_session(
        team, corpus, fake_openai.base_url, [["What is SAT?", "Why?", "How?", "When?"]], budget_usd=Decimal("0.01")
    )
    assert session.estimate["usd"] is not None and Decimal(session.estimate["usd"]) > 0
    session = _run(session)
    assert session.status == EvaluationSession.Status.CANCELLED
    assert "budget" in session.status_reason
    answered = Answer.objects.filter(question__session=session).count()
    assert 1 <= answered < 4
    assert session.spent_usd >= Decimal("0.01")


def test_offline_session_answers_and_judges_every_question(team, tmp_path):
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = _run(make_session(team, corpus, [["How many parameters does SAT train?"]], judge_repeats=2))
    answer = Answer.objects.get(question__session=session)
    assert "2.8 million" in answer.text and "[Doc: sat_notes.md]" in answer.text
    judgments = list(Judgment.objects.filter(answer=answer).order_by("repeat_index"))
    assert [j.repeat_index for j in judgments] == [0, 1]
    assert all(j.status == Judgment.Status.OK and j.weighted_score is not None for j in judgments)
    assert all(j.verdicts.count() == 5 for j in judgments)
    provenance = judgments[0].provenance
    corpus.refresh_from_db()
    assert provenance["rubric"]["version"] == 1 and provenance["corpus"]["version"] == corpus.version
    assert provenance["retrieval"] == {"mode": "hybrid", "k": 5, "web_search": False}
    assert len(provenance["prompt_hash"]) == 64
    json.dumps(provenance)
    assert session.rubric.__class__.objects.get(pk=session.rubric_id).locked
