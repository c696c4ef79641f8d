"""Session pages: list, create (draft with an estimate, then start), live detail with the report."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.views import domain_error_redirect
from judging.selectors import rubrics_for_team
from llm.types import Provider
from sessions.forms import SessionCreateForm, SessionListFilterForm
from sessions.listing import SORTS as LIST_SORTS
from sessions.listing import SessionFilters, session_filter_choices, sessions_list
from sessions.models import EvaluationSession
from sessions.reports.data import report_context
from sessions.reports.exports import download_options
from sessions.selectors import (
    dashboard_summary,
    session_comparison,
    session_list_rows,
    session_progress,
    session_report,
    sessions_for_user,
)
from sessions.services import (
    session_cancel,
    session_create,
    session_rejudge,
    session_resume,
    session_start,
)
from sessions.sweep import session_is_stalled

SESSIONS_PER_PAGE = 20


def session_or_404(request: HttpRequest, session_id: int) -> EvaluationSession:
    """Team-scoped lookup: another team's session is indistinguishable from a missing one."""
    try:
        return sessions_for_user(user=request.user).get(pk=session_id)
    except EvaluationSession.DoesNotExist as exc:
        raise Http404("No such session") from exc


# --- Pages -----------------------------------------------------------------------------------


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    summary = dashboard_summary(team=request.team) if request.team else None
    return render(request, "core/dashboard.html", {"summary": summary})


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    if request.team is None:
        return render(request, "sessions/session_list.html", {"rows": [], "page": None})
    form = SessionListFilterForm(
        request.GET,
        choices=session_filter_choices(user=request.user, team=request.team),
        sorts=[(key, label) for key, (label, _) in LIST_SORTS.items()],
    )
    form.is_valid()
    data = form.cleaned_data
    filters = SessionFilters(
        search=(data.get("q") or "").strip(),
        status=data.get("status") or "",
        corpus_id=data.get("corpus"),
        judge=data.get("judge") or "",
        creator_id=data.get("creator"),
        tag=data.get("tag") or "",
        archived=bool(data.get("archived")),
        sort=data.get("sort") or "newest",
    )
    queryset = sessions_list(user=request.user, team=request.team, filters=filters)
    page = Paginator(queryset, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"session": s, "percent": percent, "mean": mean} for s, percent, mean in session_list_rows(sessions=page)]
    filtered = any(key in request.GET for key in ("q", "status", "corpus", "judge", "creator", "tag", "archived"))
    return render(
        request,
        "sessions/session_list.html",
        {"page": page, "rows": rows, "form": form, "filters": filters, "filtered": filtered},
    )


@login_required
def session_new(request: HttpRequest) -> HttpResponse:
    if request.team is None:
        raise Http404("You are not in a team.")
    form = SessionCreateForm(request.POST or None, request.FILES or None, team=request.team, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = session_create(
                team=request.team,
                user=request.user,
                corpus=data["corpus"],
                name=data["name"],
                conversations=data["conversations"],
                settings=form.to_settings(),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.info(request, "Draft created. Check the estimate, then start the session.")
            return redirect(session.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    return render(request, "sessions/session_form.html", {"form": form}, status=status)


@login_required
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_or_404(request, session_id)
    report = session_report(session=session)
    context = {
        **report_context(report, chart_format="svg"),
        "downloads": download_options(session=session, questions=report.totals["questions"]),
        "progress": session_progress(session=session),
        "can_review": bool(request.membership and request.membership.team_id == session.team_id)
        and request.membership.can_review,
        "stalled": session.is_active and session_is_stalled(session=session),
        "rubrics": rubrics_for_team(team=session.team).order_by("-is_default", "name", "-version")
        if session.is_finished
        else [],
    }
    return render(request, "sessions/session_detail.html", context)


@never_cache
@login_required
def session_progress_json(request: HttpRequest, session_id: int) -> JsonResponse:
    session = session_or_404(request, session_id)
    return JsonResponse(session_progress(session=session).to_dict())


def _life_cycle_action(request: HttpRequest, session_id: int, action, done: str) -> HttpResponse:
    """Start, cancel or resume: run the service, say what happened, back to the session."""
    session = session_or_404(request, session_id)
    try:
        action(session)
    except DomainError as exc:
        return domain_error_redirect(request, exc, session.get_absolute_url())
    messages.success(request, done)
    return redirect(session.get_absolute_url())


@require_POST
@login_required
def session_start_view(request: HttpRequest, session_id: int) -> HttpResponse:
    return _life_cycle_action(request, session_id, lambda s: session_start(session=s), "Session started.")


@require_POST
@login_required
def session_cancel_view(request: HttpRequest, session_id: int) -> HttpResponse:
    return _life_cycle_action(
        request,
        session_id,
        lambda s: session_cancel(session=s, reason=f"Cancelled by {request.user.get_username()}."),
        "Session cancelled. Work already done is kept; resume redoes only what is unfinished.",
    )


@require_POST
@login_required
def session_resume_view(request: HttpRequest, session_id: int) -> HttpResponse:
    return _life_cycle_action(
        request,
        session_id,
        lambda s: session_resume(session=s),
        "Session resumed: only unfinished or failed work runs again.",
    )


@require_POST
@login_required
def session_rejudge_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_or_404(request, session_id)
    detail = reverse("sessions:detail", args=[session.pk])
    provider = request.POST.get("judge_provider") or None
    if provider not in (None, *Provider):
        messages.error(request, "Choose the offline or the OpenAI-compatible judge.")
        return redirect(detail)
    rubric = rubrics_for_team(team=session.team).filter(pk=request.POST.get("rubric") or session.rubric_id).first()
    if rubric is None:
        messages.error(request, "That rubric is not available to this team.")
        return redirect(detail)
    try:
        rejudge = session_rejudge(
            session=session,
            user=request.user,
            judge_provider=provider,
            judge_model=(request.POST.get("judge_model") or "").strip(),
            rubric=rubric,
        )
    except DomainError as exc:
        return domain_error_redirect(request, exc, detail)
    messages.success(request, f"Re-judging {session.name}; the comparison fills in as verdicts arrive.")
    return redirect(reverse("sessions:compare", args=[rejudge.pk]))


@login_required
def session_compare(request: HttpRequest, session_id: int) -> HttpResponse:
    rejudge = session_or_404(request, session_id)
    if rejudge.rejudge_of_id is None or not sessions_for_user(user=request.user).filter(pk=rejudge.rejudge_of_id):
        raise Http404("Not a re-judge")
    comparison = session_comparison(rejudge=rejudge)
    return render(
        request,
        "sessions/compare.html",
        {"comparison": comparison, "progress": session_progress(session=rejudge), "session": rejudge},
    )
