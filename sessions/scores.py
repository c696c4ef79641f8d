"""Reads of a session's scores: the mean weighted score with honest accounting, the
robustness summary of its probes, and the summary stored when it finished."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch

from judging.models import Judgment, RobustnessProbe
from judging.robustness import ProbeOutcome, robustness_summary
from judging.scoring import MeanSummary, mean_with_count
from judging.selectors import judgment_effective, judgments_prefetched, rubric_spec
from sessions.models import Answer, EvaluationSession


@dataclass
class SessionScores:
    overall: MeanSummary
    per_criterion: dict[str, MeanSummary]
    judging_ms_total: int
    unparseable: int
    failed: int
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
    judging_ms = unparseable = failed = flagged = 0
    for answer_id in answers.values_list("pk", flat=True):
        items = by_answer.get(answer_id, [])
        answer_scores = []
        per_answer_points: dict[str, list[int]] = defaultdict(list)
        for judgment in items:
            judging_ms += judgment.latency_ms or 0
            unparseable += judgment.status == Judgment.Status.UNPARSEABLE
            failed += judgment.status == Judgment.Status.FAILED
            flagged += judgment.flagged_for_review
            ratings, score = judgment_effective(judgment=judgment, spec=spec)
            if score is not None:
                answer_scores.append(score)
                for rating in ratings:
                    per_answer_points[rating.key].append(rating.points)
        scores.append(_mean(answer_scores))
        for key in per_criterion_points:
            points = per_answer_points.get(key)
            per_criterion_points[key].append(_mean([Decimal(p) for p in points]) if points else None)
    probe_ms = Judgment.objects.filter(probe__answer__question__session=session).values_list("latency_ms", flat=True)
    judging_ms += sum(ms or 0 for ms in probe_ms)
    return SessionScores(
        overall=mean_with_count(scores),
        per_criterion={key: mean_with_count(values) for key, values in per_criterion_points.items()},
        judging_ms_total=judging_ms,
        unparseable=unparseable,
        failed=failed,
        flagged=flagged,
    )


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
    outcomes = []
    for probe in probes:
        genuine = next(iter(probe.answer.judgments.all()), None)
        fake = next(iter(probe.judgments.all()), None)
        g_ratings, g_score = judgment_effective(judgment=genuine, spec=spec) if genuine else ([], None)
        f_ratings, f_score = judgment_effective(judgment=fake, spec=spec) if fake else ([], None)
        outcomes.append(
            ProbeOutcome(
                strategy=probe.strategy,
                expected_criteria=tuple(probe.expected_criteria),
                genuine_ratings={r.key: r.rating for r in g_ratings} if g_score is not None else None,
                genuine_score=g_score,
                probe_ratings={r.key: r.rating for r in f_ratings} if f_score is not None else None,
                probe_score=f_score,
                genuine_key=str(probe.answer_id),
            )
        )
    return robustness_summary(rubric=spec, items=outcomes)


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
    )
