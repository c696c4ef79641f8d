"""Report downloads by format: what each is called, its content type, and how it is made.

Small sessions are rendered in the request; a session with more than
``settings.REPORT_SYNC_MAX_QUESTIONS`` questions is exported by a task (`report_export_request` →
`report_export_build`) and downloaded from a link when it is ready, so no request waits
for a long PDF.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from core.errors import InvalidInput
from sessions.models import EvaluationSession, ReportExport
from sessions.reports.pdf import render_pdf
from sessions.reports.results import render_results_csv, render_results_json
from sessions.reports.xlsx import XLSX_CONTENT_TYPE, render_xlsx
from sessions.selectors import SessionReport, session_report

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    suffix: str
    content_type: str
    render: Callable[..., bytes]
    background: bool  # large sessions export it through a task


FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("pdf", "PDF", "pdf", "application/pdf", render_pdf, True),
        ExportFormat("xlsx", "Excel", "xlsx", XLSX_CONTENT_TYPE, render_xlsx, True),
        ExportFormat("csv", "CSV", "csv", "text/csv; charset=utf-8", render_results_csv, False),
        ExportFormat("json", "JSON", "json", "application/json", render_results_json, False),
    )
}


def render_report(report: SessionReport, *, fmt: str, paper: str = "a4") -> bytes:
    export_format = FORMATS[fmt]
    if fmt == "pdf":
        return export_format.render(report, paper=paper)
    return export_format.render(report)


def export_content(*, session: EvaluationSession, fmt: str, paper: str = "a4") -> bytes:
    """Read the session's report and render it: what a download or the export task runs."""
    return render_report(session_report(session=session), fmt=fmt, paper=paper)


def export_filename(*, session: EvaluationSession, fmt: str, paper: str = "a4") -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]", "", slugify(session.name))[:60] or "session"
    suffix = f"-{paper}" if fmt == "pdf" and paper != "a4" else ""
    return f"session-{session.pk}-{stem}{suffix}.{FORMATS[fmt].suffix}"


def needs_background(*, fmt: str, questions: int) -> bool:
    return FORMATS[fmt].background and questions > settings.REPORT_SYNC_MAX_QUESTIONS


@dataclass(frozen=True)
class DownloadOption:
    format: str
    paper: str
    label: str


DOWNLOADS = [
    DownloadOption("pdf", "a4", "PDF (A4)"),
    DownloadOption("pdf", "letter", "PDF (Letter)"),
    DownloadOption("xlsx", "a4", "Excel"),
    DownloadOption("csv", "a4", "CSV"),
    DownloadOption("json", "a4", "JSON"),
]


def download_options(*, session: EvaluationSession, questions: int) -> dict:
    """What the session page offers: direct links, background builds, and recent exports."""
    background = [o for o in DOWNLOADS if needs_background(fmt=o.format, questions=questions)]
    return {
        "questions": questions,
        "links": [o for o in DOWNLOADS if o not in background],
        "background": background,
        "exports": list(session.report_exports.all()[:5]),
    }


def report_export_request(*, session: EvaluationSession, user, fmt: str, paper: str = "a4") -> ReportExport:
    """Queue a background export; a second click while one of the same kind is pending gets that one."""
    if fmt not in ReportExport.Format.values:
        raise InvalidInput(f"Format {fmt!r}: background exports are {', '.join(ReportExport.Format.values)}.")
    if paper not in ReportExport.Paper.values:
        raise InvalidInput(f"Paper size {paper!r}: choose one of {', '.join(ReportExport.Paper.values)}.")
    pending = session.report_exports.filter(format=fmt, paper=paper, status=ReportExport.Status.PENDING).first()
    if pending is not None:
        return pending
    export = ReportExport.objects.create(session=session, requested_by=user, format=fmt, paper=paper)
    from sessions.tasks import build_report_export

    transaction.on_commit(lambda: build_report_export.delay(export.pk))
    return export


def report_export_build(*, export_id: int) -> ReportExport | None:
    """Render and store the file; a failure is recorded on the row, never lost."""
    export = ReportExport.objects.select_related("session").filter(pk=export_id).first()
    if export is None or export.status != ReportExport.Status.PENDING:
        return export  # gone, or done by an earlier delivery
    started = time.perf_counter()
    try:
        content = export_content(session=export.session, fmt=export.format, paper=export.paper)
    except Exception as exc:  # noqa: BLE001 - recorded on the row for the user to see
        logger.exception("report export %s failed", export_id)
        export.status, export.error = ReportExport.Status.FAILED, f"The report could not be built: {exc}"
    else:
        name = export_filename(session=export.session, fmt=export.format, paper=export.paper)
        export.file.save(name, ContentFile(content), save=False)
        export.status, export.size = ReportExport.Status.READY, len(content)
    export.duration_ms = round((time.perf_counter() - started) * 1000)
    export.finished_at = timezone.now()
    export.save(update_fields=["status", "error", "file", "size", "duration_ms", "finished_at"])
    return export
