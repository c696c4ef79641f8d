"""A corpus's finished sessions over time: mean weighted score and, where probes ran, AUROC.

Two queries whatever the number of sessions: the sessions with their stored means, then the
repeat-0 judgments of their probes and probed answers with effective scores computed in SQL;
the AUROC is the same statistic as the session report's robustness summary.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string

from corpora.models import Corpus
from judging.models import Judgment
from judging.robustness import auroc
from sessions.models import EvaluationSession
from sessions.review_queue import effective_score_expression
from sessions.scores import stored_mean
from sessions.selectors import sessions_for_user

MAX_POINTS = 100
FINISHED = (EvaluationSession.Status.COMPLETED, EvaluationSession.Status.COMPLETED_WITH_ERRORS)


@dataclass(frozen=True)
class TrendPoint:
    session: EvaluationSession
    when: datetime
    mean: Decimal | None
    auroc: float | None


def corpus_trend(*, user, corpus: Corpus) -> list[TrendPoint]:
    sessions = list(
        sessions_for_user(user=user)
        .filter(corpus=corpus, status__in=FINISHED)
        .select_related(None)
        .order_by("-finished_at", "-pk")[:MAX_POINTS]
    )
    sessions.reverse()
    aurocs = _aurocs([s for s in sessions if s.robustness])
    points = []
    for session in sessions:
        mean = stored_mean(session=session)
        points.append(
            TrendPoint(
                session=session,
                when=session.finished_at or session.created_at,
                mean=mean.mean if mean is not None else None,
                auroc=aurocs.get(session.pk),
            )
        )
    return points


def _aurocs(sessions: list[EvaluationSession]) -> dict[int, float | None]:
    if not sessions:
        return {}
    rubric_of = {s.pk: s.rubric_id for s in sessions}
    rows = (
        Judgment.objects.filter(repeat_index=0)
        .filter(
            Q(probe__answer__question__session__in=sessions)
            | Q(answer__question__session__in=sessions, answer__probes__isnull=False)
        )
        .annotate(
            session_id_any=Coalesce("answer__question__session_id", "probe__answer__question__session_id"),
            score=effective_score_expression(),
        )
        .values_list("session_id_any", "answer_id", "probe_id", "rubric_id", "score")
        .distinct()
    )
    genuine: dict[int, dict[int, float]] = defaultdict(dict)
    fake: dict[int, list[float]] = defaultdict(list)
    for session_id, answer_id, probe_id, rubric_id, score in rows:
        if score is None:
            continue
        if probe_id is not None:
            fake[session_id].append(float(score))
        elif rubric_id == rubric_of[session_id]:
            genuine[session_id][answer_id] = float(score)
    return {s.pk: auroc(genuine=list(genuine[s.pk].values()), fake=fake[s.pk]) for s in sessions}


# --- The chart: an SVG drawn on the server from the points (no script, no library) ----------

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 16, 36


def trend_svg(*, points: list[TrendPoint], standalone: bool = False) -> str:
    """Mean score (0–100, left axis) and AUROC (0–1, right axis) against finish time."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    times = [p.when.timestamp() for p in points]
    start, end = (min(times), max(times)) if times else (0.0, 1.0)
    span = (end - start) or 1.0

    def x(point: TrendPoint) -> float:
        if len(points) == 1:
            return LEFT + plot_w / 2
        return round(LEFT + plot_w * (point.when.timestamp() - start) / span, 1)

    def y(fraction: float) -> float:
        return round(TOP + plot_h * (1 - fraction), 1)

    marks = [
        {
            "x": x(p),
            "mean_y": y(float(p.mean) / 100) if p.mean is not None else None,
            "auroc_y": y(p.auroc) if p.auroc is not None else None,
            "box": (x(p) - 3, y(p.auroc) - 3) if p.auroc is not None else None,
            "point": p,
        }
        for p in points
    ]
    context = {
        "standalone": standalone,
        "width": WIDTH,
        "height": HEIGHT,
        "marks": marks,
        "mean_line": " ".join(f"{m['x']},{m['mean_y']}" for m in marks if m["mean_y"] is not None),
        "auroc_line": " ".join(f"{m['x']},{m['auroc_y']}" for m in marks if m["auroc_y"] is not None),
        "grid": [{"y": y(f / 100), "score": f, "auroc": f / 100} for f in (0, 25, 50, 75, 100)],
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": HEIGHT - BOTTOM,
        "first": points[0].when if points else None,
        "last": points[-1].when if points else None,
        "has_auroc": any(p.auroc is not None for p in points),
    }
    return render_to_string("sessions/_trend.svg", context)
