"""Report downloads from the session page: PDF, Excel, CSV and JSON, and background exports.

Small sessions are rendered in the request. A PDF or workbook of a session with more than
``settings.REPORT_SYNC_MAX_QUESTIONS`` questions is built by a task: the page offers a button that queues
it and a link that appears when it is ready.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.views import domain_error_redirect
from sessions.models import Question, ReportExport
from sessions.reports.exports import (
    FORMATS,
    export_content,
    export_filename,
    needs_background,
    report_export_request,
)
from sessions.reports.pdf import PAPERS
from sessions.views import session_or_404


def _download(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def report_download(request: HttpRequest, session_id: int, fmt: str) -> HttpResponse:
    session = session_or_404(request, session_id)
    if fmt not in FORMATS:
        raise Http404("No such report format")
    paper = request.GET.get("paper", "a4")
    if paper not in PAPERS:
        messages.error(request, f"Paper size {paper!r}: choose A4 or Letter.")
        return redirect(session.get_absolute_url())
    questions = Question.objects.filter(session=session).count()
    if needs_background(fmt=fmt, questions=questions):
        messages.info(
            request,
            f"This session has {questions} questions (more than {settings.REPORT_SYNC_MAX_QUESTIONS}): its "
            f"{FORMATS[fmt].label} report is built in the background. Use “Build” under Reports.",
        )
        return redirect(session.get_absolute_url() + "#reports")
    content = export_content(session=session, fmt=fmt, paper=paper)
    filename = export_filename(session=session, fmt=fmt, paper=paper)
    return _download(content, content_type=FORMATS[fmt].content_type, filename=filename)


@require_POST
@login_required
def report_export_create(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_or_404(request, session_id)
    try:
        export = report_export_request(
            session=session,
            user=request.user,
            fmt=request.POST.get("format", ""),
            paper=request.POST.get("paper", "a4"),
        )
    except DomainError as exc:
        return domain_error_redirect(request, exc, session.get_absolute_url())
    return redirect(reverse("sessions:export", args=[session.pk, export.pk]))


def _export_or_404(request: HttpRequest, session_id: int, export_id: int) -> ReportExport:
    session = session_or_404(request, session_id)
    export = session.report_exports.filter(pk=export_id).first()
    if export is None:
        raise Http404("No such export")
    return export


@login_required
def report_export_detail(request: HttpRequest, session_id: int, export_id: int) -> HttpResponse:
    export = _export_or_404(request, session_id, export_id)
    return render(request, "sessions/report_export.html", {"export": export, "session": export.session})


@login_required
def report_export_download(request: HttpRequest, session_id: int, export_id: int) -> HttpResponse:
    export = _export_or_404(request, session_id, export_id)
    if export.status != ReportExport.Status.READY or not export.file:
        raise Http404("This export is not ready")
    filename = export_filename(session=export.session, fmt=export.format, paper=export.paper)
    response = FileResponse(
        export.file.open("rb"), as_attachment=True, filename=filename, content_type=FORMATS[export.format].content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
