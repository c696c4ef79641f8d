"""Session list actions: tags, archive and unarchive, delete (drafts at once, others after asking)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.errors import DomainError
from sessions.housekeeping import session_archive, session_delete, session_tags_set, tags_parse
from sessions.models import EvaluationSession
from sessions.views import domain_error_redirect, session_or_404


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or reverse("sessions:list")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("sessions:list")
    return target


def _list_action(request: HttpRequest, session_id: int, action) -> HttpResponse:
    """Run `action(session)` (it returns what to tell the user) and go back to the list."""
    session = session_or_404(request, session_id)
    try:
        done = action(session)
    except DomainError as exc:
        return domain_error_redirect(request, exc, _back(request))
    messages.success(request, done)
    return redirect(_back(request))


@login_required
@require_POST
def session_tags_view(request: HttpRequest, session_id: int) -> HttpResponse:
    def tag(session: EvaluationSession) -> str:
        tags = tags_parse(text=request.POST.get("tags", ""))
        session_tags_set(session=session, user=request.user, tags=tags)
        return f"Tags of {session.name}: {', '.join(tags) or 'none'}."

    return _list_action(request, session_id, tag)


@login_required
@require_POST
def session_archive_view(request: HttpRequest, session_id: int) -> HttpResponse:
    archived = request.POST.get("archived", "1") != "0"

    def archive(session: EvaluationSession) -> str:
        session_archive(session=session, user=request.user, archived=archived)
        return f"{session.name} {'archived' if archived else 'is back in the list'}."

    return _list_action(request, session_id, archive)


@login_required
def session_delete_view(request: HttpRequest, session_id: int) -> HttpResponse:
    """GET asks (a session with results); POST deletes. A draft goes at once on POST."""
    session = session_or_404(request, session_id)
    is_draft = session.status == EvaluationSession.Status.DRAFT
    if request.method != "POST":
        return render(request, "sessions/session_delete.html", {"session": session})
    try:
        session_delete(session=session, user=request.user, confirmed=is_draft or request.POST.get("confirm") == "yes")
    except DomainError as exc:
        if exc.status_code == 409 and not is_draft and request.POST.get("confirm") != "yes":
            return redirect("sessions:delete", session_id=session.pk)
        return domain_error_redirect(request, exc, reverse("sessions:list"))
    messages.success(request, f"Deleted {session.name}.")
    return redirect("sessions:list")
