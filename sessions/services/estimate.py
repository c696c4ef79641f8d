"""Cost estimate of a session before it runs: calls, tokens and money."""

from __future__ import annotations

from decimal import Decimal

from judging.probes import STRATEGY_EXPECTED
from llm.config import call_cost, model_prices
from llm.types import Provider
from sessions.models import Conversation, EvaluationSession, Question


def session_estimate(*, session: EvaluationSession) -> dict:
    """Calls, tokens and (where prices are configured) money, before anything runs."""
    questions = list(Question.objects.filter(session=session).values_list("text", "position"))
    n_questions = len(questions)
    followups = sum(1 for _, position in questions if position > 0)
    avg_chunk_chars = 900
    template_tokens = len(session.prompt_template) // 4
    avg_question_tokens = (sum(len(t) for t, _ in questions) // max(n_questions, 1)) // 4 + 1
    context_tokens = session.retrieval_k * avg_chunk_chars // 4
    history_tokens = 120  # an earlier turn, on average, for follow-ups
    generation_prompt = template_tokens + context_tokens + avg_question_tokens + history_tokens
    generation_completion = 200
    probes_per_answer = len(STRATEGY_EXPECTED) if session.robustness else 0
    judge_calls = n_questions * session.judge_repeats * (1 + probes_per_answer)
    judge_prompt = generation_prompt + 600
    judge_completion = 400
    rewrite_calls = followups if session.generator_provider == Provider.OPENAI else 0
    calls = {
        "generation": n_questions,
        "query_rewrite": rewrite_calls,
        "judging": n_questions * session.judge_repeats,
        "probe_judging": n_questions * session.judge_repeats * probes_per_answer,
    }
    llm_calls = sum(
        count
        for kind, count in calls.items()
        if (session.generator_provider == Provider.OPENAI and kind in ("generation", "query_rewrite"))
        or (session.judge_provider == Provider.OPENAI and kind in ("judging", "probe_judging"))
    )
    tokens = {
        "generation": n_questions * (generation_prompt + generation_completion),
        "judging": judge_calls * (judge_prompt + judge_completion),
    }
    prices = model_prices()
    money = None
    if session.generator_provider == Provider.OFFLINE and session.judge_provider == Provider.OFFLINE:
        money = Decimal(0)
    elif session.generator_model in prices or session.judge_model in prices:
        money = Decimal(0)
        if session.generator_provider == Provider.OPENAI:
            money += call_cost(
                model=session.generator_model,
                prompt_tokens=n_questions * generation_prompt,
                completion_tokens=n_questions * generation_completion,
            )
        if session.judge_provider == Provider.OPENAI:
            money += call_cost(
                model=session.judge_model,
                prompt_tokens=judge_calls * judge_prompt,
                completion_tokens=judge_calls * judge_completion,
            )
    return {
        "questions": n_questions,
        "conversations": Conversation.objects.filter(session=session).count(),
        "calls": calls,
        "llm_calls": llm_calls,
        "tokens": tokens,
        "total_tokens": sum(tokens.values()),
        "usd": None if money is None else str(money.quantize(Decimal("0.0001"))),
    }
