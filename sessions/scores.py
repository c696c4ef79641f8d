"""Reads of a session's scores: the mean weighted score with honest accounting, the
robustness summary of its probes, and the summary stored when it finished."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, Q

from judging.agreement import agreement_summary
from judging.models import Judgment, RobustnessProbe
from judging.probes import STRATEGIES, STRATEGY_EXPECTED
from judging.robustness import ProbeOutcome, robustness_summary
from judging.scoring import MeanSummary, mean_with_count
from judging.selectors import judgment_effective, judgment_judge_ratings, judgments_prefetched, rubric_spec
from sessions.models import Answer, EvaluationSession


@dataclass
class SessionScores:
    overall: MeanSummary
    per_criterion: dict[str, MeanSummary]
    judging_ms_total: int
    unparseable: int
    failed: int
    pending: int
    flagged: int


def session_scores(*, session: EvaluationSession) -> SessionScores:
    """Honest accounting: every answered question counts; unjudged ones are missing, not zero."""
    spec = rubric_spec(rubric=session.rubric)
    answers = Answer.objects.filter(question__session=session, status=Answer.Status.OK)
    judgments = judgments_prefetched(
        Judgment.objects.filter(answer__in=answers, rubric=session.rubric).order_by("answer_id", "repeat_index")
    )
    by_answer: dict[int, list[Judgment]] = defaultdict(list)
    for judgment in judgments:
        by_answer[judgment.answer_id].append(judgment)
    scores: list[Decimal | None] = []
    per_criterion_points: dict[str, list[Decimal | None]] = {c.key: [] for c in spec.criteria}
    judging_ms = unparseable = failed = pending = flagged = 0
    missing: list[str] = []  # why each answer without a score has none
    missing_by_criterion: dict[str, list[str]] = {c.key: [] for c in spec.criteria}
    for answer_id in answers.values_list("pk", flat=True):
        items = by_answer.get(answer_id, [])
        answer_scores = []
        per_answer_points: dict[str, list[int]] = defaultdict(list)
        for judgment in items:
            judging_ms += judgment.latency_ms or 0
            unparseable += judgment.status == Judgment.Status.UNPARSEABLE
            failed += judgment.status == Judgment.Status.FAILED
            pending += judgment.status == Judgment.Status.PENDING
            flagged += judgment.flagged_for_review
            ratings, score = judgment_effective(judgment=judgment, spec=spec)
            if score is not None:
                answer_scores.append(score)
                for rating in ratings:
                    per_answer_points[rating.key].append(rating.points)
        scores.append(_mean(answer_scores))
        reason = _missing_reason(items)
        if not answer_scores:
            missing.append(reason)
        for key in per_criterion_points:
            points = per_answer_points.get(key)
            per_criterion_points[key].append(_mean([Decimal(p) for p in points]) if points else None)
            if not points:
                missing_by_criterion[key].append(reason)
    probe_ms = Judgment.objects.filter(probe__answer__question__session=session).values_list("latency_ms", flat=True)
    judging_ms += sum(ms or 0 for ms in probe_ms)
    return SessionScores(
        overall=mean_with_count(scores, missing_reasons=missing),
        per_criterion={
            key: mean_with_count(values, missing_reasons=missing_by_criterion[key])
            for key, values in per_criterion_points.items()
        },
        judging_ms_total=judging_ms,
        unparseable=unparseable,
        failed=failed,
        pending=pending,
        flagged=flagged,
    )


def _missing_reason(judgments: list[Judgment]) -> str:
    """Why an answer has no score: its judging is not done, the judge's reply could not be
    read, or the judge call failed (a provider error: rate limits, timeouts)."""
    statuses = {judgment.status for judgment in judgments}
    if not judgments or Judgment.Status.PENDING in statuses:
        return "pending"
    if Judgment.Status.UNPARSEABLE in statuses:
        return "unparseable"
    return "failed"


def _mean(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.1"))


def session_robustness(*, session: EvaluationSession):
    """The robustness summary of the session's probes (None when it ran none)."""
    spec = rubric_spec(rubric=session.rubric)
    probes = list(
        RobustnessProbe.objects.filter(answer__question__session=session)
        .select_related("answer__question")
        .prefetch_related(
            Prefetch("judgments", queryset=judgments_prefetched(Judgment.objects.filter(repeat_index=0))),
            Prefetch(
                "answer__judgments",
                queryset=judgments_prefetched(Judgment.objects.filter(repeat_index=0, rubric=session.rubric)),
            ),
        )
    )
    if not probes:
        return None
    made: dict[int, set[str]] = defaultdict(set)
    for probe in probes:
        if probe.origin == "rule":
            made[probe.answer_id].add(probe.strategy)
    skipped = {
        strategy: (STRATEGY_EXPECTED[strategy], sum(strategy not in strategies for strategies in made.values()))
        for strategy in STRATEGIES
    }
    outcomes = []
    for probe in probes:
        genuine = next(iter(probe.answer.judgments.all()), None)
        fake = next(iter(probe.judgments.all()), None)
        # The judge's own ratings: a reviewer's override measures the reviewer, not the judge.
        g_ratings, g_score = judgment_judge_ratings(judgment=genuine, spec=spec) if genuine else (None, None)
        f_ratings, f_score = judgment_judge_ratings(judgment=fake, spec=spec) if fake else (None, None)
        outcomes.append(
            ProbeOutcome(
                strategy=probe.strategy,
                expected_criteria=tuple(probe.expected_criteria),
                genuine_ratings=g_ratings,
                genuine_score=g_score,
                probe_ratings=f_ratings,
                probe_score=f_score,
                genuine_key=str(probe.answer_id),
            )
        )
    summary = robustness_summary(rubric=spec, items=outcomes, skipped=skipped)
    order = {strategy: index for index, strategy in enumerate(STRATEGIES)}
    summary.strategies.sort(key=lambda s: order.get(s.strategy, len(order)))
    return summary


