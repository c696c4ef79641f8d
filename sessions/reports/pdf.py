"""The session report as PDF: the session page's own report templates rendered with xhtml2pdf.

Answers, documents and names are untrusted and end up in the HTML being rendered. Two
gates keep them from making the renderer read a file or open a URL:

1. `link_callback` resolves only the project's own static files (``/static/...``, found by
   Django's staticfiles finders) and the report's fonts (``font:NAME``); every other
   reference — ``http://``, ``file://``, a bare path, a static path that escapes — becomes
   an address the fetcher refuses.
2. The renderer runs under a `ResourceAccessPolicy` with no network at all and local reads
   confined to those same directories, which also covers the fetches that bypass the
   callback (fonts, backgrounds). Charts are inline ``data:`` images, part of the document.

Markdown from LLMs is sanitized before it gets here (no ``<img>``, no ``<link>``); the gates
hold even if it were not.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime
from functools import cache
from pathlib import Path

import matplotlib
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.template.loader import render_to_string
from pypdf import PdfReader, PdfWriter
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from core.errors import InvalidInput
from sessions.reports.data import report_context
from sessions.selectors import SessionReport

logger = logging.getLogger(__name__)

PAPERS = {"a4": "a4", "letter": "letter"}
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"  # DejaVu, shipped with matplotlib
FONTS = {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSansMono.ttf"}
REFUSED = "refused:"  # a scheme the fetcher does not know: the reference is dropped, nothing is read
# A large session's PDF is built by a task: allow it time and size, keep every other server limit.
MAX_RENDER_SECONDS = 15 * 60
MAX_DOCUMENT_BYTES = 200 * 1024 * 1024


class PDFRenderError(Exception):
    """xhtml2pdf reported errors; the message lists them."""


@cache
def static_roots() -> tuple[Path, ...]:
    roots = [Path(d).resolve() for d in settings.STATICFILES_DIRS]
    if settings.STATIC_ROOT and Path(settings.STATIC_ROOT).is_dir():
        roots.append(Path(settings.STATIC_ROOT).resolve())
    return tuple(roots)


def link_callback(uri: str, rel: str | None = None) -> str:
    """Map a reference in the report's HTML to a file the renderer may read, or refuse it."""
    uri = (uri or "").strip()
    if uri.startswith("data:image/png;base64,"):  # the charts, made by sessions.reports.charts
        return uri
    if uri.startswith("font:") and uri[5:] in FONTS:
        return str(FONT_DIR / uri[5:])
    static_url = "/" + settings.STATIC_URL.strip("/") + "/"
    if uri.startswith(static_url) and "?" not in uri and "#" not in uri:
        try:
            found = finders.find(uri[len(static_url) :])
        except SuspiciousFileOperation:  # "../" out of the static directories
            found = None
        if found:
            path = Path(found).resolve()
            if any(path.is_relative_to(root) for root in static_roots()) and path.is_file():
                return str(path)
    logger.warning("PDF report: refused a reference to %r", uri[:200])
    return REFUSED + "blocked"


def resource_policy() -> ResourceAccessPolicy:
    return ResourceAccessPolicy.server(
        base_dir=None,
        extra_roots=(*static_roots(), FONT_DIR),
        allow_remote=False,
        max_render_seconds=MAX_RENDER_SECONDS,
        max_document_bytes=MAX_DOCUMENT_BYTES,
        max_resources=20,
    )


def html_to_pdf(html: str) -> bytes:
    """Render report HTML (ours, with untrusted text inside) to PDF bytes under both gates."""
    output = io.BytesIO()
    status = pisa.CreatePDF(
        html, dest=output, encoding="utf-8", link_callback=link_callback, resource_policy=resource_policy()
    )
    if status.err:
        raise PDFRenderError(f"xhtml2pdf reported {status.err} error(s) rendering the report")
    return output.getvalue()


# Rows per part: xhtml2pdf holds a whole document in memory while it lays it out, so a long
# report is rendered in parts of about this size and the parts are joined (docs/benchmarks.md).
TURNS_PER_PART = 40
PROBES_PER_PART = 400
PROMPTS_PER_PART = 60
PROBE_TEXTS_PER_PART = 300


def _chunks(rows: list, size: int) -> list[list]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def report_parts(report: SessionReport, *, paper: str = "a4", generated_at: datetime | None = None) -> list[str]:
    """The report as HTML documents, in reading order: summary, rest of the probe table,
    agreement and overrides, questions and answers, appendix (prompts, then probe texts)."""
    if paper not in PAPERS:
        raise InvalidInput(f"Paper size {paper!r}: choose one of {', '.join(PAPERS)}.")
    context = {
        **report_context(report, chart_format="png", generated_at=generated_at),
        "pdf": True,
        "paper": PAPERS[paper],
    }
    rows, probes = context["question_rows"], context["probes"]
    probe_chunks = _chunks(probes, PROBES_PER_PART)
    parts: list[dict] = [{"part": "summary", "probe_chunk": probe_chunks[0] if probe_chunks else []}]
    parts += [{"part": "probes", "probe_chunk": chunk} for chunk in probe_chunks[1:]]
    parts.append({"part": "review"})
    parts += [
        {"part": "turns", "question_rows": chunk, "continued": index > 0}
        for index, chunk in enumerate(_chunks(rows, TURNS_PER_PART))
    ]
    appendix = [
        {"prompt_rows": chunk}
        for chunk in _chunks([r for r in rows if r.turn.answer and r.turn.answer.prompt], PROMPTS_PER_PART)
    ]
    appendix += [{"probe_texts": chunk} for chunk in _chunks(probes, PROBE_TEXTS_PER_PART)]
    parts += [{"part": "appendix", "continued": index > 0, **extra} for index, extra in enumerate(appendix or [{}])]
    return [render_to_string("sessions/report_pdf.html", {**context, **part}) for part in parts]


def render_pdf(report: SessionReport, *, paper: str = "a4", generated_at: datetime | None = None) -> bytes:
    """Render each part, join them, and stamp every page's footer (session, page N of M)."""
    writer = PdfWriter()
    for html in report_parts(report, paper=paper, generated_at=generated_at):
        writer.append(PdfReader(io.BytesIO(html_to_pdf(html))))
    session = report.session
    footer = f"Assay · session #{session.pk} · {session.name[:60]}"
    _stamp_footers(writer, text=footer)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


@cache
def _footer_font() -> str:
    pdfmetrics.registerFont(TTFont("AssayFooter", str(FONT_DIR / "DejaVuSans.ttf")))
    return "AssayFooter"


def _stamp_footers(writer: PdfWriter, *, text: str) -> None:
    """One overlay page per page, drawn in one reportlab document, merged onto the pages."""
    total = len(writer.pages)
    buffer = io.BytesIO()
    overlay = canvas.Canvas(buffer)
    for number, page in enumerate(writer.pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        overlay.setPageSize((width, height))
        overlay.setFont(_footer_font(), 7)
        overlay.setFillColorRGB(0.42, 0.45, 0.5)
        overlay.drawCentredString(width / 2, 20, f"{text} · page {number} of {total}")
        overlay.showPage()
    overlay.save()
    stamps = PdfReader(io.BytesIO(buffer.getvalue())).pages
    for page, stamp in zip(writer.pages, stamps, strict=True):
        page.merge_page(stamp)
        page.compress_content_streams()  # merging leaves the page's content uncompressed
