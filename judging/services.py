"""Judging: schedule judgments, run the judge (LLM or offline), store verdicts, overrides.

Verdicts are append-only: the judge's CriterionVerdict rows are never edited; a reviewer's
change is an Override row and the effective rating is computed (judging.selectors).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import InvalidInput, NotAllowed
from core.file_guards import strip_nul
from core.locks import JUDGMENT, advisory_lock
from core.queueing import task_publish_on_commit
from judging.llm_judge import VerdictParseError, build_judge_messages, judge_prompt_hash, parse_verdict
from judging.models import Criterion, CriterionVerdict, Judgment, Override, RobustnessProbe, Rubric
from judging.probes import LLM_FABRICATION, LLM_FABRICATION_EXPECTED, LLM_FAKE_INSTRUCTION
from judging.rubric import RubricSpec, validate_rubric
from judging.scoring import weighted_score
from judging.selectors import judgment_effective, rubric_criterion_ids, rubric_spec
from llm.config import llm_config
from llm.types import ChatResult, LLMConfig, ProviderError
from sessions.models import Answer

logger = logging.getLogger(__name__)

# A reply that cannot be parsed is asked for again this many times before it is kept raw.
PARSE_RETRIES = 2
# What judgment_store writes when a judgment ends its pending state.
JUDGMENT_RESULT_FIELDS = [
    "status",
    "raw_output",
    "error",
    "latency_ms",
    "attempts",
    "prompt",
    "prompt_hash",
    "provenance",
    "weighted_score",
    "flagged_for_review",
    "started_at",
    "finished_at",
]


# --- The judge itself (no database) -------------------------------------------------


@dataclass
class JudgeOutcome:
    status: str  # Judgment.Status value
    ratings: dict[str, tuple[str, str]] = field(default_factory=dict)
    raw_output: str = ""
    error: str = ""
    latency_ms: int = 0
    attempts: int = 0
    prompt: list[dict] = field(default_factory=list)
    prompt_hash: str = ""
    response_format: str = ""
    score: Decimal | None = None


_EMBED_CACHE: dict[str, np.ndarray] = {}
_EMBED_CACHE_MAX = 50_000
_EMBED_LOCK = threading.Lock()


def _embed(texts: list[str]) -> np.ndarray:
    """Local embeddings with a per-process cache: a genuine answer and its probes share context."""
    from llm.embeddings import get_embedder

    texts = list(texts)
    with _EMBED_LOCK:
        missing = list(dict.fromkeys(t for t in texts if t not in _EMBED_CACHE))
    if missing:
        vectors = get_embedder(name="local:all-MiniLM-L6-v2").embed(missing)
        with _EMBED_LOCK:
            if len(_EMBED_CACHE) + len(missing) > _EMBED_CACHE_MAX:
                _EMBED_CACHE.clear()
            for text, vector in zip(missing, vectors, strict=True):
                _EMBED_CACHE[text] = np.asarray(vector, dtype=np.float32)
    with _EMBED_LOCK:
        found = [_EMBED_CACHE.get(t) for t in texts]
    if any(v is None for v in found):  # evicted in between: embed directly
        return np.asarray(get_embedder(name="local:all-MiniLM-L6-v2").embed(texts), dtype=np.float32)
    return np.vstack(found) if found else np.zeros((0, 384), dtype=np.float32)


def judge_once(
    *,
    spec: RubricSpec,
    config: LLMConfig,
    question: str,
    history: list[tuple[str, str]],
    context: list[str],
    answer: str,
    temperature: float = 0.0,
) -> JudgeOutcome:
    """Judge one answer. Never raises for provider or parse trouble: the outcome says so."""
    messages = build_judge_messages(rubric=spec, question=question, history=history, context=context, answer=answer)
    prompt_hash = judge_prompt_hash(messages)
    started = time.monotonic()
    if config.provider != "openai":
        from judging.offline_judge import offline_judge

        verdict = offline_judge(
            rubric=spec, question=question, history=history, context=context, answer=answer, embed=_embed
        )
        return JudgeOutcome(
            status=Judgment.Status.OK,
            ratings=verdict.ratings,
            raw_output=verdict.raw,
            latency_ms=int((time.monotonic() - started) * 1000),
            attempts=1,
            prompt=messages,
            prompt_hash=prompt_hash,
            response_format="offline",
            score=weighted_score(ratings={k: v[0] for k, v in verdict.ratings.items()}, rubric=spec),
        )

    from judging.llm_judge import verdict_json_schema
    from llm import gateway

    outcome = JudgeOutcome(status=Judgment.Status.UNPARSEABLE, prompt=messages, prompt_hash=prompt_hash)
    schema = verdict_json_schema(spec)
    for _ in range(1 + PARSE_RETRIES):
        try:
            result = gateway.chat_complete(
                config=config, messages=messages, temperature=temperature, json_schema=schema
            )
        except ProviderError as exc:
            outcome.attempts += exc.attempts
            outcome.status = Judgment.Status.FAILED
            outcome.error = str(exc)
            break
        outcome.attempts += result.attempts
        outcome.raw_output = result.text
        outcome.response_format = result.response_format_used
        try:
            outcome.ratings = parse_verdict(text=result.text, rubric=spec)
        except VerdictParseError as exc:
            outcome.error = f"Unparseable judge reply: {exc}"
            continue
        outcome.status = Judgment.Status.OK
        outcome.error = ""
        outcome.score = weighted_score(ratings={k: v[0] for k, v in outcome.ratings.items()}, rubric=spec)
        break
    outcome.latency_ms = int((time.monotonic() - started) * 1000)
    return outcome


# --- Scheduling -----------------------------------------------------------------------


def _judge_config(session) -> LLMConfig:
    return llm_config(provider=session.judge_provider, model=session.judge_model, base_url=session.llm_base_url)


def judgments_schedule_for_answer(*, answer, passages: list[str] | None = None) -> list[Judgment]:
    """Create the answer's pending judgments (k repeats) and its probes; enqueue them.

    Called once per answer, inside the transaction that ends its pending state (or, for
    answers that came with a judge-only session, the one that starts the session): nothing
    exists for it yet, so rows are inserted at once; the unique constraints refuse a
    second call. ``passages`` are the answer's retrieved texts when the caller has them.
    """
    session = answer.question.session
    common = {
        "rubric": session.rubric,
        "judge_provider": session.judge_provider,
        "judge_model": session.judge_model,
        "temperature": session.judge_temperature,
    }
    judgments = Judgment.objects.bulk_create(
        Judgment(answer=answer, repeat_index=repeat, **common) for repeat in range(session.judge_repeats)
    )
    if session.robustness:
        if passages is None:
            passages = [p.text for p in answer.passages.all()]
        judgments += _probes_create(answer=answer, session=session, common=common, context=passages)
    _enqueue([j.pk for j in judgments])
    return judgments


def _probe_seed(*, session_id: int, question_id: int) -> int:
    digest = hashlib.sha256(f"{session_id}:{question_id}".encode()).hexdigest()
    return int(digest[:12], 16)


def _probes_create(*, answer, session, common: dict, context: list[str]) -> list[Judgment]:
    from judging.probes import make_probes

    seed = _probe_seed(session_id=session.pk, question_id=answer.question_id)
    drafts = make_probes(
        question=answer.question.text,
        genuine_answer=answer.text,
        context=context,
        corpus_entities=None,
        seed=seed,
    )
    probes = [
        RobustnessProbe(
            answer=answer,
            strategy=draft.strategy,
            origin="rule",
            fake_answer=draft.fake_answer,
            expected_criteria=list(draft.expected_criteria),
            seed=seed,
        )
        for draft in drafts
    ]
    if session.judge_provider == "openai":
        # An LLM-written fake too; its text is written when its judgment runs (no LLM call
        # inside this transaction).
        probes.append(
            RobustnessProbe(
                answer=answer,
                strategy=LLM_FABRICATION,
                origin="llm",
                fake_answer="",
                expected_criteria=list(LLM_FABRICATION_EXPECTED),
                seed=seed,
            )
        )
    probes = RobustnessProbe.objects.bulk_create(probes)
    return Judgment.objects.bulk_create(Judgment(probe=probe, repeat_index=0, **common) for probe in probes)


def llm_probe_write(*, probe: RobustnessProbe, config: LLMConfig) -> ChatResult:
    """Ask the judge model for a plausible wrong answer (temperature 0: as repeatable as it gets).

    Returns the call's result (its attempts and latency are the probe judgment's too)."""
    from llm import gateway

    answer = probe.answer
    context = "\n".join(f"{p.source_tag} {p.text}" for p in answer.passages.all())
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
    RobustnessProbe.objects.filter(pk=probe.pk, fake_answer="").update(fake_answer=text)
    probe.refresh_from_db(fields=["fake_answer"])
    return result


def _enqueue(judgment_ids: list[int]) -> None:
    if not judgment_ids:
        return
    from judging.tasks import run_judgment

    task_publish_on_commit(task=run_judgment, args_list=[[pk] for pk in judgment_ids])


def judgments_requeue_for_session(*, session) -> int:
    """Re-queue pending judgments (after a crash or on resume); failed ones get another go."""
    from django.db.models import Q

    in_session = Q(answer__question__session=session) | Q(probe__answer__question__session=session)
    Judgment.objects.filter(in_session, status=Judgment.Status.FAILED).update(status=Judgment.Status.PENDING, error="")
    ids = list(Judgment.objects.filter(in_session, status=Judgment.Status.PENDING).values_list("pk", flat=True))
    _enqueue(ids)
    return len(ids)


# --- Running one judgment -------------------------------------------------------------


def judgment_run(*, judgment_id: int) -> Judgment | None:
    """Judge and store. Guarded by status and an advisory lock: re-delivery is harmless."""
    from sessions.services import conversation_history, session_finalize_if_done

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
        # The fake-writing call of an LLM probe counts in its judgment's attempts and latency.
        writing: ChatResult | None = None
        if judgment.probe is not None and not judgment.probe.fake_answer:
            writing_started = time.monotonic()
            try:
                writing = llm_probe_write(probe=judgment.probe, config=_judge_config(session))
            except ProviderError as exc:
                judgment_store(
                    judgment=judgment,
                    spec=spec,
                    outcome=JudgeOutcome(
                        status=Judgment.Status.FAILED,
                        error=f"Writing the fake answer failed: {exc}",
                        attempts=exc.attempts,
                        latency_ms=int((time.monotonic() - writing_started) * 1000),
                    ),
                    provenance={},
                    started_at=timezone.now(),
                )
                session_finalize_if_done(session_id=session.pk)
                return judgment
        answer_text = judgment.answer.text if judgment.answer else judgment.probe.fake_answer
        started_at = timezone.now()
        try:
            outcome = judge_once(
                spec=spec,
                config=_judge_config(session),
                question=question.text,
                history=conversation_history(question=question),
                context=[f"{p.source_tag} {p.text}" for p in genuine.passages.all()],
                answer=answer_text,
                temperature=judgment.temperature,
            )
        except Exception as exc:  # noqa: BLE001 - recorded on the row; the session must not hang
            logger.exception("judgment %s crashed", judgment_id)
            outcome = JudgeOutcome(status=Judgment.Status.FAILED, error=f"Internal error in the judge: {exc!r}")
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


def answer_reference_similarity_store(*, answer) -> float | None:
    """Store how close the answer is to the reference answer (cosine, citations ignored)."""
    from judging.offline_judge import strip_citations

    reference = (answer.question.reference_answer or "").strip()
    if not reference or answer.reference_similarity is not None or not answer.text.strip():
        return answer.reference_similarity
    vectors = _embed([strip_citations(answer.text), reference])
    similarity = round(float(np.clip(vectors[0] @ vectors[1], -1.0, 1.0)), 4)
    type(answer).objects.filter(pk=answer.pk).update(reference_similarity=similarity)
    answer.reference_similarity = similarity
    return similarity


@transaction.atomic
def judgment_store(
    *, judgment: Judgment, spec: RubricSpec, outcome: JudgeOutcome, provenance: dict, started_at
) -> Judgment:
    criterion_ids = rubric_criterion_ids(rubric=judgment.rubric)
    judgment.status = outcome.status
    # PostgreSQL refuses NUL in text and JSON: a judge (or the answer it quotes) may emit one.
    judgment.raw_output = strip_nul(outcome.raw_output)
    judgment.error = strip_nul(outcome.error)
    judgment.latency_ms = outcome.latency_ms
    judgment.attempts = outcome.attempts
    judgment.prompt = strip_nul(outcome.prompt)
    judgment.prompt_hash = outcome.prompt_hash
    judgment.provenance = provenance
    judgment.weighted_score = outcome.score
    judgment.flagged_for_review = outcome.status == Judgment.Status.UNPARSEABLE
    judgment.started_at = started_at
    judgment.finished_at = timezone.now()
    judgment.save(update_fields=JUDGMENT_RESULT_FIELDS)
    # Verdicts are written in the transaction that ends the pending state: none exist yet.
    if outcome.status == Judgment.Status.OK:
        CriterionVerdict.objects.bulk_create(
            CriterionVerdict(
                judgment=judgment,
                criterion_id=criterion_ids[key],
                rating=label,
                points=spec.level(label).points,
                rationale=strip_nul(rationale),
            )
            for key, (label, rationale) in outcome.ratings.items()
            if key in criterion_ids
        )
    return judgment


def session_score_summary_store(*, session) -> None:
    """Store the session's mean weighted score and its accounting (after finishing, overrides)."""
    from judging.selectors import session_scores

    summary = session_scores(session=session).overall.to_dict()
    type(session).objects.filter(pk=session.pk).update(score_summary=summary)


