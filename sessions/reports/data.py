"""Rows the API results and the PDF/XLSX reports share, read from a `SessionReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from judging.models import Judgment, RobustnessProbe
from judging.probes import STRATEGY_LABELS
from judging.selectors import judgment_effective, judgments_prefetched, rubric_spec
from sessions.models import EvaluationSession
from sessions.reports.charts import ChartData, report_charts
from sessions.selectors import SessionReport, TurnReport


@dataclass
class ProbeResult:
    """One robustness probe: the fake answer, the question it pretends to answer, its verdict."""

    id: int
    number: int  # 1-based, in report order: "P3" in the tables and the appendix
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
                number=len(results) + 1,
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


@dataclass
class QuestionRow:
    """One line of the per-question table: a rating per rubric criterion (None where unjudged)."""

    number: int
    conversation: str
    turn: TurnReport
    ratings: list  # judging.selectors.EffectiveRating | None, in rubric order


@dataclass
class AgreementRow:
    """Per criterion: how many of the judge's verdicts reviewers changed, and by how much."""

    criterion: str
    name: str
    verdicts: int
    overridden: int
    mean_shift: float | None  # mean (new − judge's) points over the overridden verdicts

    @property
    def kept_rate(self) -> float | None:
        return 1 - self.overridden / self.verdicts if self.verdicts else None


def question_rows(report: SessionReport) -> list[QuestionRow]:
    keys = [c.key for c, _ in report.totals["per_criterion"]]
    rows = []
    for conversation, turns in report.conversations:
        for turn in turns:
            by_key = {r.key: r for r in turn.ratings}
            rows.append(
                QuestionRow(
                    number=len(rows) + 1,
                    conversation=str(conversation),
                    turn=turn,
                    ratings=[by_key.get(key) for key in keys],
                )
            )
    return rows


def agreement_rows(report: SessionReport) -> list[AgreementRow]:
    """Judge–reviewer agreement from the effective verdicts (the first judgment of each answer)."""
    spec = rubric_spec(rubric=report.session.rubric)
    points = {level.label: level.points for level in spec.scale}
    rows = []
    for criterion, _ in report.totals["per_criterion"]:
        ratings = [
            r for _, turns in report.conversations for turn in turns for r in turn.ratings if r.key == criterion.key
        ]
        shifts = [points[r.rating] - points[r.judge_rating] for r in ratings if r.overridden]
        rows.append(
            AgreementRow(
                criterion=criterion.key,
                name=criterion.name,
                verdicts=len(ratings),
                overridden=len(shifts),
                mean_shift=round(sum(shifts) / len(shifts), 1) if shifts else None,
            )
        )
    return rows


def chart_data(report: SessionReport, probes: list[ProbeResult]) -> ChartData:
    turns = [turn for _, turns in report.conversations for turn in turns]
    return ChartData(
        question_scores=[None if t.score is None else float(t.score) for t in turns],
        criteria=[(c.name, None if m.mean is None else float(m.mean)) for c, m in report.totals["per_criterion"]],
        genuine_scores=[float(t.score) for t in turns if t.score is not None] if probes else [],
        fake_scores=[float(p.score) for p in probes if p.score is not None],
        response_ms=[t.answer.response_latency_ms for t in turns if t.answer and t.answer.response_latency_ms],
        evaluation_ms=[t.evaluation_latency_ms for t in turns if t.evaluation_latency_ms],
    )


def report_context(report: SessionReport, *, chart_format: str, generated_at: datetime | None = None) -> dict:
    """What the report templates render, for the page ("svg" charts) and the PDF ("png")."""
    probes = probe_results(session=report.session) if report.robustness is not None else []
    return {
        "session": report.session,
        "report": report,
        "probes": probes,
        "question_rows": question_rows(report),
        "agreement": agreement_rows(report),
        "charts": report_charts(chart_data(report, probes), fmt=chart_format),
        "strategy_labels": STRATEGY_LABELS,
        "provenance": report_provenance(report, generated_at=generated_at or timezone.now()),
    }


def report_provenance(report: SessionReport, *, generated_at: datetime) -> list[tuple[str, str]]:
    """Where the numbers come from: corpus and its version, retrieval, models, rubric, prompt hash, dates."""
    s = report.session
    judgments = [j for _, turns in report.conversations for t in turns for j in t.judgments]
    hashes = sorted({j.prompt_hash for j in judgments if j.prompt_hash})
    judged_versions = sorted({str((j.provenance or {}).get("corpus", {}).get("version")) for j in judgments} - {"None"})
    if s.corpus_id:
        corpus = f"{s.corpus.name} · version {s.corpus.version} now"
        if judged_versions:
            corpus += f", {', '.join(judged_versions)} when judged"
        corpus += f" · embeddings {s.corpus.embedding_model}"
    else:
        corpus = "— (judge-only: answers were submitted with their context)"
    retrieval = f"{s.get_retrieval_mode_display()}, k={s.retrieval_k}" + (" + web search" if s.web_search else "")
    prompt_hash = "—"
    if hashes:
        prompt_hash = hashes[0][:16] + (
            f" (+{len(hashes) - 1} more: prompts differ per item)" if len(hashes) > 1 else ""
        )

    def when(value: datetime | None) -> str:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else "—"

    return [
        ("Session", f"#{s.pk} {s.name} · {s.get_status_display()}"),
        ("Corpus", corpus),
        ("Retrieval", retrieval),
        ("Generator", f"{s.generator_provider} · {s.generator_model or 'default'} (temperature {s.temperature})"),
        ("Judge", f"{s.judge_provider} · {s.judge_model or 'default'} · {s.judge_repeats} run(s) per answer"),
        ("Rubric", str(s.rubric)),
        ("Judge prompt hash", prompt_hash),
        ("Created", when(s.created_at) + (f" by {s.created_by.get_username()}" if s.created_by_id else "")),
        ("Started · finished", f"{when(s.started_at)} · {when(s.finished_at)}"),
        ("Report generated", when(generated_at)),
    ]
