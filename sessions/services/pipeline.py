"""The retrieval-augmented generation pipeline.

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

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.file_guards import strip_nul
from core.locks import CONVERSATION, advisory_lock
from core.queueing import task_publish
from corpora.selectors import chunks_search, ranks_fuse
from corpora.websearch import SearxngBackend, WebSearchError
from llm import gateway
from llm.config import call_cost, llm_config
from llm.embeddings import get_embedder
from llm.offline import offline_answer, offline_rewrite
from llm.types import LLMConfig, Passage, ProviderError
from sessions import tasks
from sessions.models import Answer, Conversation, EvaluationSession, Question, RetrievedPassage
from sessions.services.judgments import judgments_schedule_for_answer, session_finalize_if_done

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
    "history",
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
    task_publish(task=tasks.advance_conversation, args=[conversation_id])
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


@dataclass
class Hit:
    """A retrieved passage with its score and where it came from."""

    passage: Passage
    score: float
    chunk_id: int | None = None
    source: str = RetrievedPassage.Source.CORPUS
    url: str = ""


def retrieval_query(*, session: EvaluationSession, history: list[tuple[str, str]], question: str) -> tuple[str, int]:
    """A follow-up becomes a standalone query; the prompt keeps the user's words.

    Returns the query and the LLM attempts the rewrite took (0 without a model call)."""
    if not history:
        return question, 0
    attempts = 0
    if session.generator_provider == EvaluationSession.Provider.OPENAI:
        try:
            result = gateway.rewrite_followup_call(
                config=_generator_config(session), history=history, question=question
            )
            return result.text, result.attempts
        except ProviderError as exc:
            attempts = exc.attempts
            logger.warning("query rewrite failed; using the heuristic rewrite", exc_info=True)
    return offline_rewrite(history=history, question=question), attempts


def retrieve(*, session: EvaluationSession, query: str) -> list[Hit]:
    hits = chunks_search(corpus=session.corpus, query=query, k=session.retrieval_k, mode=session.retrieval_mode)
    found = [Hit(passage=Passage(tag=h.source_tag, text=h.text), score=h.score, chunk_id=h.chunk_id) for h in hits]
    if session.web_search:
        found = _fuse_web_results(passages=found, query=query, k=session.retrieval_k)
    return found


def _fuse_web_results(*, passages: list[Hit], query: str, k: int) -> list[Hit]:
    if not settings.WEB_SEARCH_URL:
        return passages
    try:
        results = SearxngBackend(settings.WEB_SEARCH_URL).search(query=query, k=k)
    except WebSearchError:
        logger.warning("web search failed; answering from the corpus alone", exc_info=True)
        return passages
    web = [
        Hit(
            passage=Passage(tag=r.source_tag, text=r.snippet),
            score=0.0,
            source=RetrievedPassage.Source.WEB,
            url=r.url,
        )
        for r in results
        if r.snippet.strip()
    ]
    ranked = {"corpus": passages, "web": web}
    fused = ranks_fuse({name: [(name, i) for i in range(len(items))] for name, items in ranked.items()})
    out = []
    for entry in fused[:k]:
        name, index = entry.key
        passage = ranked[name][index]
        passage.score = round(entry.score, 6)
        out.append(passage)
    return out


def prompt_render(*, template: str, history: list[tuple[str, str]], passages: list[Passage], question: str) -> str:
    history_text = "\n".join(f"Q: {q}\nA: {a}" for q, a in history) or NO_HISTORY
    context_text = "\n".join(p.render_line() for p in passages)
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
    try:
        # provider_attempts counts every LLM call made for the answer: the rewrite's and generation's.
        query, rewrite_attempts = retrieval_query(session=session, history=history, question=question.text)
        hits = retrieve(session=session, query=query)
    except Exception as exc:  # noqa: BLE001 - the answer ends failed with a message, never stays pending
        logger.exception("retrieval for question %s crashed", question.pk)
        return _answer_store_failure(answer=answer, error=f"Retrieval failed: {exc}")
    passages = [hit.passage for hit in hits]
    retrieval_ms = int((time.monotonic() - t0) * 1000)
    prompt = prompt_render(template=session.prompt_template, history=history, passages=passages, question=question.text)
    answer.retrieval_query = query
    answer.retrieval_latency_ms = retrieval_ms
    answer.prompt = prompt
    answer.history = [[q, a] for q, a in history]
    try:
        result = _generate(session=session, prompt=prompt, question=question.text, history=history, passages=passages)
    except ProviderError as exc:
        answer.status = Answer.Status.FAILED
        answer.error = str(exc)
        answer.provider_attempts = rewrite_attempts + exc.attempts
    except Exception as exc:  # noqa: BLE001 - recorded on the row; the conversation goes on
        logger.exception("generation for question %s crashed", question.pk)
        answer.status = Answer.Status.FAILED
        answer.error = f"Internal error while generating: {exc!r}"
        answer.provider_attempts = rewrite_attempts
    else:
        answer.status = Answer.Status.OK
        answer.text = result["text"]
        answer.response_latency_ms = result["latency_ms"]
        answer.prompt_tokens = result["prompt_tokens"]
        answer.completion_tokens = result["completion_tokens"]
        answer.provider_attempts = rewrite_attempts + result["attempts"]
        answer.model = result["model"]
        answer.cost_usd = call_cost(
            model=result["model"], prompt_tokens=result["prompt_tokens"], completion_tokens=result["completion_tokens"]
        )
    answer.finished_at = timezone.now()
    try:
        _answer_store(answer=answer, hits=hits, session=session)
    except Exception as exc:  # noqa: BLE001 - the answer ends failed with a message, never stays pending
        logger.exception("storing the answer to question %s failed", question.pk)
        return _answer_store_failure(answer=answer, error=f"Storing the answer failed: {exc}")
    return answer


def _answer_store_failure(*, answer: Answer, error: str) -> Answer:
    """End a pending answer as failed with ``error`` (nothing else of it is kept)."""
    answer.status = Answer.Status.FAILED
    answer.error = strip_nul(error)[:2000]
    answer.finished_at = timezone.now()
    Answer.objects.filter(pk=answer.pk, status=Answer.Status.PENDING).update(
        status=answer.status, error=answer.error, finished_at=answer.finished_at, started_at=answer.started_at
    )
    return answer


def _answer_store(*, answer: Answer, hits: list[Hit], session: EvaluationSession) -> None:
    """Write a generated answer, its passages, its cost and its judgments in one transaction."""
    for name in ("text", "prompt", "retrieval_query", "error"):  # PostgreSQL refuses NUL in text
        setattr(answer, name, strip_nul(getattr(answer, name)))
    answer.history = strip_nul(answer.history)
    passages = [hit.passage for hit in hits]
    with transaction.atomic():
        answer.save(update_fields=ANSWER_RESULT_FIELDS)
        # Passages are written in the same transaction that ends the pending state, so a
        # pending answer (the only kind generated) never has any yet.
        RetrievedPassage.objects.bulk_create(
            RetrievedPassage(
                answer=answer,
                chunk_id=hit.chunk_id,
                source=hit.source,
                rank=rank,
                score=hit.score,
                source_tag=strip_nul(hit.passage.tag),
                text=strip_nul(hit.passage.text),
                url=hit.url,
            )
            for rank, hit in enumerate(hits, start=1)
        )
        if answer.cost_usd:
            EvaluationSession.objects.filter(pk=session.pk).update(spent_usd=F("spent_usd") + answer.cost_usd)
        if answer.status == Answer.Status.OK:
            judgments_schedule_for_answer(answer=answer, passages=passages)


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
    t0 = time.monotonic()
    text = offline_answer(
        question=question,
        history=history,
        passages=[(p.tag, p.text) for p in passages],
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
