"""The session report as PDF (fpdf2), in the order of DESIGN §1.

All text (questions, answers, passages, rationales) is untrusted, so it is only ever
written as plain text cells: no HTML, no Markdown, no images, nothing that could make
the renderer open a file or a URL. A Unicode TTF font is embedded when one is found;
otherwise the PDF core fonts are used with text reduced to Latin-1, so no input can
make rendering fail.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from sessions.reports.data import ProbeResult, probe_results, seconds
from sessions.selectors import SessionReport

# Standard places of DejaVu (Debian's fonts-dejavu-core and the usual Linux/BSD layouts).
FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
    "/usr/local/share/fonts/dejavu",
)
MAX_FIELD_CHARS = 20_000  # a single field longer than this is cut, with a note, to keep reports readable
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
ASCII_FOR = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "−": "-",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "•": "*",
        "→": "->",
        "≥": ">=",
        "≤": "<=",
        "·": "-",
        "\u00a0": " ",
    }
)


@lru_cache(maxsize=1)
def unicode_font_files() -> dict[str, str] | None:
    """Paths of DejaVu Sans (regular, bold) and Sans Mono, or None when not installed."""
    dirs = [Path(d) for d in FONT_DIRS]
    spec = importlib.util.find_spec("matplotlib")
    if spec and spec.origin:  # matplotlib ships DejaVu in mpl-data, where it is installed
        dirs.append(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf")
    wanted = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf", "mono": "DejaVuSansMono.ttf"}
    for directory in dirs:
        found = {style: directory / name for style, name in wanted.items()}
        if found["regular"].is_file():
            return {style: str(path if path.is_file() else found["regular"]) for style, path in found.items()}
    return None


class _ReportPDF(FPDF):
    def __init__(self, *, title: str, unicode_fonts: dict[str, str] | None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report_title = title
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=15)
        self.unicode = unicode_fonts is not None
        if unicode_fonts:
            self.add_font("Body", "", unicode_fonts["regular"])
            self.add_font("Body", "B", unicode_fonts["bold"])
            self.add_font("Mono", "", unicode_fonts["mono"])
            self.body_font, self.mono_font = "Body", "Mono"
        else:
            self.body_font, self.mono_font = "Helvetica", "Courier"
        self.set_title(self.clean(title))
        self.set_creator("Assay")

    # Text ---------------------------------------------------------------------------------

    def clean(self, text: object) -> str:
        value = "" if text is None else str(text)
        if len(value) > MAX_FIELD_CHARS:
            value = value[:MAX_FIELD_CHARS] + f"\n[… {len(value) - MAX_FIELD_CHARS} more characters not shown]"
        value = CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    "))
        if self.unicode:
            return value
        value = unicodedata.normalize("NFKC", value).translate(ASCII_FOR)
        return value.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.body_font, "", 7)
        self.set_text_color(120)
        self.cell(0, 5, self.clean(f"{self.report_title} · page {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0)

    def heading(self, text: str, *, size: float = 14) -> None:
        self.ln(2)
        self.set_font(self.body_font, "B", size)
        self.multi_cell(0, size * 0.5, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def label(self, label: str, *, size: float = 9) -> None:
        self.set_font(self.body_font, "B", size)
        self.multi_cell(0, size * 0.5, self.clean(label), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def label_text(self, label: str, text: object, *, size: float = 9) -> None:
        self.label(label, size=size)
        self.paragraph(text, size=size)

    def paragraph(self, text: object, *, size: float = 9, bold: bool = False, indent: float = 0) -> None:
        self.set_font(self.body_font, "B" if bold else "", size)
        self.set_x(self.l_margin + indent)
        self.multi_cell(0, size * 0.5, self.clean(text) or self.clean("—"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def mono(self, text: object, *, size: float = 7.5) -> None:
        self.set_font(self.mono_font, "", size)
        self.set_fill_color(245, 245, 245)
        self.multi_cell(
            0, size * 0.45, self.clean(text) or self.clean("—"), fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def rule(self) -> None:
        self.ln(1)
        self.set_draw_color(200)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)


def render_pdf(report: SessionReport, *, generated_at: datetime | None = None) -> bytes:
    session = report.session
    pdf = _ReportPDF(title=f"Assay · Session #{session.pk} “{session.name}”", unicode_fonts=unicode_font_files())
    pdf.alias_nb_pages()
    pdf.add_page()
    _title(pdf, report, generated_at or timezone.now())
    _totals(pdf, report)
    _questions(pdf, report)
    _robustness(pdf, report, probe_results(session=session) if report.robustness is not None else [])
    _overrides(pdf, report)
    return bytes(pdf.output())


def _title(pdf: _ReportPDF, report: SessionReport, generated_at: datetime) -> None:
    s = report.session
    pdf.heading(f"Session #{s.pk}: {s.name}", size=16)
    corpus = s.corpus.name if s.corpus_id else "— (judge-only: answers submitted with their context)"
    status = s.get_status_display() + (f" ({s.status_reason})" if s.status_reason else "")
    lines = [
        f"Status: {status}",
        f"Corpus: {corpus}",
        f"Retrieval: {s.retrieval_mode}, k={s.retrieval_k}{', web search' if s.web_search else ''}",
        f"Generator: {s.generator_provider} / {s.generator_model} (temperature {s.temperature})",
        f"Judge: {s.judge_provider} / {s.judge_model}, {s.judge_repeats} run(s) per answer · rubric {s.rubric}",
        f"Generated {timezone.localtime(generated_at):%Y-%m-%d %H:%M %Z}",
    ]
    for line in lines:
        pdf.paragraph(line, size=9)


def _totals(pdf: _ReportPDF, report: SessionReport) -> None:
    t = report.totals
    pdf.heading("1. Totals")
    pdf.paragraph(
        f"Wall-clock {seconds(t['wall_clock_ms'])} · generating answers {seconds(t['generation_ms'])} "
        f"(sum of response latencies) · judging {seconds(t['judging_ms'])} (sum of evaluation latencies)"
    )
    pdf.paragraph(
        f"{t['questions']} questions in {t['conversations']} conversations · {t['answered']} answered · "
        f"{t['failed_answers']} failed · judgments: {t['failed_judgments']} failed, "
        f"{t['unparseable_judgments']} unparseable, {t['pending_judgments']} pending · "
        f"{t['flagged_for_review']} flagged for review"
    )
    if t["prompt_tokens"] or t["completion_tokens"]:
        pdf.paragraph(f"Tokens: {t['prompt_tokens']} in, {t['completion_tokens']} out · spent ${t['spent_usd']}")
    pdf.paragraph(f"Weighted score: {t['mean_score']}", bold=True)
    for criterion, summary in t["per_criterion"]:
        pdf.paragraph(f"{criterion.name} (weight {criterion.weight}): {summary}", indent=4)


def _questions(pdf: _ReportPDF, report: SessionReport) -> None:
    pdf.heading("2. Questions")
    for conversation, turns in report.conversations:
        pdf.heading(str(conversation), size=11)
        for turn in turns:
            question, answer = turn.question, turn.answer
            pdf.paragraph(f"Q{question.position + 1}. {question.text}", size=10, bold=True)
            if question.reference_answer:
                pdf.label_text("Reference answer", question.reference_answer)
            if answer is None:
                pdf.paragraph("Not answered yet.")
                pdf.rule()
                continue
            if answer.status == "failed":
                pdf.label_text("Answer failed", answer.error)
            else:
                pdf.label_text("Answer", answer.text)
            score = "—" if turn.score is None else str(turn.score)
            spread = (
                f" (repeats {turn.score_spread[0]}–{turn.score_spread[1]}{', unstable' if turn.unstable else ''})"
                if turn.score_spread
                else ""
            )
            pdf.paragraph(
                f"Response latency {seconds(answer.response_latency_ms)} · evaluation latency "
                f"{seconds(turn.evaluation_latency_ms)} · weighted score {score}{spread}",
                bold=True,
            )
            for judgment in turn.judgments:
                if judgment.status != "ok":
                    pdf.paragraph(
                        f"Judgment #{judgment.pk} (run {judgment.repeat_index + 1}) {judgment.status}"
                        + (f": {judgment.error}" if judgment.error else "")
                    )
                    if judgment.raw_output:
                        pdf.label_text("Raw judge output", judgment.raw_output, size=8)
            for rating in turn.ratings:
                mark = f" (overridden; judge said {rating.judge_rating})" if rating.overridden else ""
                pdf.paragraph(f"{rating.name}: {rating.rating}{mark}", bold=True, indent=4)
                pdf.paragraph(rating.rationale, size=8.5, indent=4)
            if turn.passages:
                pdf.label("Sources")
                for passage in turn.passages:
                    pdf.paragraph(f"#{passage.rank} {passage.source_tag} (score {passage.score:.4f})", size=8, indent=4)
            if answer.prompt:
                pdf.label("Prompt (as sent)")
                pdf.mono(answer.prompt)
            else:
                pdf.paragraph("No prompt: the answer was submitted ready-made (judge-only).", size=8)
            pdf.rule()


def _robustness(pdf: _ReportPDF, report: SessionReport, probes: list[ProbeResult]) -> None:
    from sessions.summary_text import robustness_lines

    if report.robustness is None:
        return
    pdf.heading("3. Judge robustness")
    for line in robustness_lines(report.robustness):
        pdf.paragraph(line, size=8.5)
    pdf.paragraph(report.robustness.verdict, bold=True)
    for probe in probes:
        pdf.rule()
        score = "—" if probe.score is None else str(probe.score)
        pdf.paragraph(
            f"{probe.strategy_label} probe · expected to pull down: {', '.join(probe.expected_criteria)}",
            bold=True,
        )
        pdf.label_text("Question", probe.question)
        pdf.label_text("Fake answer", probe.fake_answer)
        verdicts = ", ".join(f"{r.name} {r.rating}" for r in probe.ratings) or (probe.status or "not judged")
        pdf.paragraph(f"Verdict: {verdicts} · weighted score {score}")


def _overrides(pdf: _ReportPDF, report: SessionReport) -> None:
    if not report.overrides:
        return
    pdf.heading("4. Reviewer overrides")
    for o in report.overrides:
        question = o.judgment.answer.question.text if o.judgment.answer_id else "(probe)"
        pdf.paragraph(
            f"{timezone.localtime(o.created_at):%Y-%m-%d %H:%M} · {o.reviewer} · {o.criterion.name}: "
            f"{o.old_rating} → {o.new_rating}",
            bold=True,
        )
        pdf.paragraph(f"Question: {question}", size=8.5, indent=4)
        pdf.paragraph(f"Reason: {o.reason}", size=8.5, indent=4)