# --- Reviewers --------------------------------------------------------------------------


def override_create(*, judgment: Judgment, criterion_key: str, reviewer, new_rating: str, reason: str) -> Override:
    """A reviewer changes one criterion's rating; the judge's verdict stays as it was."""
    from accounts.selectors import membership_for

    team = (judgment.answer or judgment.probe.answer).question.session.team
    membership = membership_for(user=reviewer, team=team)
    if membership is None or not membership.can_review:
        raise NotAllowed("Only reviewers and admins of the team can override verdicts.")
    if judgment.status != Judgment.Status.OK:
        raise InvalidInput("Only a judged answer's verdicts can be overridden.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why you override the verdict.")
    spec = rubric_spec(rubric=judgment.rubric)
    if new_rating not in {level.label for level in spec.scale}:
        raise InvalidInput(f"{new_rating!r} is not on the scale ({', '.join(lv.label for lv in spec.scale)}).")
    with transaction.atomic():
        locked = Judgment.objects.select_for_update().get(pk=judgment.pk)
        ratings, _ = judgment_effective(judgment=locked, spec=spec)
        current = {r.key: r.rating for r in ratings}
        if criterion_key not in current:
            raise InvalidInput(f"Unknown criterion {criterion_key!r}.")
        if current[criterion_key] == new_rating:
            raise InvalidInput(f"The rating is already {new_rating}.")
        criterion = Criterion.objects.get(rubric=judgment.rubric, key=criterion_key)
        override = Override.objects.create(
            judgment=locked,
            criterion=criterion,
            reviewer=reviewer,
            old_rating=current[criterion_key],
            new_rating=new_rating,
            reason=reason,
        )
        session = (judgment.answer or judgment.probe.answer).question.session
        if judgment.answer_id is not None and not session.is_active:
            session_score_summary_store(session=session)
        return override


