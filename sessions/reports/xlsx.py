"""The session report as a workbook (openpyxl) that a colleague can filter and chart without Assay.

Sheets: Summary, Questions, Verdicts, Passages, Robustness, Probes, Agreement, Overrides.
Every sheet has a styled header row, frozen panes, an autofilter and typed columns
(percent, one decimal, milliseconds); scores get a colour scale and the Summary sheet a
native bar chart of the score per question.

Text from documents and LLMs is written as text, always: openpyxl would store a string
that starts with ``=`` as a formula, so every string cell is typed ``s`` explicitly (CSV/
Excel injection), and characters XML cannot hold are dropped.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from judging.probes import STRATEGY_LABELS
from sessions.reports.data import ProbeResult, agreement_rows, probe_results, question_rows, report_provenance
from sessions.selectors import SessionReport

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1D2330")
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
FORMATS = {
    "int": "0",
    "ms": '#,##0" ms"',
    "score": "0.0",
    "percent": "0.0%",
    "sim": "0.000",
    "date": "yyyy-mm-dd hh:mm",
}
SCORE_SCALE = ColorScaleRule(
    start_type="num", start_value=20, start_color="F8D7DA", mid_type="num", mid_value=60, mid_color="FFF3CD",
    end_type="num", end_value=100, end_color="D4EDDA",
)  # fmt: skip


@dataclass(frozen=True)
class Column:
    header: str
    width: int = 14
    kind: str = "text"  # text | wrap | a key of FORMATS


class _Sheet:
    """One sheet: header, then rows; `close` adds the autofilter and the score colour scale."""

    def __init__(self, workbook: Workbook, title: str, columns: list[Column], *, first: bool = False) -> None:
        self.ws: Worksheet = workbook.active if first else workbook.create_sheet()
        self.ws.title = title
        self.columns = columns
        for index, column in enumerate(columns, start=1):
            cell = self.ws.cell(row=1, column=index, value=_text(column.header))
            cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, WRAP
            self.ws.column_dimensions[get_column_letter(index)].width = column.width
        self.ws.freeze_panes = "B2" if len(columns) > 4 else "A2"
        self.row = 1

    def add(self, values: list[object]) -> None:
        self.row += 1
        for index, (column, value) in enumerate(zip(self.columns, values, strict=True), start=1):
            if value is None or value == "":
                continue
            cell = self.ws.cell(row=self.row, column=index)
            if isinstance(value, bool):
                cell.value = value
            elif isinstance(value, int | float | Decimal):
                cell.value = float(value) if isinstance(value, Decimal) else value
                if column.kind in FORMATS:
                    cell.number_format = FORMATS[column.kind]
            elif isinstance(value, datetime):
                cell.value = timezone.localtime(value).replace(tzinfo=None)
                cell.number_format = FORMATS["date"]
            else:
                cell.value = _text(value)
                cell.data_type = "s"  # never a formula, whatever the text starts with
            cell.alignment = WRAP if column.kind == "wrap" else TOP

    def close(self) -> Worksheet:
        last_column = get_column_letter(len(self.columns))
        self.ws.auto_filter.ref = f"A1:{last_column}{max(self.row, 2)}"
        for index, column in enumerate(self.columns, start=1):
            if column.kind == "score" and self.row > 1:
                letter = get_column_letter(index)
                self.ws.conditional_formatting.add(f"{letter}2:{letter}{self.row}", SCORE_SCALE)
        return self.ws

    def column_index(self, header: str) -> int:
        return next(i for i, c in enumerate(self.columns, start=1) if c.header == header)


def _text(value: object) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if len(text) > MAX_CELL_CHARS:
        note = f" [… {len(text)} characters, cut to fit one cell]"
        text = text[: MAX_CELL_CHARS - len(note)] + note
    return text


def render_xlsx(report: SessionReport, *, generated_at: datetime | None = None) -> bytes:
    probes = probe_results(session=report.session) if report.robustness is not None else []
    workbook = Workbook()
    summary = _summary(workbook, report, generated_at or timezone.now())
    questions = _questions(workbook, report)
    _verdicts(workbook, report)
    _passages(workbook, report)
    _robustness(workbook, report)
    _probes(workbook, report, probes)
    _agreement(workbook, report)
    _overrides(workbook, report)
    _score_chart(summary=summary, questions=questions)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _summary(workbook: Workbook, report: SessionReport, generated_at: datetime) -> Worksheet:
    t = report.totals
    sheet = _Sheet(workbook, "Summary", [Column("Item", 44), Column("Value", 60, "wrap")], first=True)
    rows: list[tuple[str, object]] = list(report_provenance(report, generated_at=generated_at))
    rows += [
        ("Wall-clock (ms)", t["wall_clock_ms"]),
        ("Generating answers, sum of response latencies (ms)", t["generation_ms"]),
        ("Judging, sum of evaluation latencies (ms)", t["judging_ms"]),
        ("Questions", t["questions"]),
        ("Conversations", t["conversations"]),
        ("Answered", t["answered"]),
        ("Failed answers", t["failed_answers"]),
        ("Unparseable judgments", t["unparseable_judgments"]),
        ("Failed judgments", t["failed_judgments"]),
        ("Pending judgments", t["pending_judgments"]),
        ("Flagged for review", t["flagged_for_review"]),
        ("Prompt tokens", t["prompt_tokens"]),
        ("Completion tokens", t["completion_tokens"]),
        ("Spent (USD)", Decimal(t["spent_usd"])),
        ("Mean weighted score", t["mean_score"].mean),
        ("Mean weighted score, accounting", str(t["mean_score"])),
    ]
    for criterion, mean in t["per_criterion"]:
        rows.append((f"{criterion.name} (weight {criterion.weight.normalize()}), mean points", mean.mean))
    robustness = report.robustness
    if robustness is not None:
        rows += [
            ("Judge robustness", robustness.verdict),
            ("AUROC genuine vs fake", robustness.auroc),
            ("Highest fake score", robustness.worst_fake_score),
            ("Lowest genuine score", robustness.lowest_genuine_score),
            ("Genuine answers scored", robustness.n_genuine),
            ("Fake answers scored", robustness.n_fake),
            ("Unjudged probes", robustness.n_unjudged),
        ]
    for label, value in rows:
        sheet.add([label, value])
    ws = sheet.close()
    ws.freeze_panes = "A2"
    return ws


def _questions(workbook: Workbook, report: SessionReport) -> _Sheet:
    criteria = [c for c, _ in report.totals["per_criterion"]]
    columns = [
        Column("#", 6, "int"),
        Column("Conversation", 16),
        Column("Turn", 6, "int"),
        Column("Question", 40, "wrap"),
    ]
    columns += [Column("Answer status", 10), Column("Response latency (ms)", 12, "ms")]
    columns += [Column("Evaluation latency (ms)", 12, "ms")]
    for c in criteria:
        columns += [Column(f"{c.name} rating", 12), Column(f"{c.name} judge rating", 12)]
    columns += [Column("Weighted score", 10, "score"), Column("Judgment status", 12), Column("Unstable", 9)]
    columns += [Column("Similarity to reference", 11, "sim"), Column("Reference answer", 30, "wrap")]
    columns += [Column("Answer", 60, "wrap"), Column("Prompt", 60, "wrap")]
    sheet = _Sheet(workbook, "Questions", columns)
    for row in question_rows(report):
        turn, a = row.turn, row.turn.answer
        values: list[object] = [
            row.number,
            row.conversation,
            turn.question.position + 1,
            turn.question.text,
            a.status if a else "not answered",
            a.response_latency_ms if a else None,
            turn.evaluation_latency_ms,
        ]
        for rating in row.ratings:
            values += [rating.rating, rating.judge_rating] if rating else [None, None]
        values += [
            turn.score,
            ", ".join(j.status for j in turn.judgments) or "not judged",
            turn.unstable,
            a.reference_similarity if a else None,
            turn.question.reference_answer,
            (a.text if a.status != "failed" else f"FAILED: {a.error}") if a else "",
            a.prompt if a else "",
        ]
        sheet.add(values)
    sheet.close()
    return sheet


def _verdicts(workbook: Workbook, report: SessionReport) -> None:
    columns = [Column("#", 6, "int"), Column("Question", 40, "wrap"), Column("Judgment", 10, "int")]
    columns += [Column("Repeat", 8, "int"), Column("Criterion", 14), Column("Rating", 11), Column("Points", 8, "int")]
    columns += [Column("Judge rating", 11), Column("Overridden", 11), Column("Rationale", 60, "wrap")]
    columns += [Column("Override reason", 40, "wrap"), Column("Reviewer", 12)]
    sheet = _Sheet(workbook, "Verdicts", columns)
    for row in question_rows(report):
        for judgment in row.turn.judgments:
            for r in getattr(judgment, "effective", []):
                last = r.overrides[-1] if r.overrides else None
                sheet.add(
                    [
                        row.number,
                        row.turn.question.text,
                        judgment.pk,
                        judgment.repeat_index + 1,
                        r.name,
                        r.rating,
                        r.points,
                        r.judge_rating,
                        r.overridden,
                        r.rationale,
                        last.reason if last else None,
                        str(last.reviewer) if last else None,
                    ]
                )
    sheet.close()


def _passages(workbook: Workbook, report: SessionReport) -> None:
    columns = [Column("#", 6, "int"), Column("Question", 40, "wrap"), Column("Rank", 6, "int"), Column("Tag", 30)]
    columns += [Column("Score", 9, "sim"), Column("Source", 20), Column("Text", 80, "wrap"), Column("URL", 30)]
    sheet = _Sheet(workbook, "Passages", columns)
    for row in question_rows(report):
        for p in row.turn.passages:
            sheet.add([row.number, row.turn.question.text, p.rank, p.source_tag, p.score, p.source, p.text, p.url])
    sheet.close()


def _robustness(workbook: Workbook, report: SessionReport) -> None:
    columns = [Column("Strategy", 20), Column("Expected to pull down", 28), Column("Probes", 8, "int")]
    columns += [Column("Judged", 8, "int"), Column("All expected dropped", 12, "int"), Column("Rate", 9, "percent")]
    columns += [Column("Dropped per criterion", 40, "wrap"), Column("Mean fake score", 10, "score")]
    sheet = _Sheet(workbook, "Robustness", columns)
    for s in report.robustness.strategies if report.robustness is not None else []:
        sheet.add(
            [
                STRATEGY_LABELS.get(s.strategy, s.strategy),
                ", ".join(s.expected_criteria),
                s.probes,
                s.judged,
                s.all_expected_dropped,
                s.rate,
                ", ".join(f"{k} {d.dropped}/{d.compared}" for k, d in s.criteria.items()),
                s.mean_fake_score,
            ]
        )
    sheet.close()


def _probes(workbook: Workbook, report: SessionReport, probes: list[ProbeResult]) -> None:
    criteria = [c for c, _ in report.totals["per_criterion"]]
    columns = [Column("#", 6, "int"), Column("Question", 40, "wrap"), Column("Strategy", 18), Column("Origin", 8)]
    columns += [Column("Expected to drop", 24), Column("Fake answer", 60, "wrap"), Column("Status", 10)]
    columns += [Column(f"{c.name} rating", 12) for c in criteria] + [Column("Weighted score", 10, "score")]
    sheet = _Sheet(workbook, "Probes", columns)
    for number, p in enumerate(probes, start=1):
        ratings = {r.key: r.rating for r in p.ratings}
        sheet.add(
            [number, p.question, p.strategy_label, p.origin, ", ".join(p.expected_criteria), p.fake_answer]
            + [p.status or "not judged"]
            + [ratings.get(c.key) for c in criteria]
            + [p.score]
        )
    sheet.close()


def _agreement(workbook: Workbook, report: SessionReport) -> None:
    columns = [Column("Criterion", 16), Column("Verdicts", 10, "int"), Column("Overridden", 11, "int")]
    columns += [Column("Kept as judged", 12, "percent"), Column("Mean shift (points)", 12, "score")]
    sheet = _Sheet(workbook, "Agreement", columns)
    for a in agreement_rows(report):
        sheet.add([a.name, a.verdicts, a.overridden, a.kept_rate, a.mean_shift])
    sheet.close()


def _overrides(workbook: Workbook, report: SessionReport) -> None:
    columns = [Column("When", 17, "date"), Column("Reviewer", 12), Column("Question", 40, "wrap")]
    columns += [Column("Criterion", 14), Column("From", 10), Column("To", 10), Column("Reason", 50, "wrap")]
    columns += [Column("Judgment", 10, "int")]
    sheet = _Sheet(workbook, "Overrides", columns)
    for o in report.overrides:
        question = o.judgment.answer.question.text if o.judgment.answer_id else "(probe)"
        sheet.add(
            [o.created_at, str(o.reviewer), question, o.criterion.name, o.old_rating, o.new_rating, o.reason]
            + [o.judgment_id]
        )
    sheet.close()


def _score_chart(*, summary: Worksheet, questions: _Sheet) -> None:
    """A native bar chart on the Summary sheet, reading the Questions sheet's score column."""
    if questions.row < 2:
        return
    chart = BarChart()
    chart.type = "col"
    chart.title = "Weighted score per question"
    chart.y_axis.title = "score"
    chart.x_axis.title = "question #"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
    chart.legend = None
    score = questions.column_index("Weighted score")
    chart.add_data(Reference(questions.ws, min_col=score, min_row=1, max_row=questions.row), titles_from_data=True)
    chart.set_categories(Reference(questions.ws, min_col=1, min_row=2, max_row=questions.row))
    chart.width, chart.height = 24, 9
    summary.add_chart(chart, "D2")
