"""Experiments compared side by side, and a corpus's score trend over time."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from corpora.models import Corpus
from corpora.selectors import corpus_get_for_user
from sessions.experiments import MAX_SESSIONS, experiment_compare
from sessions.selectors import sessions_for_user
from sessions.trends import corpus_trend, trend_svg

ROW_FILTERS = {"all": "All questions", "changed": "Changed", "better": "Better", "worse": "Worse"}


@login_required
def experiment_page(request: HttpRequest) -> HttpResponse:
    try:
        ids = list(dict.fromkeys(int(value) for value in request.GET.getlist("ids")))
    except ValueError as exc:
        raise Http404("Bad session id") from exc
    error = None
    experiment = None
    if len(ids) < 2:
        error = "Pick two or more sessions to compare (tick them in the session list)."
    elif len(ids) > MAX_SESSIONS:
        error = f"Compare at most {MAX_SESSIONS} sessions at once."
    else:
        sessions = list(sessions_for_user(user=request.user).filter(pk__in=ids))
        if len(sessions) != len(ids):
            raise Http404("No such session")
        if len({s.team_id for s in sessions}) > 1:
            error = "These sessions belong to different teams; compare sessions of one team."
        else:
            experiment = experiment_compare(sessions=sessions)
            if not experiment.shared_count:
                error = "These sessions share no questions (matched by question text within a conversation)."
    show = request.GET.get("show", "all")
    if show not in ROW_FILTERS:
        show = "all"
    rows = []
    if experiment is not None:
        rows = [row for row in experiment.rows if show == "all" or getattr(row, show)]
    context = {
        "experiment": experiment,
        "rows": rows,
        "error": error,
        "show": show,
        "row_filters": ROW_FILTERS.items(),
        "ids": ids,
    }
    return render(request, "sessions/experiment.html", context, status=400 if error else 200)


def _corpus_or_404(request: HttpRequest, corpus_id: int) -> Corpus:
    try:
        return corpus_get_for_user(user=request.user, corpus_id=corpus_id)
    except Corpus.DoesNotExist as exc:
        raise Http404("No such corpus") from exc


@login_required
def corpus_trend_page(request: HttpRequest, corpus_id: int) -> HttpResponse:
    corpus = _corpus_or_404(request, corpus_id)
    points = corpus_trend(user=request.user, corpus=corpus)
    context = {
        "corpus": corpus,
        "points": points,
        "svg": trend_svg(points=points),
        "has_auroc": any(p.auroc is not None for p in points),
    }
    return render(request, "sessions/trend.html", context)


@login_required
def corpus_trend_svg(request: HttpRequest, corpus_id: int) -> HttpResponse:
    corpus = _corpus_or_404(request, corpus_id)
    svg = trend_svg(points=corpus_trend(user=request.user, corpus=corpus), standalone=True)
    return HttpResponse(svg, content_type="image/svg+xml")
