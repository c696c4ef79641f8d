"""Creating sessions: from questions, from ready answers (judge-only), and re-judges."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from core.errors import Conflict, InvalidInput
from corpora.models import Corpus
from judging.selectors import rubric_default
from llm.config import llm_available
from sessions.models import (
    DEFAULT_PROMPT_TEMPLATE,
    Answer,
    Conversation,
    EvaluationSession,
    Question,
    RetrievedPassage,
)
from sessions.question_files import ConversationInput
from sessions.services.estimate import session_estimate
from sessions.services.judgments import conversation_history
from sessions.services.lifecycle import session_start


@transaction.atomic
def session_create(
    *,
    team: Team,
    user=None,
    corpus: Corpus,
    name: str,
    conversations: list[ConversationInput],
    rubric=None,
    retrieval_mode: str = EvaluationSession.RetrievalMode.HYBRID,
    retrieval_k: int = 5,
    web_search: bool = False,
    generator_provider: str | None = None,
    generator_model: str = "",
    llm_base_url: str = "",
    temperature: float = 0.0,
    prompt_template: str | None = None,
    judge_provider: str | None = None,
    judge_model: str = "",
    judge_repeats: int = 1,
    robustness: bool = False,
    budget_usd: Decimal | None = None,
) -> EvaluationSession:

    if corpus.team_id != team.pk:
        raise InvalidInput("The corpus belongs to another team.")
    if not conversations or not any(c.questions for c in conversations):
        raise InvalidInput("A session needs at least one question.")
    if retrieval_mode not in EvaluationSession.RetrievalMode.values:
        raise InvalidInput(f"Unknown retrieval mode {retrieval_mode!r}.")
    if not 1 <= retrieval_k <= 50:
        raise InvalidInput("k must be between 1 and 50.")
    if not 1 <= judge_repeats <= 10:
        raise InvalidInput("Judge repeats must be between 1 and 10.")
    template = prompt_template or DEFAULT_PROMPT_TEMPLATE
    missing = [p for p in ("{context}", "{question}") if p not in template]
    if missing:
        raise InvalidInput(f"The prompt template must contain {' and '.join(missing)}.")
    default_provider = EvaluationSession.Provider.OPENAI if llm_available() else EvaluationSession.Provider.OFFLINE
    generator_provider = generator_provider or default_provider
    judge_provider = judge_provider or default_provider
    for provider in (generator_provider, judge_provider):
        if provider not in EvaluationSession.Provider.values:
            raise InvalidInput(f"Unknown provider {provider!r}.")
        if provider == EvaluationSession.Provider.OPENAI and not (llm_base_url or llm_available()):
            raise InvalidInput("The OpenAI-compatible provider needs LLM_BASE_URL (or a base URL for the session).")
    rubric = _team_rubric(team=team, rubric=rubric)

    session = EvaluationSession.objects.create(
        team=team,
        created_by=user,
        corpus=corpus,
        name=name.strip() or "Untitled session",
        retrieval_mode=retrieval_mode,
        retrieval_k=retrieval_k,
        web_search=web_search,
        generator_provider=generator_provider,
        generator_model=generator_model
        or (settings.LLM_MODEL if generator_provider == "openai" else "extractive-minilm"),
        llm_base_url=llm_base_url,
        temperature=temperature,
        prompt_template=template,
        judge_provider=judge_provider,
        judge_model=judge_model or (settings.JUDGE_MODEL if judge_provider == "openai" else "heuristic-minilm"),
        judge_repeats=judge_repeats,
        rubric=rubric,
        robustness=robustness,
        budget_usd=budget_usd,
    )
    for c_pos, conv in enumerate(c for c in conversations if c.questions):
        conversation = Conversation.objects.create(session=session, position=c_pos, label=conv.label[:200])
        Question.objects.bulk_create(
            Question(
                session=session,
                conversation=conversation,
                position=q_pos,
                text=q.text,
                reference_answer=q.reference_answer,
            )
            for q_pos, q in enumerate(conv.questions)
        )
    session.estimate = session_estimate(session=session)
    session.save(update_fields=["estimate"])
    return session


@transaction.atomic
def session_create_judge_only(
    *,
    team: Team,
    user=None,
    name: str,
    items: list[dict],
    rubric=None,
    judge_provider: str | None = None,
    judge_model: str = "",
    judge_repeats: int = 1,
    robustness: bool = False,
    llm_base_url: str = "",
) -> EvaluationSession:
    """A session of ready answers to judge: items of question, answer, context, history.

    Items sharing a `conversation` label form one conversation, in order; an item's own
    `history` (list of {question, answer}) replaces the earlier turns when given.
    """
    if not items:
        raise InvalidInput("Submit at least one item.")
    parsed: dict[str, list[dict]] = {}
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not str(item.get("question") or "").strip():
            raise InvalidInput(f"Item {index} needs a question.")
        if not str(item.get("answer") or "").strip():
            raise InvalidInput(f"Item {index} needs an answer.")
        label = str(item.get("conversation") or f"Item {index}")
        parsed.setdefault(label, []).append(item)
    judge_provider = judge_provider or (
        EvaluationSession.Provider.OPENAI if llm_available() else EvaluationSession.Provider.OFFLINE
    )
    if judge_provider not in (EvaluationSession.Provider.OFFLINE, EvaluationSession.Provider.OPENAI):
        raise InvalidInput(f"Unknown judge provider {judge_provider!r}.")
    rubric = _team_rubric(team=team, rubric=rubric)
    session = EvaluationSession.objects.create(
        team=team,
        created_by=user,
        corpus=None,
        name=name.strip() or "Judge-only batch",
        generator_provider=EvaluationSession.Provider.PROVIDED,
        generator_model="provided",
        llm_base_url=llm_base_url,
        judge_provider=judge_provider,
        judge_model=judge_model or (settings.JUDGE_MODEL if judge_provider == "openai" else "heuristic-minilm"),
        judge_repeats=judge_repeats,
        rubric=rubric,
        robustness=robustness,
    )
    now = timezone.now()
    for c_pos, (label, turns) in enumerate(parsed.items()):
        conversation = Conversation.objects.create(session=session, position=c_pos, label=label[:200])
        for q_pos, item in enumerate(turns):
            history = item.get("history")
            question = Question.objects.create(
                session=session,
                conversation=conversation,
                position=q_pos,
                text=str(item["question"]).strip(),
                reference_answer=str(item.get("reference_answer") or ""),
                given_history=[_history_turn(t) for t in history] if isinstance(history, list) else None,
            )
            answer = Answer.objects.create(
                question=question,
                attempt=1,
                status=Answer.Status.OK,
                text=str(item["answer"]),
                provider=EvaluationSession.Provider.PROVIDED,
                model=str(item.get("model") or "provided"),
                response_latency_ms=item.get("latency_ms") if isinstance(item.get("latency_ms"), int) else None,
                started_at=now,
                finished_at=now,
            )
            context = item.get("context") or []
            if isinstance(context, str):
                context = [context]
            RetrievedPassage.objects.bulk_create(
                RetrievedPassage(
                    answer=answer,
                    rank=rank,
                    score=0.0,
                    source_tag=_tag_of(str(text), rank),
                    text=_untagged(str(text)),
                )
                for rank, text in enumerate(context, start=1)
            )
    session.estimate = session_estimate(session=session)
    session.save(update_fields=["estimate"])
    return session


def session_rejudge(
    *,
    session: EvaluationSession,
    user=None,
    judge_provider: str | None = None,
    judge_model: str = "",
    rubric=None,
    judge_repeats: int | None = None,
) -> EvaluationSession:
    """Judge a finished session's answers again, as a new judge-only session linked to it.

    The answers, their passages and their history are copied as they were; what changes is
    the judge (provider, model, temperature of the settings) or the rubric version. The
    comparison (sessions.selectors.session_comparison) shows what moved.
    """
    if session.status not in (EvaluationSession.Status.COMPLETED, EvaluationSession.Status.COMPLETED_WITH_ERRORS):
        raise Conflict("Only a finished session can be re-judged.")
    items = []
    questions = (
        Question.objects.filter(session=session)
        .select_related("conversation")
        .prefetch_related("answers__passages")
        .order_by("conversation__position", "position")
    )
    for question in questions:
        answered = [a for a in question.answers.all() if a.status == Answer.Status.OK]
        if not answered:
            continue
        answer = max(answered, key=lambda a: a.attempt)
        items.append(
            {
                "conversation": question.conversation.label or f"Conversation {question.conversation.position + 1}",
                "question": question.text,
                "reference_answer": question.reference_answer,
                "answer": answer.text,
                "model": answer.model,
                "context": [f"{p.source_tag} {p.text}" for p in sorted(answer.passages.all(), key=lambda p: p.rank)],
                "history": [{"question": q, "answer": a} for q, a in conversation_history(question=question)],
            }
        )
    if not items:
        raise InvalidInput("The session has no answers to judge again.")
    same_provider = judge_provider in (None, session.judge_provider)
    with transaction.atomic():
        rejudge = session_create_judge_only(
            team=session.team,
            user=user,
            name=f"Re-judge of {session.name}",
            items=items,
            rubric=rubric or session.rubric,
            judge_provider=judge_provider or session.judge_provider,
            judge_model=judge_model or (session.judge_model if same_provider else ""),
            judge_repeats=judge_repeats or session.judge_repeats,
            llm_base_url=session.llm_base_url,
        )
        rejudge.rejudge_of = session
        rejudge.corpus = session.corpus
        rejudge.retrieval_mode, rejudge.retrieval_k = session.retrieval_mode, session.retrieval_k
        rejudge.save(update_fields=["rejudge_of", "corpus", "retrieval_mode", "retrieval_k"])
        session_start(session=rejudge)
    return rejudge


def _team_rubric(*, team: Team, rubric):
    """The chosen rubric if the team may use it (its own or a shared one), else the default."""
    rubric = rubric or rubric_default()
    if rubric.team_id not in (None, team.pk):
        raise InvalidInput("The rubric belongs to another team.")
    return rubric


def _history_turn(turn) -> list[str]:
    if isinstance(turn, dict):
        return [str(turn.get("question") or turn.get("q") or ""), str(turn.get("answer") or turn.get("a") or "")]
    if isinstance(turn, list | tuple) and len(turn) == 2:
        return [str(turn[0]), str(turn[1])]
    raise InvalidInput("History turns must be {question, answer} objects.")


def _tag_of(text: str, rank: int) -> str:
    text = text.lstrip()
    if text.startswith("[") and "]" in text[:200]:
        return text[: text.index("]") + 1]
    return f"[Context {rank}]"


def _untagged(text: str) -> str:
    stripped = text.lstrip()
    if stripped.startswith("[") and "]" in stripped[:200]:
        return stripped[stripped.index("]") + 1 :].strip()
    return text
