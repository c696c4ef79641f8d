"""Plain-text rendering of a session report, for the `evaluate` command."""

from __future__ import annotations

import textwrap

from core.formatting import duration_ms
from judging.models import RobustnessProbe
from sessions.selectors import SessionReport


def render_summary(report: SessionReport, *, width: int = 100) -> str:
    s = report.session
    t = report.totals
    lines = [
        f"Session #{s.pk} “{s.name}” — {s.get_status_display()}" + (f" ({s.status_reason})" if s.status_reason else ""),
        f"Corpus: {s.corpus.name if s.corpus else '— (judge-only)'} · retrieval {s.retrieval_mode} k={s.retrieval_k}"
        f" · generator {s.generator_provider}"
        f"/{s.generator_model} · judge {s.judge_provider}/{s.judge_model} · rubric {s.rubric}",
        "",
        "Totals",
        f"  wall-clock {duration_ms(t['wall_clock_ms'])} · generating {duration_ms(t['generation_ms'])}"
        f" · judging {duration_ms(t['judging_ms'])}",
        f"  {t['questions']} questions in {t['conversations']} conversations · {t['answered']} answered"
        f" · {t['failed_answers']} failed · verdicts: {t['failed_judgments']} failed,"
        f" {t['unparseable_judgments']} unparseable, {t['pending_judgments']} pending"
        f" · {t['flagged_for_review']} flagged for review",
        f"  weighted score: {t['mean_score']}",
    ]
    for criterion, summary in t["per_criterion"]:
        lines.append(f"    {criterion.name:<13} (w {criterion.weight}) {summary}")
    lines.append("")
    for conversation, turns in report.conversations:
        lines.append(f"== {conversation} ==")
        for turn in turns:
            q = turn.question
            lines.append(f"Q{q.position + 1}: {q.text}")
            a = turn.answer
            if a is None:
                lines.append("   (not answered)")
                continue
            if a.status == "failed":
                lines.append(f"   FAILED: {a.error}")
                continue
            lines.extend(textwrap.wrap(a.text, width=width, initial_indent="   A: ", subsequent_indent="      "))
            lines.append(
                f"   response {duration_ms(a.response_latency_ms)}"
                f" · evaluation {duration_ms(turn.evaluation_latency_ms)}"
                f" · weighted score {turn.score if turn.score is not None else '—'}"
                + (f" (spread {turn.score_spread[0]}–{turn.score_spread[1]}, UNSTABLE)" if turn.unstable else "")
            )
            for judgment in turn.judgments[:1]:
                if judgment.status != "ok":
                    lines.append(f"   verdict {judgment.status}: {judgment.error}")
            for rating in turn.ratings:
                mark = " (overridden)" if rating.overridden else ""
                lines.extend(
                    textwrap.wrap(
                        f"{rating.name}: {rating.rating}{mark} — {rating.rationale}",
                        width=width,
                        initial_indent="   · ",
                        subsequent_indent="     ",
                    )
                )
        lines.append("")
    if report.robustness is not None:
        lines.append("Judge robustness")
        lines.extend("  " + line for line in robustness_lines(report.robustness))
        lines.append("")
    if report.overrides:
        lines.append("Reviewer overrides")
        for o in report.overrides:
            lines.append(
                f"  {o.created_at:%Y-%m-%d %H:%M} {o.reviewer} · {o.judgment.answer.question.text[:60]} · "
                f"{o.criterion.name}: {o.old_rating} → {o.new_rating} — {o.reason}"
            )
    return "\n".join(lines)


def robustness_lines(summary) -> list[str]:
    """Per strategy: how often each expected criterion dropped; then AUROC and the worst case."""
    lines = []
    for strategy in summary.strategies:
        drops = ", ".join(
            f"{key} {drop.dropped}/{drop.compared}" for key, drop in strategy.criteria.items() if drop.compared
        )
        rate = "—" if strategy.rate is None else f"{strategy.rate:.0%}"
        lines.append(
            f"{RobustnessProbe.Strategy(strategy.strategy).label:<19} {strategy.judged}/{strategy.probes} "
            f"judged · all expected criteria dropped in {rate} · {drops} · mean fake score "
            f"{strategy.mean_fake_score if strategy.mean_fake_score is not None else '—'}"
        )
    auroc = "—" if summary.auroc is None else f"{summary.auroc:.3f}"
    lines.append(
        f"AUROC {auroc} over {summary.n_genuine} genuine and {summary.n_fake} fake answers"
        f" · highest fake {summary.worst_fake_score} ({summary.worst_fake_strategy})"
        f" · lowest genuine {summary.lowest_genuine_score}"
    )
    lines.append(summary.verdict)
    return lines