# --- Rubrics ------------------------------------------------------------------------------


@transaction.atomic
def rubric_create(
    *, team, name: str, criteria: list[dict], scale: list[dict] | None = None, instructions: str = ""
) -> Rubric:
    """A team's rubric; a rubric with the same name gets the next version (never edited in place)."""
    from judging.models import default_scale
    from judging.rubric import CriterionSpec, ScaleLevel

    scale = scale or default_scale()
    try:
        spec = RubricSpec(
            name=name,
            version=1,
            criteria=tuple(
                CriterionSpec(
                    key=c["key"],
                    name=c.get("name") or c["key"].title(),
                    description=c.get("description", ""),
                    weight=Decimal(str(c["weight"])),
                )
                for c in criteria
            ),
            scale=tuple(ScaleLevel(label=s["label"], points=int(s["points"])) for s in scale),
            instructions=instructions,
        )
    except (KeyError, ArithmeticError, ValueError, TypeError) as exc:
        raise InvalidInput(f"The rubric is malformed: {exc}") from exc
    errors = validate_rubric(spec)
    if errors:
        raise InvalidInput(" ".join(errors))
    latest = Rubric.objects.filter(team=team, name=name).order_by("-version").first()
    version = (latest.version + 1) if latest else 1
    try:
        rubric = Rubric.objects.create(team=team, name=name, version=version, instructions=instructions, scale=scale)
    except IntegrityError as exc:
        raise InvalidInput("A rubric with that name and version exists.") from exc
    Criterion.objects.bulk_create(
        Criterion(rubric=rubric, key=c.key, name=c.name, description=c.description, weight=c.weight, position=i)
        for i, c in enumerate(spec.criteria)
    )
    return rubric


