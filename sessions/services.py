"""Evaluation sessions: creation, the retrieval-augmented generation pipeline, life cycle.

Pipeline invariants:
- the turns of one conversation run in order (one worker at a time per conversation,
  held by an advisory lock), each seeing the earlier turns of its own conversation;
- different conversations run in parallel (one task chain per conversation);
- a finished answer hands off to judging in the same transaction that marks it done,
  so judging never blocks the next turn and nothing is lost between the two;
- every step is guarded by status, so a re-delivered or duplicated task is harmless.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from accounts.models import Team
from core.errors import Conflict, InvalidInput
from core.locks import CONVERSATION, advisory_lock
from corpora.models import Corpus
from llm.config import call_cost, llm_available, llm_config
from llm.types import LLMConfig, ProviderError
from sessions.models import (
    DEFAULT_PROMPT_TEMPLATE,
    Answer,
    Conversation,
    EvaluationSession,
    Question,
    RetrievedPassage,
)
from sessions.question_files import ConversationInput
from sessions.selectors import session_has_pending_work

logger = logging.getLogger(__name__)

NO_HISTORY = "(none)"
# How long one task may keep answering turns of a conversation before it re-queues the
# rest: short enough to stay far below the task time limit and to share workers fairly.
TURN_SLICE_SECONDS = 60.0
# What answer_generate writes when an answer ends its pending state.
ANSWER_RESULT_FIELDS = [
    "status",
    "text",
    "error",
    "prompt",
    "retrieval_query",
    "retrieval_latency_ms",
    "response_latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "provider_attempts",
    "model",
    "cost_usd",
    "started_at",
    "finished_at",
]
FINAL_SESSION_STATES = (
    EvaluationSession.Status.COMPLETED,
    EvaluationSession.Status.COMPLETED_WITH_ERRORS,
    EvaluationSession.Status.CANCELLED,
)


# --- Creating and starting ----------------------------------------------------------


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

    from django.conf import settings

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
    from django.conf import settings

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
    from judging.selectors import rubric_default

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


def session_estimate(*, session: EvaluationSession) -> dict:
    """Calls, tokens and (where prices are configured) money, before anything runs."""
    from judging.probes import STRATEGY_EXPECTED
    from llm.config import model_prices

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
    rewrite_calls = followups if session.generator_provider == "openai" else 0
    calls = {
        "generation": n_questions,
        "query_rewrite": rewrite_calls,
        "judging": n_questions * session.judge_repeats,
        "probe_judging": n_questions * session.judge_repeats * probes_per_answer,
    }
    llm_calls = sum(
        count
        for kind, count in calls.items()
        if (session.generator_provider == "openai" and kind in ("generation", "query_rewrite"))
        or (session.judge_provider == "openai" and kind in ("judging", "probe_judging"))
    )
    tokens = {
        "generation": n_questions * (generation_prompt + generation_completion),
        "judging": judge_calls * (judge_prompt + judge_completion),
    }
    prices = model_prices()
    money = None
    if session.generator_provider == "offline" and session.judge_provider == "offline":
        money = Decimal(0)
    elif session.generator_model in prices or session.judge_model in prices:
        money = Decimal(0)
        if session.generator_provider == "openai":
            money += call_cost(
                model=session.generator_model,
                prompt_tokens=n_questions * generation_prompt,
                completion_tokens=n_questions * generation_completion,
            )
        if session.judge_provider == "openai":
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


def session_start(*, session: EvaluationSession) -> EvaluationSession:
    with transaction.atomic():
        session = EvaluationSession.objects.select_for_update().get(pk=session.pk)
        if session.status != EvaluationSession.Status.DRAFT:
            raise Conflict(f"The session is {session.get_status_display().lower()}; it cannot be started again.")
        session.status = EvaluationSession.Status.QUEUED
        session.save(update_fields=["status"])
        # From now on verdicts refer to this rubric: it may not change in place any more.
        session.rubric.__class__.objects.filter(pk=session.rubric_id, locked=False).update(locked=True)
        if session.generator_provider == EvaluationSession.Provider.PROVIDED:
            from judging.services import judgments_schedule_for_answer

            for answer in Answer.objects.filter(question__session=session).select_related("question__session"):
                judgments_schedule_for_answer(answer=answer)
        _enqueue_conversations(session=session)
    return session


def session_cancel(*, session: EvaluationSession, reason: str = "Cancelled by a user.") -> EvaluationSession:
    with transaction.atomic():
        session = EvaluationSession.objects.select_for_update().get(pk=session.pk)
        if session.status in FINAL_SESSION_STATES:
            raise Conflict("The session has already finished.")
        session.status = EvaluationSession.Status.CANCELLED
        session.status_reason = reason
        session.finished_at = timezone.now()
        session.save(update_fields=["status", "status_reason", "finished_at"])
    return session


def session_resume(*, session: EvaluationSession) -> EvaluationSession:
    """Redo only unfinished work: failed answers get a new attempt, pending work is re-queued."""
    from judging.services import judgments_requeue_for_session

    with transaction.atomic():
        session = EvaluationSession.objects.select_for_update().get(pk=session.pk)
        if session.status in (EvaluationSession.Status.QUEUED, EvaluationSession.Status.RUNNING):
            raise Conflict("The session is already running.")
        if session.status == EvaluationSession.Status.DRAFT:
            raise Conflict("The session has not been started yet.")
        if session.status == EvaluationSession.Status.COMPLETED:
            # Nothing failed, nothing is pending: a resume would only re-queue finished work.
            raise Conflict("The session completed with nothing left to redo; re-judge it or start a new session.")
        for question in Question.objects.filter(session=session):
            latest = question.answers.order_by("-attempt").first()
            if latest is not None and latest.status == Answer.Status.FAILED:
                Answer.objects.create(
                    question=question,
                    attempt=latest.attempt + 1,
                    provider=session.generator_provider,
                    model=session.generator_model,
                )
        session.status = EvaluationSession.Status.QUEUED
        session.status_reason = ""
        session.finished_at = None
        session.save(update_fields=["status", "status_reason", "finished_at"])
        judgments_requeue_for_session(session=session)
        _enqueue_conversations(session=session)
    return session


def _enqueue_conversations(*, session: EvaluationSession) -> None:
    from sessions.tasks import advance_conversation

    ids = list(Conversation.objects.filter(session=session).values_list("pk", flat=True))

    def send() -> None:
        for conversation_id in ids:
            advance_conversation.delay(conversation_id)

    transaction.on_commit(send)


def sessions_resume_interrupted() -> int:
    """Re-queue the work of sessions that were running when a worker died.

    Called when a worker starts; duplicates are harmless (locks and status guards).
    """
    from judging.services import judgments_requeue_for_session

    count = 0
    for session in EvaluationSession.objects.filter(
        status__in=(EvaluationSession.Status.QUEUED, EvaluationSession.Status.RUNNING)
    ):
        with transaction.atomic():
            _enqueue_conversations(session=session)
            judgments_requeue_for_session(session=session)
        count += 1
    return count


# --- The pipeline -------------------------------------------------------------------


def conversation_advance(*, conversation_id: int) -> str:
    """Answer the next unanswered turn of a conversation, then queue the turn after it.

    Returns what happened, for logs and tests: "answered", "busy", "done", "stopped".
    """
    try:
        conversation = Conversation.objects.select_related("session").get(pk=conversation_id)
    except Conversation.DoesNotExist:
        return "stopped"  # deleted with its session meanwhile
    session = conversation.session
    if session.status not in (EvaluationSession.Status.QUEUED, EvaluationSession.Status.RUNNING):
        return "stopped"
    deadline = time.monotonic() + TURN_SLICE_SECONDS
    with advisory_lock(namespace=CONVERSATION, key=conversation_id) as acquired:
        if not acquired:
            return "busy"  # another worker holds this conversation and will queue its next turn
        if session.status == EvaluationSession.Status.QUEUED:
            _mark_running(session_id=session.pk)
        # Turns follow each other in this task (no broker round trip on the critical path)
        # until the time slice is used up; then the rest is queued as a new task. The
        # conversation is read once: while the lock is held nobody else writes its answers.
        turns = _conversation_turns(conversation=conversation)
        while True:
            index = _next_turn(turns)
            if index is None:
                session_finalize_if_done(session_id=session.pk)
                return "done"
            if session.budget_usd is not None and _budget_exhausted(session_id=session.pk):
                return "stopped"
            turn = turns[index]
            turn.question.session = session  # already loaded; spares a query per turn
            answer = answer_generate(question=turn.question, history=_turn_history(turns, index), latest=turn.latest)
            turn.record(answer)
            status = _session_status(session_id=session.pk)
            if status not in (EvaluationSession.Status.QUEUED, EvaluationSession.Status.RUNNING):
                return "stopped"  # cancelled meanwhile
            if time.monotonic() >= deadline:
                break
    from sessions.tasks import advance_conversation

    advance_conversation.delay(conversation_id)
    return "answered"


def _session_status(*, session_id: int) -> str | None:
    try:
        return EvaluationSession.objects.values_list("status", flat=True).get(pk=session_id)
    except EvaluationSession.DoesNotExist:
        return None


def _mark_running(*, session_id: int) -> None:
    EvaluationSession.objects.filter(pk=session_id, status=EvaluationSession.Status.QUEUED).update(
        status=EvaluationSession.Status.RUNNING, started_at=timezone.now()
    )


@dataclass
class _Turn:
    """A question with its latest answer attempt and the text of its best OK answer."""

    question: Question
    latest: Answer | None
    answered_text: str | None

    def record(self, answer: Answer) -> None:
        self.latest = answer
        if answer.status == Answer.Status.OK:
            self.answered_text = answer.text


def _conversation_turns(*, conversation: Conversation) -> list[_Turn]:
    turns = []
    for question in conversation.questions.order_by("position").prefetch_related("answers"):
        answers = sorted(question.answers.all(), key=lambda a: a.attempt)
        ok = [a for a in answers if a.status == Answer.Status.OK]
        turns.append(
            _Turn(question=question, latest=answers[-1] if answers else None, answered_text=ok[-1].text if ok else None)
        )
    return turns


def _next_turn(turns: list[_Turn]) -> int | None:
    """The first turn whose latest attempt is missing or unfinished."""
    for index, turn in enumerate(turns):
        if turn.latest is None or turn.latest.status == Answer.Status.PENDING:
            return index
    return None


def _turn_history(turns: list[_Turn], index: int) -> list[tuple[str, str]]:
    question = turns[index].question
    if question.given_history is not None:
        return _given_history(question)
    return [(t.question.text, t.answered_text) for t in turns[:index] if t.answered_text is not None]


def _budget_exhausted(*, session_id: int) -> bool:
    session = EvaluationSession.objects.get(pk=session_id)
    if session.budget_usd is None or session.spent_usd < session.budget_usd:
        return False
    with transaction.atomic():
        stopped = EvaluationSession.objects.filter(
            pk=session_id, status__in=(EvaluationSession.Status.QUEUED, EvaluationSession.Status.RUNNING)
        ).update(
            status=EvaluationSession.Status.CANCELLED,
            status_reason=f"Stopped: the budget of ${session.budget_usd} was reached (spent ${session.spent_usd:.4f}).",
            finished_at=timezone.now(),
        )
    return bool(stopped)


def _given_history(question: Question) -> list[tuple[str, str]]:
    """The history a judge-only item came with (it has no earlier turns of its own)."""
    return [(str(q), str(a)) for q, a in question.given_history]


def conversation_history(*, question: Question) -> list[tuple[str, str]]:
    """Earlier turns of the same conversation that have an answer, in order (one query)."""
    if question.given_history is not None:
        return _given_history(question)
    rows = (
        Answer.objects.filter(
            question__conversation_id=question.conversation_id,
            question__position__lt=question.position,
            status=Answer.Status.OK,
        )
        .order_by("question__position", "-attempt")
        .values_list("question__position", "question__text", "text")
    )
    history: dict[int, tuple[str, str]] = {}
    for position, question_text, answer_text in rows:
        history.setdefault(position, (question_text, answer_text))  # the latest OK attempt
    return list(history.values())


@dataclass
class Passage:
    source_tag: str
    text: str
    score: float
    chunk_id: int | None = None
    source: str = RetrievedPassage.Source.CORPUS
    url: str = ""


def retrieval_query(*, session: EvaluationSession, history: list[tuple[str, str]], question: str) -> str:
    """A follow-up becomes a standalone query; the prompt keeps the user's words."""
    if not history:
        return question
    if session.generator_provider == EvaluationSession.Provider.OPENAI:
        from llm import gateway

        try:
            return gateway.rewrite_followup(config=_generator_config(session), history=history, question=question)
        except ProviderError:
            logger.warning("query rewrite failed; using the heuristic rewrite", exc_info=True)
    from llm.offline import offline_rewrite

    return offline_rewrite(history=history, question=question)


