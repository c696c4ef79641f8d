"""Rows the API results and the PDF/XLSX reports share, read from a `SessionReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch

from core.formatting import duration_ms
from judging.models import Judgment, RobustnessProbe
from judging.probes import STRATEGY_LABELS
from judging.selectors import judgment_effective, judgments_prefetched, rubric_spec
from sessions.models import EvaluationSession


@dataclass
class ProbeResult:
    """One robustness probe: the fake answer, the question it pretends to answer, its verdict."""

    id: int
    strategy: str
    strategy_label: str
    origin: str
    expected_criteria: list[str]
    question: str
    genuine_answer_id: int
    fake_answer: str
    judgment_id: int | None
    status: str | None
    ratings: list = field(default_factory=list)  # judging.selectors.EffectiveRating
    score: Decimal | None = None


def probe_results(*, session: EvaluationSession) -> list[ProbeResult]:
    """Every probe of the session with its first judgment (effective ratings, weighted score)."""
    probes = list(
        RobustnessProbe.objects.filter(answer__question__session=session)
        .select_related("answer__question__conversation")
        .prefetch_related(
            Prefetch(
                "judgments",
                queryset=judgments_prefetched(
                    Judgment.objects.filter(rubric_id=session.rubric_id).order_by("repeat_index")
                ),
            )
        )
        .order_by("answer__question__conversation__position", "answer__question__position", "strategy", "origin")
    )
    if not probes:
        return []
    spec = rubric_spec(rubric=session.rubric)
    results = []
    for probe in probes:
        judgment = next(iter(probe.judgments.all()), None)
        ratings, score = judgment_effective(judgment=judgment, spec=spec) if judgment else ([], None)
        results.append(
            ProbeResult(
                id=probe.pk,
                strategy=probe.strategy,
                strategy_label=STRATEGY_LABELS.get(probe.strategy, probe.strategy),
                origin=probe.origin,
                expected_criteria=list(probe.expected_criteria),
                question=probe.answer.question.text,
                genuine_answer_id=probe.answer_id,
                fake_answer=probe.fake_answer,
                judgment_id=judgment.pk if judgment else None,
                status=judgment.status if judgment else None,
                ratings=ratings,
                score=score,
            )
        )
    return results


seconds = duration_ms  # the one duration format (core.formatting)
