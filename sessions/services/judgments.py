"""What ties an answer to its judgments: schedule them (with the robustness probes), run
one, re-queue the unfinished, finish the session and store its score summary.

The judge itself (judging.engine) knows nothing of sessions: this module gives it the
rubric, the question, the answer's history and passages, and stores what it returns.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import time
from collections import Counter

import numpy as np
from django.db import transaction
from django.db.models import F, Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.concurrency import NOT_RUN, OrderedGate, map_bounded
from core.file_guards import strip_nul
from core.locks import JUDGE_ONLY_SESSION, JUDGMENT, advisory_lock
from core.queueing import task_publish, task_publish_on_commit
from core.runmode import judge_concurrency, tasks_run_in_process
from corpora.selectors import corpus_table_rows
from judging.engine import JudgeOutcome, embed, judge_once
from judging.models import Judgment, Override, RobustnessProbe, Rubric
from judging.probes import LLM_FABRICATION, LLM_FABRICATION_EXPECTED, LLM_FAKE_INSTRUCTION, make_probes
from judging.selectors import rubric_spec
from judging.services import judgment_store
from judging.text import parse_row, strip_citations
from llm import gateway
from llm.config import llm_config
from llm.types import ChatResult, LLMConfig, Passage, Provider, ProviderError
from sessions import tasks
from sessions.models import Answer, EvaluationSession, Question
from sessions.scores import session_scores
from sessions.selectors import session_has_pending_work

logger = logging.getLogger(__name__)

ACTIVE = (EvaluationSession.Status.QUEUED, EvaluationSession.Status.RUNNING)

# How long one judge-only task keeps starting judgments before it re-queues the rest:
# far below the task time limit, and other work gets the worker's threads in between.
JUDGE_SLICE_SECONDS = 60.0


def _judge_config(session: EvaluationSession) -> LLMConfig:
    return llm_config(provider=session.judge_provider, model=session.judge_model, base_url=session.llm_base_url)


def judgments_schedule_for_answer(
    *, answer: Answer, passages: list[Passage] | None = None, enqueue: bool = True
) -> list[Judgment]:
    """Create the answer's pending judgments (k repeats) and its probes; enqueue them
    (unless ``enqueue`` is false: a judge-only session's are run by ``session_judge``).

    Called once per answer, inside the transaction that ends its pending state (or, for
    answers that came with a judge-only session, the one that starts the session): nothing
    exists for it yet, so rows are inserted at once; the unique constraints refuse a
    second call. ``passages`` are the answer's passages when the caller has them.
    """
    given = {answer.pk: passages} if passages is not None else None
    return judgments_schedule(answers=[answer], passages=given, enqueue=enqueue)


def judgments_schedule(
    *, answers: list[Answer], passages: dict[int, list[Passage]] | None = None, enqueue: bool = True
) -> list[Judgment]:
    """``judgments_schedule_for_answer`` for many answers of one session, in three inserts
    (judgments, probes, the probes' judgments) whatever their number: a judge-only batch
    of a thousand items starts without a thousand round trips. ``passages`` maps answer
    ids to their passages; an answer missing from it reads its own (prefetched or not)."""
    if not answers:
        return []
    session = answers[0].question.session
    if any(answer.question.session_id != session.pk for answer in answers):
        raise ValueError("judgments_schedule takes the answers of one session")
    common = {
        "rubric": session.rubric,
        "judge_provider": session.judge_provider,
        "judge_model": session.judge_model,
        "temperature": session.judge_temperature,
    }
    judgments = Judgment.objects.bulk_create(
        Judgment(answer=answer, repeat_index=repeat, **common)
        for answer in answers
        for repeat in range(session.judge_repeats)
    )
    if session.robustness:
        given = passages or {}
        probes = [
            probe
            for answer in answers
            for probe in _probes_for(
                answer=answer,
                session=session,
                context=given[answer.pk] if answer.pk in given else answer_passages(answer=answer),
            )
        ]
        probes = RobustnessProbe.objects.bulk_create(probes)
        judgments += Judgment.objects.bulk_create(Judgment(probe=probe, repeat_index=0, **common) for probe in probes)
    if enqueue:
        _enqueue([j.pk for j in judgments])
    return judgments


def _probe_seed(*, session_id: int, question_id: int) -> int:
    digest = hashlib.sha256(f"{session_id}:{question_id}".encode()).hexdigest()
    return int(digest[:12], 16)


def _probes_for(*, answer: Answer, session: EvaluationSession, context: list[Passage]) -> list[RobustnessProbe]:
    """The answer's probes, not yet saved: the rule-made fakes, and an LLM-written one when
    the judge is an LLM."""
    seed = _probe_seed(session_id=session.pk, question_id=answer.question_id)
    drafts = make_probes(
        question=answer.question.text,
        genuine_answer=answer.text,
        context=[p.text for p in context],
        corpus_entities=_corpus_names(corpus_id=session.corpus_id, version=session.corpus.version)
        if session.corpus_id
        else None,
        seed=seed,
    )
    probes = [
        RobustnessProbe(
            answer=answer,
            strategy=draft.strategy,
            origin=RobustnessProbe.Origin.RULE,
            fake_answer=draft.fake_answer,
            expected_criteria=list(draft.expected_criteria),
            seed=seed,
        )
        for draft in drafts
    ]
    if session.judge_provider == Provider.OPENAI:
        # An LLM-written fake too; its text is written when its judgment runs (no LLM call
        # inside this transaction).
        probes.append(
            RobustnessProbe(
                answer=answer,
                strategy=LLM_FABRICATION,
                origin=RobustnessProbe.Origin.LLM,
                fake_answer="",
                expected_criteria=list(LLM_FABRICATION_EXPECTED),
                seed=seed,
            )
        )
    return probes


@functools.lru_cache(maxsize=32)
def _corpus_names(*, corpus_id: int, version: int) -> list[str]:
    """The systems and methods the corpus's tables name (their rows' first cells): what an
    entity-swap probe gives a claim to. Cached per corpus version (a new upload changes it)."""
    rows = [row for text in corpus_table_rows(corpus_id=corpus_id) if (row := parse_row(text)) is not None]
    # Systems and methods recur across tables under one header ("Method", "System"); one
    # table's own variants ("Short warmup") are not names another row could be given.
    key_of = {row.table: row.table.rsplit("|", 1)[-1] for row in rows}
    tables_per_key = Counter(key_of.values())
    shared = [row for row in rows if tables_per_key[key_of[row.table]] >= 2]
    return sorted({row.label for row in shared or rows})


def llm_probe_write(*, probe: RobustnessProbe, config: LLMConfig) -> ChatResult:
    """Ask the judge model for a plausible wrong answer (temperature 0: as repeatable as it gets).

    Returns the call's result (its attempts and latency are the probe judgment's too)."""
    answer = probe.answer
    context = "\n".join(p.render() for p in answer_passages(answer=answer))
    result = gateway.chat_complete(
        config=config,
        messages=[
            {"role": "system", "content": LLM_FAKE_INSTRUCTION},
            {
                "role": "user",
                "content": f"Question:\n{answer.question.text}\n\nPassages:\n{context}\n\n"
                f"Correct answer:\n{answer.text}\n\nWrong answer:",
            },
        ],
        temperature=0.0,
    )
    text = result.text.strip()
    if not text:
        raise ProviderError("The model wrote an empty fake answer.", transient=False, attempts=result.attempts)
    RobustnessProbe.objects.filter(pk=probe.pk, fake_answer="").update(fake_answer=strip_nul(text))
    probe.refresh_from_db(fields=["fake_answer"])
    return result


def _enqueue(judgment_ids: list[int]) -> None:
    if not judgment_ids:
        return
    task_publish_on_commit(task=tasks.run_judgment, args_list=[[pk] for pk in judgment_ids])


def judgments_requeue_for_session(*, session: EvaluationSession) -> int:
    """Re-queue pending judgments (after a crash or on resume); failed ones get another go."""
    in_session = Q(answer__question__session=session) | Q(probe__answer__question__session=session)
    Judgment.objects.filter(in_session, status=Judgment.Status.FAILED).update(status=Judgment.Status.PENDING, error="")
    ids = list(Judgment.objects.filter(in_session, status=Judgment.Status.PENDING).values_list("pk", flat=True))
    if session.is_judge_only:
        if ids:
            task_publish_on_commit(task=tasks.judge_session, args_list=[[session.pk]])
    else:
        _enqueue(ids)
    return len(ids)


def session_mark_running(*, session_id: int) -> None:
    EvaluationSession.objects.filter(pk=session_id, status=EvaluationSession.Status.QUEUED).update(
        status=EvaluationSession.Status.RUNNING, started_at=timezone.now()
    )


def session_judge(*, session_id: int) -> str:
    """Run a judge-only session's pending judgments, ``judge_concurrency()`` at a time
    (that many judges' calls in flight; see ``core.concurrency.OrderedGate``).

    They start in the order of the session's input (conversation, question; an answer's
    own judgments before its probes') and each is ``judgment_run``: guarded by its lock
    and status, so a judgment another task runs meanwhile is skipped. One task per session
    at a time (a lock); after ``JUDGE_SLICE_SECONDS`` it starts no more and queues itself
    again for the rest. Returns "judged", "sliced", "busy" or "stopped".
    """
    with advisory_lock(namespace=JUDGE_ONLY_SESSION, key=session_id) as acquired:
        if not acquired:
            return "busy"
        if EvaluationSession.objects.filter(pk=session_id).values_list("status", flat=True).first() not in ACTIVE:
            return "stopped"
        session_mark_running(session_id=session_id)
        # In-process mode runs on the caller's connection: other threads would not see its
        # uncommitted rows (a test's transaction), so it judges one item at a time.
        limit = 1 if tasks_run_in_process() else judge_concurrency()
        pending = judgments_pending_in_order(session_id=session_id)
        # ``limit`` judges' calls at a time, in input order; twice as many threads, so that
        # a judgment is read before a place frees and stored after it has given it back.
        calls = OrderedGate(limit=limit, keys=pending)

        def run(pk: int) -> Judgment | None:
            try:
                return judgment_run(judgment_id=pk, calls=calls)
            finally:
                calls.give_up(pk)  # skipped (done, locked, cancelled) or failed before its turn

        results = map_bounded(
            run, pending, limit=limit if limit == 1 else 2 * limit, stop_at=time.monotonic() + JUDGE_SLICE_SECONDS
        )
    if any(result is NOT_RUN for result in results):
        task_publish(task=tasks.judge_session, args=[session_id])
        return "sliced"
    return "judged"


def judgments_pending_in_order(*, session_id: int) -> list[int]:
    """Ids of a session's pending judgments in the order of its questions."""
    in_session = Q(answer__question__session_id=session_id) | Q(probe__answer__question__session_id=session_id)
    return list(
        Judgment.objects.filter(in_session, status=Judgment.Status.PENDING)
        .annotate(
            conversation_position=Coalesce(
                "answer__question__conversation__position", "probe__answer__question__conversation__position"
            ),
            question_position=Coalesce("answer__question__position", "probe__answer__question__position"),
        )
        .order_by(
            "conversation_position", "question_position", F("probe_id").asc(nulls_first=True), "repeat_index", "pk"
        )
        .values_list("pk", flat=True)
    )


def judgment_run(*, judgment_id: int, calls: OrderedGate | None = None) -> Judgment | None:
    """Judge and store. Guarded by status and an advisory lock: re-delivery is harmless.

    With ``calls`` (``session_judge``'s), the judge's calls (an LLM probe's fake, then the
    verdict) run inside the gate's section for this judgment: reading the judgment before
    and storing it after do not hold one of the gate's places.
    """
    with advisory_lock(namespace=JUDGMENT, key=judgment_id) as acquired:
        if not acquired:
            return None
        judgment = _judgment_for_run(judgment_id=judgment_id)
        if judgment is None or judgment.status != Judgment.Status.PENDING:
            return judgment
        genuine = judgment.answer or judgment.probe.answer
        question = genuine.question
        session = question.session
        if session.status == session.Status.CANCELLED:
            return judgment
        spec = rubric_spec(rubric=judgment.rubric)
        config = _judge_config(session)
        context = answer_passages(answer=genuine)
        # The fake-writing call of an LLM probe counts in its judgment's attempts and latency.
        writing: ChatResult | None = None
        with calls.section(judgment_id) if calls is not None else contextlib.nullcontext():
            started_at = timezone.now()
            try:
                if judgment.probe is not None and not judgment.probe.fake_answer:
                    writing = llm_probe_write(probe=judgment.probe, config=config)
            except ProviderError as exc:
                writing_failed = JudgeOutcome(
                    status=Judgment.Status.FAILED,
                    error=f"Writing the fake answer failed: {exc}",
                    attempts=exc.attempts,
                    latency_ms=int((timezone.now() - started_at).total_seconds() * 1000),
                )
            else:
                writing_failed = None
                try:
                    outcome = judge_once(
                        spec=spec,
                        config=config,
                        question=question.text,
                        history=[(q, a) for q, a in genuine.history],
                        context=context,
                        answer=judgment.answer.text if judgment.answer else judgment.probe.fake_answer,
                        temperature=judgment.temperature,
                    )
                except Exception as exc:  # noqa: BLE001 - recorded on the row; the session must not hang
                    logger.exception("judgment %s crashed", judgment_id)
                    outcome = JudgeOutcome(status=Judgment.Status.FAILED, error=f"Internal error in the judge: {exc!r}")
        if writing_failed is not None:
            judgment_store(judgment=judgment, spec=spec, outcome=writing_failed, provenance={}, started_at=started_at)
            session_finalize_if_done(session_id=session.pk)
            return judgment
        if writing is not None:
            outcome.attempts += writing.attempts
            outcome.latency_ms += writing.latency_ms
        provenance = {
            "rubric": {"name": spec.name, "version": spec.version, "id": judgment.rubric_id},
            "judge": {
                "provider": judgment.judge_provider,
                "model": judgment.judge_model,
                "temperature": judgment.temperature,
            },
            "prompt_hash": outcome.prompt_hash,
            "response_format": outcome.response_format,
            "retrieval": {"mode": session.retrieval_mode, "k": session.retrieval_k, "web_search": session.web_search},
            # Judge-only sessions have no corpus: their answers came with their own context.
            "corpus": {
                "id": session.corpus_id,
                "version": session.corpus.version,
                "embedding_model": session.corpus.embedding_model,
            }
            if session.corpus_id
            else None,
        }
        judgment_store(judgment=judgment, spec=spec, outcome=outcome, provenance=provenance, started_at=started_at)
        if judgment.answer is not None and judgment.repeat_index == 0:
            answer_reference_similarity_store(answer=judgment.answer)
    session_finalize_if_done(session_id=session.pk)
    return judgment


def _judgment_for_run(*, judgment_id: int) -> Judgment | None:
    """The judgment with what judging it reads, in two narrow queries (one nine-table join
    through both the answer and the probe path cost more to plan and build than both).
    ``get`` rather than ``first``: no ORDER BY to compile and plan."""
    try:
        judgment = Judgment.objects.select_related("rubric", "probe").get(pk=judgment_id)
        genuine = Answer.objects.select_related("question__session__corpus").get(
            pk=judgment.answer_id or judgment.probe.answer_id
        )
    except (Judgment.DoesNotExist, Answer.DoesNotExist):
        return None  # deleted meanwhile (with its session): nothing to judge
    if judgment.answer_id:
        judgment.answer = genuine
    else:
        judgment.probe.answer = genuine
    return judgment


def answer_reference_similarity_store(*, answer: Answer) -> float | None:
    """Store how close the answer is to the reference answer (cosine, citations ignored)."""
    reference = (answer.question.reference_answer or "").strip()
    if not reference or answer.reference_similarity is not None or not answer.text.strip():
        return answer.reference_similarity
    vectors = embed([strip_citations(answer.text), reference])
    similarity = round(float(np.clip(vectors[0] @ vectors[1], -1.0, 1.0)), 4)
    Answer.objects.filter(pk=answer.pk).update(reference_similarity=similarity)
    answer.reference_similarity = similarity
    return similarity


def session_score_summary_store(*, session: EvaluationSession) -> None:
    """Store the session's mean weighted score and its accounting (after finishing, overrides)."""
    summary = session_scores(session=session).overall.to_dict()
    EvaluationSession.objects.filter(pk=session.pk).update(score_summary=summary)


def session_finalize_if_done(*, session_id: int) -> EvaluationSession | None:
    """Move a running session to completed / completed with errors once nothing is left."""
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
        Rubric.objects.filter(pk=session.rubric_id).update(locked=True)
        session_score_summary_store(session=session)
    return session


def answer_passages(*, answer: Answer) -> list[Passage]:
    """The passages the answer was given, in rank order, as the judge and the probes see them."""
    return [Passage(tag=p.source_tag, text=p.text) for p in answer.passages.all()]


def score_summary_refresh_after_override(*, override: Override, **kwargs) -> None:
    """Receiver of judging's ``override_created``: a finished session's stored mean follows
    its reviewers' overrides (a running session's mean is computed live)."""
    judgment = override.judgment
    if judgment.answer_id is None:
        return
    session = judgment.answer.question.session
    if not session.is_active:
        session_score_summary_store(session=session)