# --- Judge-only -----------------------------------------------------------------------------


def judge_items(
    *, items: list[dict], rubric: Rubric, provider: str = "offline", model: str = "", base_url: str = ""
) -> list[dict]:
    """Judge ready answers: items with question, history, context, answer. Used by `judge`."""
    spec = rubric_spec(rubric=rubric)
    config = llm_config(provider=provider, model=model, base_url=base_url)
    results = []
    for index, item in enumerate(items):
        question, answer, history, context = _judge_item(item, number=index + 1)
        outcome = judge_once(
            spec=spec,
            config=config,
            question=question,
            history=history,
            context=context,
            answer=answer,
        )
        results.append(
            {
                "id": item.get("id", index + 1),
                "question": question,
                "status": outcome.status,
                "weighted_score": None if outcome.score is None else float(outcome.score),
                "verdicts": [
                    {
                        "criterion": c.name,
                        "key": c.key,
                        "rating": outcome.ratings[c.key][0],
                        "rationale": outcome.ratings[c.key][1],
                    }
                    for c in spec.criteria
                    if c.key in outcome.ratings
                ],
                "raw_output": outcome.raw_output if outcome.status != Judgment.Status.OK else "",
                "error": outcome.error,
                "latency_ms": outcome.latency_ms,
                "judge": {
                    "provider": config.provider,
                    "model": config.model,
                    "rubric": f"{spec.name} v{spec.version}",
                    "prompt_hash": outcome.prompt_hash,
                },
            }
        )
    return results