def retrieve(*, session: EvaluationSession, query: str) -> list[Passage]:
    from corpora.selectors import chunks_search

    hits = chunks_search(corpus=session.corpus, query=query, k=session.retrieval_k, mode=session.retrieval_mode)
    passages = [Passage(source_tag=h.source_tag, text=h.text, score=h.score, chunk_id=h.chunk_id) for h in hits]
    if session.web_search:
        passages = _fuse_web_results(passages=passages, query=query, k=session.retrieval_k)
    return passages


def _fuse_web_results(*, passages: list[Passage], query: str, k: int) -> list[Passage]:
    from django.conf import settings

    from corpora.websearch import SearxngBackend, WebSearchError

    if not settings.WEB_SEARCH_URL:
        return passages
    try:
        results = SearxngBackend(settings.WEB_SEARCH_URL).search(query=query, k=k)
    except WebSearchError:
        logger.warning("web search failed; answering from the corpus alone", exc_info=True)
        return passages
    web = [
        Passage(source_tag=r.source_tag, text=r.snippet, score=0.0, source=RetrievedPassage.Source.WEB, url=r.url)
        for r in results
        if r.snippet.strip()
    ]
    # Reciprocal rank fusion of the two ranked lists (k0 = 60).
    fused: list[tuple[float, int, Passage]] = []
    for ranked in (passages, web):
        for rank, passage in enumerate(ranked, start=1):
            fused.append((1.0 / (60 + rank), len(fused), passage))
    fused.sort(key=lambda item: (-item[0], item[1]))
    out = []
    for score, _, passage in fused[:k]:
        passage.score = round(score, 6)
        out.append(passage)
    return out


