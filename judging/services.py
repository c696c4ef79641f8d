"""Judging's writes: store a verdict, reviewers' overrides, rubrics, judge-only items.

Verdicts are append-only: the judge's CriterionVerdict rows are never edited; a reviewer's
change is an Override row and the effective rating is computed (judging.selectors).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Team
from accounts.selectors import membership_for
from core.concurrency import map_bounded
from core.errors import InvalidInput, NotAllowed
from core.file_guards import strip_nul
from judging.engine import JudgeOutcome, judge_once
from judging.models import Confirmation, Criterion, CriterionVerdict, Judgment, Override, Rubric, default_scale
from judging.rubric import DEFAULT_RUBRIC, CriterionSpec, RubricSpec, ScaleLevel, validate_rubric
from judging.selectors import judgment_effective, rubric_criterion_ids, rubric_default, rubric_spec
from judging.signals import override_created
from llm.config import llm_config
from llm.types import Passage, Provider

logger = logging.getLogger(__name__)

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


# --- Storing a verdict ----------------------------------------------------------------


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


# --- Reviewers --------------------------------------------------------------------------


def _review_allowed(*, judgment: Judgment, reviewer: AbstractBaseUser, verb: str, what: str) -> None:
    """Only the team's reviewers and admins review, and only a judgment with a verdict."""
    team = (judgment.answer or judgment.probe.answer).question.session.team
    membership = membership_for(user=reviewer, team=team)
    if membership is None or not membership.can_review:
        raise NotAllowed(f"Only reviewers and admins of the team can {verb} verdicts.")
    if judgment.status != Judgment.Status.OK:
        raise InvalidInput(f"Only a judged answer's {what}.")


def override_create(
    *, judgment: Judgment, criterion_key: str, reviewer: AbstractBaseUser, new_rating: str, reason: str
) -> Override:
    """A reviewer changes one criterion's rating; the judge's verdict stays as it was."""
    _review_allowed(judgment=judgment, reviewer=reviewer, verb="override", what="verdicts can be overridden")
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
        override_created.send(sender=Override, override=override)
        return override


def judgment_confirm(*, judgment: Judgment, reviewer: AbstractBaseUser, note: str = "") -> Confirmation:
    """A reviewer agrees with the judge's verdict as it stands; confirming twice is harmless."""
    _review_allowed(judgment=judgment, reviewer=reviewer, verb="confirm", what="verdict can be confirmed")
    confirmation, _ = Confirmation.objects.get_or_create(
        judgment=judgment, reviewer=reviewer, defaults={"note": (note or "").strip()}
    )
    return confirmation


# --- Rubrics ------------------------------------------------------------------------------


@transaction.atomic
def rubric_default_ensure() -> Rubric:
    """The shared default rubric; made again (version 1) if it was deleted."""
    rubric = rubric_default()
    if rubric is not None:
        return rubric
    rubric, created = Rubric.objects.get_or_create(
        team=None,
        name="Default",
        version=1,
        defaults={"instructions": DEFAULT_RUBRIC.instructions, "is_default": True},
    )
    if created:
        Criterion.objects.bulk_create(
            Criterion(rubric=rubric, key=c.key, name=c.name, description=c.description, weight=c.weight, position=i)
            for i, c in enumerate(DEFAULT_RUBRIC.criteria)
        )
    return rubric


@transaction.atomic
def rubric_create(
    *, team: Team, name: str, criteria: list[dict], scale: list[dict] | None = None, instructions: str = ""
) -> Rubric:
    """A team's rubric; a rubric with the same name gets the next version (never edited in place)."""
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
    *,
    items: list[dict],
    rubric: Rubric,
    provider: str = Provider.OFFLINE,
    model: str = "",
    base_url: str = "",
    concurrency: int = 1,
    on_done: Callable[[int, dict], None] | None = None,
) -> list[dict]:
    """Judge ready answers: items with question, history, context, answer. Used by `judge`.

    Every item is checked before any is judged (a bad one is an ``InvalidInput`` naming
    it); then up to ``concurrency`` items are judged at a time. Results come in input
    order; an item whose judging crashed is a failed result with the error, the others
    are kept. ``on_done(index, result)`` is called as each item ends.
    """
    spec = rubric_spec(rubric=rubric)
    config = llm_config(provider=provider, model=model, base_url=base_url)
    parsed = [_judge_item(item, number=index + 1) for index, item in enumerate(items)]

    def judge(index: int) -> dict:
        question, answer, history, context = parsed[index]
        try:
            # The command's context passages are judged as given: untagged, text unchanged.
            outcome = judge_once(
                spec=spec,
                config=config,
                question=question,
                history=history,
                context=[Passage(tag="", text=str(c)) for c in context],
                answer=answer,
            )
        except Exception as exc:  # noqa: BLE001 - this item fails with the reason; the others go on
            logger.exception("judging item %s crashed", index + 1)
            outcome = JudgeOutcome(status=Judgment.Status.FAILED, error=f"Internal error in the judge: {exc!r}")
        return {
            "id": items[index].get("id", index + 1),
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

    return map_bounded(judge, range(len(items)), limit=concurrency, on_done=on_done)


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