def session_agreement(*, session: EvaluationSession):
    """Judge–human agreement over the session's judgments that a reviewer confirmed or
    overrode (genuine answers and probes alike); None when nobody has reviewed any."""
    spec = rubric_spec(rubric=session.rubric)
    judgments = judgments_prefetched(
        Judgment.objects.filter(
            Q(answer__question__session=session) | Q(probe__answer__question__session=session),
            rubric=session.rubric,
            status=Judgment.Status.OK,
        )
        .filter(Q(confirmations__isnull=False) | Q(overrides__isnull=False))
        .distinct()
    )
    reviewed = []
    confirmed = overridden = 0
    for judgment in judgments:
        judge, _ = judgment_judge_ratings(judgment=judgment, spec=spec)
        if judge is None:
            continue
        effective, _ = judgment_effective(judgment=judgment, spec=spec)
        reviewed.append((judge, {r.key: r.rating for r in effective}))
        confirmed += bool(judgment.confirmations.all())
        overridden += any(r.overridden for r in effective)
    if not reviewed:
        return None
    return agreement_summary(rubric=spec, reviewed=reviewed, confirmed=confirmed, overridden=overridden)


def stored_mean(*, session: EvaluationSession) -> MeanSummary | None:
    """The session's stored mean (see judging.services.session_score_summary_store)."""
    data = session.score_summary or {}
    if "n_total" not in data:
        return None
    return MeanSummary(
        mean=None if data.get("mean") is None else Decimal(data["mean"]),
        n_scored=int(data["n_scored"]),
        n_total=int(data["n_total"]),
        n_missing=int(data["n_missing"]),
        n_failed=int(data.get("n_failed", 0)),
        n_unparseable=int(data.get("n_unparseable", 0)),
        n_pending=int(data.get("n_pending", 0)),
    )