def prompt_render(*, template: str, history: list[tuple[str, str]], passages: list[Passage], question: str) -> str:
    history_text = "\n".join(f"Q: {q}\nA: {a}" for q, a in history) or NO_HISTORY
    # One passage per line, each starting with its source tag.
    context_text = "\n".join(f"{p.source_tag} {' '.join(p.text.split())}" for p in passages)
    context_text = context_text or "(no passages retrieved)"
    # Plain replacement, not str.format: questions and passages may contain braces.
    return (
        template.replace("{history}", history_text).replace("{context}", context_text).replace("{question}", question)
    )


def _generator_config(session: EvaluationSession) -> LLMConfig:
    return llm_config(provider=session.generator_provider, model=session.generator_model, base_url=session.llm_base_url)


def answer_generate(*, question: Question, history: list[tuple[str, str]], latest: Answer | None) -> Answer:
    """Retrieve, build the prompt, generate, store. Called with the conversation lock held.

    ``history`` holds the earlier turns of the conversation and ``latest`` the question's
    latest attempt (None if there is none yet), both as read under that lock.
    """
    session = question.session
    answer = latest if latest is not None else _pending_answer_create(question=question, session=session)
    if answer.status != Answer.Status.PENDING:
        return answer
    answer.started_at = timezone.now()
    t0 = time.monotonic()
    query = retrieval_query(session=session, history=history, question=question.text)
    passages = retrieve(session=session, query=query)
    retrieval_ms = int((time.monotonic() - t0) * 1000)
    prompt = prompt_render(template=session.prompt_template, history=history, passages=passages, question=question.text)
    answer.retrieval_query = query
    answer.retrieval_latency_ms = retrieval_ms
    answer.prompt = prompt
    try:
        result = _generate(session=session, prompt=prompt, question=question.text, history=history, passages=passages)
    except ProviderError as exc:
        answer.status = Answer.Status.FAILED
        answer.error = str(exc)
        answer.provider_attempts = exc.attempts
    except Exception as exc:  # noqa: BLE001 - recorded on the row; the conversation goes on
        logger.exception("generation for question %s crashed", question.pk)
        answer.status = Answer.Status.FAILED
        answer.error = f"Internal error while generating: {exc!r}"
    else:
        answer.status = Answer.Status.OK
        answer.text = result["text"]
        answer.response_latency_ms = result["latency_ms"]
        answer.prompt_tokens = result["prompt_tokens"]
        answer.completion_tokens = result["completion_tokens"]
        answer.provider_attempts = result["attempts"]
        answer.model = result["model"]
        answer.cost_usd = call_cost(
            model=result["model"], prompt_tokens=result["prompt_tokens"], completion_tokens=result["completion_tokens"]
        )
    answer.finished_at = timezone.now()
    with transaction.atomic():
        answer.save(update_fields=ANSWER_RESULT_FIELDS)
        # Passages are written in the same transaction that ends the pending state, so a
        # pending answer (the only kind generated) never has any yet.
        RetrievedPassage.objects.bulk_create(
            RetrievedPassage(
                answer=answer,
                chunk_id=p.chunk_id,
                source=p.source,
                rank=rank,
                score=p.score,
                source_tag=p.source_tag,
                text=p.text,
                url=p.url,
            )
            for rank, p in enumerate(passages, start=1)
        )
        if answer.cost_usd:
            EvaluationSession.objects.filter(pk=session.pk).update(spent_usd=F("spent_usd") + answer.cost_usd)
        if answer.status == Answer.Status.OK:
            from judging.services import judgments_schedule_for_answer

            judgments_schedule_for_answer(answer=answer, passages=[p.text for p in passages])
    return answer


