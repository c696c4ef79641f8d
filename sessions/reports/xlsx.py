"""The session report as a workbook (XlsxWriter): Summary, Questions, Passages, Robustness, Overrides.

Text from documents and LLMs is written with ``write_string`` into a workbook opened with
``strings_to_formulas=False``, so a value such as ``=HYPERLINK(...)`` stays text and never
becomes a formula (CSV/Excel injection).
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

import xlsxwriter
from django.utils import timezone

from judging.probes import STRATEGY_LABELS
from sessions.reports.data import probe_results
from sessions.selectors import SessionReport

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class _Sheet:
    """A worksheet written row by row; strings stay strings, numbers stay numbers."""

    def __init__(self, workbook, name: str, header: list[str], *, widths: dict[int, int] | None = None) -> None:
        self.ws = workbook.add_worksheet(name)
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.bold = workbook.add_format({"bold": True, "bg_color": "#EEEEEE", "valign": "top"})
        self.row = 0
        if header:
            for col, title in enumerate(header):
                self.ws.write_string(0, col, title, self.bold)
            self.ws.freeze_panes(1, 0)
            self.row = 1
        for col, width in (widths or {}).items():
            self.ws.set_column(col, col, width)

    def add(self, values: list[object], *, bold: bool = False) -> None:
        fmt = self.bold if bold else self.wrap
        for col, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                self.ws.write_boolean(self.row, col, value, fmt)
            elif isinstance(value, int | float | Decimal):
                self.ws.write_number(self.row, col, float(value), fmt)
            else:
                self.ws.write_string(self.row, col, _text(value), fmt)
        self.row += 1


def _text(value: object) -> str:
    text = ILLEGAL_XML.sub("", str(value))
    if len(text) > MAX_CELL_CHARS:
        note = f" [… {len(text)} characters, cut to fit one cell]"
        text = text[: MAX_CELL_CHARS - len(note)] + note
    return text


def render_xlsx(report: SessionReport) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    _summary(workbook, report)
    _questions(workbook, report)
    _passages(workbook, report)
    _robustness(workbook, report)
    _overrides(workbook, report)
    workbook.close()
    return buffer.getvalue()


def _summary(workbook, report: SessionReport) -> None:
    s, t = report.session, report.totals
    sheet = _Sheet(workbook, "Summary", ["Item", "Value"], widths={0: 34, 1: 90})
    rows: list[tuple[str, object]] = [
        ("Session", s.pk),
        ("Name", s.name),
        ("Status", s.get_status_display()),
        ("Status reason", s.status_reason),
        ("Corpus", s.corpus.name if s.corpus_id else "(judge-only)"),
        ("Retrieval", f"{s.retrieval_mode}, k={s.retrieval_k}" + (", web search" if s.web_search else "")),
        ("Generator", f"{s.generator_provider} / {s.generator_model} (temperature {s.temperature})"),
        ("Judge", f"{s.judge_provider} / {s.judge_model}, {s.judge_repeats} run(s) per answer"),
        ("Rubric", str(s.rubric)),
        ("Generated", timezone.localtime().strftime("%Y-%m-%d %H:%M %Z")),
        ("Wall-clock (ms)", t["wall_clock_ms"]),
        ("Generating answers, sum of response latencies (ms)", t["generation_ms"]),
        ("Judging, sum of evaluation latencies (ms)", t["judging_ms"]),
        ("Questions", t["questions"]),
        ("Conversations", t["conversations"]),
        ("Answered", t["answered"]),
        ("Failed answers", t["failed_answers"]),
        ("Unparseable judgments", t["unparseable_judgments"]),
        ("Failed judgments", t["failed_judgments"]),
        ("Flagged for review", t["flagged_for_review"]),
        ("Prompt tokens", t["prompt_tokens"]),
        ("Completion tokens", t["completion_tokens"]),
        ("Spent (USD)", t["spent_usd"]),
        ("Mean weighted score", t["mean_score"].mean),
        ("Mean weighted score, accounting", str(t["mean_score"])),
    ]
    for criterion, summary in t["per_criterion"]:
        rows.append((f"{criterion.name} (weight {criterion.weight}), mean points", summary.mean))
        rows.append((f"{criterion.name}, accounting", str(summary)))
    if report.robustness is not None:
        rows.append(("Judge robustness", report.robustness.verdict))
    for label, value in rows:
        sheet.add([label, value])


def _questions(workbook, report: SessionReport) -> None:
    criteria = [c for c, _ in report.totals["per_criterion"]]
    header = ["Conversation", "Turn", "Question", "Reference answer", "Answer status", "Answer"]
    header += ["Response latency (ms)", "Evaluation latency (ms)"]
    for c in criteria:
        header += [f"{c.name} rating", f"{c.name} judge rating", f"{c.name} rationale"]
    header += ["Weighted score", "Judgment status", "Unstable", "Similarity to reference", "Prompt"]
    widths = {2: 40, 3: 30, 5: 60, len(header) - 1: 80}
    sheet = _Sheet(workbook, "Questions", header, widths=widths)
    for conversation, turns in report.conversations:
        for turn in turns:
            a = turn.answer
            ratings = {r.key: r for r in turn.ratings}
            row: list[object] = [
                str(conversation),
                turn.question.position + 1,
                turn.question.text,
                turn.question.reference_answer,
                a.status if a else "not answered",
                (a.text if a.status != "failed" else f"FAILED: {a.error}") if a else "",
                a.response_latency_ms if a else None,
                turn.evaluation_latency_ms,
            ]
            for c in criteria:
                r = ratings.get(c.key)
                row += [r.rating, r.judge_rating, r.rationale] if r else [None, None, None]
            statuses = ", ".join(j.status for j in turn.judgments) or "not judged"
            row += [turn.score, statuses, turn.unstable, a.reference_similarity if a else None, a.prompt if a else ""]
            sheet.add(row)


def _passages(workbook, report: SessionReport) -> None:
    header = ["Conversation", "Turn", "Question", "Rank", "Tag", "Score", "Source", "Text", "URL"]
    sheet = _Sheet(workbook, "Passages", header, widths={2: 40, 4: 30, 7: 80})
    for conversation, turns in report.conversations:
        for turn in turns:
            for p in turn.passages:
                sheet.add(
                    [
                        str(conversation),
                        turn.question.position + 1,
                        turn.question.text,
                        p.rank,
                        p.source_tag,
                        p.score,
                        p.source,
                        p.text,
                        p.url,
                    ]
                )


def _robustness(workbook, report: SessionReport) -> None:
    summary = report.robustness
    header = ["Strategy", "Probes", "Judged", "All expected dropped", "Rate", "Criteria dropped", "Mean fake score"]
    sheet = _Sheet(workbook, "Robustness", header, widths={0: 22, 5: 50, 7: 60})
    if summary is None:
        sheet.add(["Robustness probes were not run for this session."])
        return
    for strategy in summary.strategies:
        drops = ", ".join(f"{k} {d.dropped}/{d.compared}" for k, d in strategy.criteria.items())
        sheet.add(
            [
                STRATEGY_LABELS.get(strategy.strategy, strategy.strategy),
                strategy.probes,
                strategy.judged,
                strategy.all_expected_dropped,
                strategy.rate,
                drops,
                strategy.mean_fake_score,
            ]
        )
    sheet.add([])
    sheet.add(["AUROC", summary.auroc])
    sheet.add(["Genuine answers", summary.n_genuine])
    sheet.add(["Fake answers", summary.n_fake])
    sheet.add(["Unjudged probes", summary.n_unjudged])
    sheet.add(["Highest fake score", summary.worst_fake_score, summary.worst_fake_strategy])
    sheet.add(["Lowest genuine score", summary.lowest_genuine_score])
    sheet.add(["Verdict", summary.verdict])
    sheet.add([])
    sheet.add(
        ["Strategy", "Question", "Fake answer", "Verdict", "Weighted score", "Status", "Expected to drop"], bold=True
    )
    for probe in probe_results(session=report.session):
        sheet.add(
            [
                probe.strategy_label,
                probe.question,
                probe.fake_answer,
                ", ".join(f"{r.name} {r.rating}" for r in probe.ratings),
                probe.score,
                probe.status or "not judged",
                ", ".join(probe.expected_criteria),
            ]
        )


def _overrides(workbook, report: SessionReport) -> None:
    header = ["When", "Reviewer", "Question", "Criterion", "From", "To", "Reason", "Judgment"]
    sheet = _Sheet(workbook, "Overrides", header, widths={0: 18, 2: 40, 6: 60})
    for o in report.overrides:
        sheet.add(
            [
                timezone.localtime(o.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                str(o.reviewer),
                o.judgment.answer.question.text if o.judgment.answer_id else "(probe)",
                o.criterion.name,
                o.old_rating,
                o.new_rating,
                o.reason,
                o.judgment_id,
            ]
        )