def _judge_item(item: object, *, number: int) -> tuple[str, str, list[tuple[str, str]], list[str]]:
    """An item's question, answer, history and context, or InvalidInput saying what is wrong."""
    if not isinstance(item, dict):
        raise InvalidInput(f"Item {number} must be an object with 'question' and 'answer'.")
    texts = {}
    for key in ("question", "answer"):
        value = item.get(key)
        if not isinstance(value, str | int | float) or not str(value).strip():
            raise InvalidInput(f"Item {number} needs 'question' and 'answer' as text ('{key}' is missing or not text).")
        texts[key] = strip_nul(str(value))
    history = item.get("history") or []
    if not isinstance(history, list):
        raise InvalidInput(f"Item {number}: 'history' must be a list of {{question, answer}} objects.")
    context = item.get("context") or []
    if isinstance(context, str):
        context = [context]
    if not isinstance(context, list) or not all(isinstance(c, str) for c in context):
        raise InvalidInput(f"Item {number}: 'context' must be a list of passages (text).")
    return texts["question"], texts["answer"], strip_nul([_history_pair(t) for t in history]), strip_nul(context)


def _history_pair(turn) -> tuple[str, str]:
    if isinstance(turn, dict):
        return str(turn.get("question") or turn.get("q") or ""), str(turn.get("answer") or turn.get("a") or "")
    if isinstance(turn, list | tuple) and len(turn) == 2:
        return str(turn[0]), str(turn[1])
    raise InvalidInput(f"History turns must be {{question, answer}} objects: {json.dumps(turn)[:80]}")