def _pending_answer_create(*, question: Question, session: EvaluationSession) -> Answer:
    try:
        with transaction.atomic():
            return Answer.objects.create(
                question=question, attempt=1, provider=session.generator_provider, model=session.generator_model
            )
    except IntegrityError:  # someone else made it meanwhile (only without the lock)
        return question.answers.order_by("-attempt").first()


def _generate(
    *, session: EvaluationSession, prompt: str, question: str, history: list[tuple[str, str]], passages: list[Passage]
) -> dict:
    if session.generator_provider == EvaluationSession.Provider.OPENAI:
        from llm import gateway

        result = gateway.chat_complete(
            config=_generator_config(session),
            messages=[{"role": "user", "content": prompt}],
            temperature=session.temperature,
        )
        return {
            "text": result.text,
            "latency_ms": result.latency_ms,
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "attempts": result.attempts,
            "model": result.model or session.generator_model,
        }
    from llm.embeddings import get_embedder
    from llm.offline import offline_answer

    t0 = time.monotonic()
    text = offline_answer(
        question=question,
        history=history,
        passages=[(p.source_tag, p.text) for p in passages],
        embedder=get_embedder(name=session.corpus.embedding_model)
        if session.corpus.embedding_model.startswith("local:")
        else get_embedder(name="local:all-MiniLM-L6-v2"),
    )
    return {
        "text": text,
        "latency_ms": int((time.monotonic() - t0) * 1000),
        "prompt_tokens": None,
        "completion_tokens": None,
        "attempts": 1,
        "model": session.generator_model,
    }


# --- Finishing ----------------------------------------------------------------------


def session_finalize_if_done(*, session_id: int) -> EvaluationSession | None:
    """Move a running session to completed / completed with errors once nothing is left."""
    from judging.models import Judgment

    # Cheap early exit for the common case (called after every judgment): work is left.
    if session_has_pending_work(session_id=session_id):
        return None
    with transaction.atomic():
        session = EvaluationSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None or session.status not in (
            EvaluationSession.Status.QUEUED,
            EvaluationSession.Status.RUNNING,
        ):
            return session
        latest = (
            Answer.objects.filter(question__session=session)
            .values("question_id")
            .annotate(latest=Max("attempt"))
            .values_list("question_id", "latest")
        )
        latest_by_question = dict(latest)
        if len(latest_by_question) < Question.objects.filter(session=session).count():
            return session
        final = Answer.objects.filter(question__session=session).values_list("question_id", "attempt", "status")
        statuses = {qid: status for qid, attempt, status in final if latest_by_question.get(qid) == attempt}
        if any(status == Answer.Status.PENDING for status in statuses.values()):
            return session
        judgments = Judgment.objects.filter(answer__question__session=session) | Judgment.objects.filter(
            probe__answer__question__session=session
        )
        if judgments.filter(status=Judgment.Status.PENDING).exists():
            return session
        failed = (
            any(status == Answer.Status.FAILED for status in statuses.values())
            or judgments.filter(status=Judgment.Status.FAILED).exists()
        )
        session.status = (
            EvaluationSession.Status.COMPLETED_WITH_ERRORS if failed else EvaluationSession.Status.COMPLETED
        )
        session.finished_at = timezone.now()
        session.save(update_fields=["status", "finished_at"])
        session.rubric.__class__.objects.filter(pk=session.rubric_id).update(locked=True)
        from judging.services import session_score_summary_store

        session_score_summary_store(session=session)
    return session
