"""Review pages: a queue of judgments (flagged first) and a keyboard-friendly judgment page
where reviewers override single criteria. Overrides are appended by the service; the judge's
verdict is never edited."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from core.errors import DomainError, NotAllowed
from core.views import domain_error_page
from judging.forms import QueueFilterForm, RatingsForm
from judging.models import Judgment
from judging.probes import STRATEGY_LABELS
from judging.reviews import judgment_ratings_save
from judging.selectors import judgment_effective, judgments_prefetched, rubric_spec, rubrics_for_team
from judging.services import judgment_confirm
from sessions.models import EvaluationSession
from sessions.review_queue import KINDS, SORTS, QueueFilters, State, judgments_for_user
from sessions.review_queue import review_queue as review_queue_select
from sessions.selectors import sessions_for_user
from sessions.views import session_or_404

JUDGMENTS_PER_PAGE = 50
# Old links (``?show=attention``) keep working.
LEGACY_SHOW = {"attention": {"state": State.ATTENTION, "kind": "all"}, "overridden": {"state": State.OVERRIDDEN}}


def _queue_form(request: HttpRequest, team, session: EvaluationSession | None) -> QueueFilterForm:
    data = request.GET.copy()
    for key, value in LEGACY_SHOW.get(data.get("show", ""), {}).items():
        data.setdefault(key, value)
    if session is not None:
        data["session"] = str(session.pk)
    rubrics = list(rubrics_for_team(team=team))
    criteria = sorted({(c.key, c.name) for r in rubrics for c in r.criteria.all()}, key=lambda c: c[1])
    ratings = list(dict.fromkeys(level["label"] for r in rubrics for level in r.scale))
    strategies = [(f"probe:{key}", f"Probe: {label}") for key, label in STRATEGY_LABELS.items()]
    return QueueFilterForm(
        data,
        sessions=sessions_for_user(user=request.user).filter(team=team).select_related(None).only("pk", "name")[:300],
        criteria=criteria,
        ratings=ratings,
        kinds=[*KINDS, *strategies],
        states=State.CHOICES,
        sorts=[(key, label) for key, (label, _) in SORTS.items()],
    )


@login_required
def review_queue(request: HttpRequest, session_id: int | None = None) -> HttpResponse:
    session = session_or_404(request, session_id) if session_id is not None else None
    team = session.team if session is not None else request.team
    if team is None:
        raise Http404("You are not in a team.")
    form = _queue_form(request, team, session)
    form.is_valid()
    data = form.cleaned_data
    filters = QueueFilters(
        session_id=data.get("session"),
        kind=data.get("kind") or "genuine",
        criterion=data.get("criterion") or "",
        rating=data.get("rating") or "",
        state=data.get("state") or "",
        search=(data.get("q") or "").strip(),
        since_days=data.get("since"),
        sort=data.get("sort") or "urgency",
    )
    queryset = review_queue_select(user=request.user, team=team, filters=filters).select_related(
        "answer__question__session",
        "answer__question__conversation",
        "probe__answer__question__session",
        "probe__answer__question__conversation",
    )
    page = Paginator(queryset, JUDGMENTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = []
    for judgment in page:
        question = (judgment.answer or judgment.probe.answer).question
        label = STRATEGY_LABELS.get(judgment.probe.strategy, judgment.probe.strategy) if judgment.probe_id else ""
        rows.append({"judgment": judgment, "question": question, "score": judgment.effective_score, "probe": label})
    context = {"session": session, "page": page, "rows": rows, "form": form, "filters": filters}
    return render(request, "judging/queue.html", context)


def _judgment_or_404(request: HttpRequest, judgment_id: int) -> Judgment:
    queryset = judgments_prefetched(
        judgments_for_user(user=request.user).select_related(
            "rubric",
            "answer__question__session__team",
            "answer__question__conversation",
            "probe__answer__question__session__team",
            "probe__answer__question__conversation",
        )
    )
    try:
        return queryset.get(pk=judgment_id)
    except Judgment.DoesNotExist as exc:
        raise Http404("No such judgment") from exc


def _neighbours(judgment: Judgment, session: EvaluationSession, user) -> tuple[int | None, int | None]:
    filters = QueueFilters(session_id=session.pk)
    ids = list(review_queue_select(user=user, team=session.team, filters=filters).values_list("pk", flat=True))
    if judgment.pk not in ids:
        return None, None
    index = ids.index(judgment.pk)
    return (ids[index - 1] if index > 0 else None), (ids[index + 1] if index + 1 < len(ids) else None)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _ratings_json(judgment: Judgment, spec, message: str) -> JsonResponse:
    ratings, score = judgment_effective(judgment=judgment, spec=spec)
    return JsonResponse(
        {
            "ok": True,
            "message": message,
            "score": None if score is None else str(score),
            "ratings": [
                {"key": r.key, "rating": r.rating, "judge_rating": r.judge_rating, "overridden": r.overridden}
                for r in ratings
            ],
        }
    )


@login_required
def judgment_review(request: HttpRequest, judgment_id: int) -> HttpResponse:
    """The judgment page. A POST rates any number of criteria with one reason (one save);
    sent with ``Accept: application/json`` (the page's script) it answers JSON, no reload."""
    judgment = _judgment_or_404(request, judgment_id)
    answer = judgment.answer or judgment.probe.answer
    session = answer.question.session
    spec = rubric_spec(rubric=judgment.rubric)
    membership = request.membership if request.membership and request.membership.team_id == session.team_id else None
    bound: RatingsForm | None = None
    status = 200
    if request.method == "POST":
        if membership is None or not membership.can_review:
            error = NotAllowed("Only reviewers and admins of the team can override verdicts.")
            if _wants_json(request):
                return JsonResponse({"ok": False, "errors": [error.message]}, status=403)
            return domain_error_page(request, error)
        if request.POST.get("action") == "confirm":
            try:
                judgment_confirm(judgment=judgment, reviewer=request.user, note=request.POST.get("note", ""))
            except DomainError as exc:
                return domain_error_page(request, exc)
            messages.success(request, "Verdict confirmed: you agree with the judge.")
            return redirect("judging:judgment", judgment_id=judgment.pk)
        data = request.POST.copy()
        if data.get("criterion_key"):  # one criterion, as the API and older pages send it
            data[f"rating_{data['criterion_key']}"] = data.get("new_rating", "")
        bound = RatingsForm(data, spec=spec)
        if bound.is_valid():
            try:
                overrides = judgment_ratings_save(
                    judgment=judgment,
                    reviewer=request.user,
                    ratings=bound.ratings(),
                    reason=bound.cleaned_data["reason"],
                )
            except DomainError as exc:
                if exc.status_code == 403:
                    return domain_error_page(request, exc)
                bound.add_error(None, exc.message)
            else:
                names = ", ".join(f"{spec.criterion(o.criterion.key).name} → {o.new_rating}" for o in overrides)
                message = f"Saved: {names}."
                if _wants_json(request):
                    return _ratings_json(_judgment_or_404(request, judgment_id), spec, message)
                messages.success(request, message)
                return redirect("judging:judgment", judgment_id=judgment.pk)
        if _wants_json(request):
            errors = [e for field_errors in bound.errors.values() for e in field_errors]
            return JsonResponse({"ok": False, "errors": errors}, status=400)
        status = 400
        judgment = _judgment_or_404(request, judgment_id)

    ratings, score = judgment_effective(judgment=judgment, spec=spec)
    can_review = bool(membership and membership.can_review) and judgment.status == Judgment.Status.OK
    form = bound if bound is not None else RatingsForm(spec=spec) if can_review else None
    if form is not None and bound is None:
        for rating in ratings:
            form.fields[f"rating_{rating.key}"].initial = rating.rating
    items = [
        {
            "rating": rating,
            "criterion": spec.criterion(rating.key),
            "select": form.select(rating.key) if can_review else None,
        }
        for rating in ratings
    ]
    previous_id, next_id = _neighbours(judgment, session, request.user)
    context = {
        "judgment": judgment,
        "answer": answer,
        "probe": judgment.probe,
        "question": answer.question,
        "session": session,
        "history": answer.history,
        "passages": list(answer.passages.order_by("rank")),
        "items": items,
        "form": form if can_review else None,
        "score": score,
        "can_review": can_review,
        "is_member_only": membership is not None and not membership.can_review,
        # Keys 1..n pick a rating, 1 the lowest: the number grows with the points.
        "scale_keys": [(index + 1, level) for index, level in enumerate(reversed(spec.levels_best_first()))],
        "scale_labels": [level.label for level in reversed(spec.levels_best_first())],
        "form_errors": bound.non_field_errors() if bound is not None else None,
        "confirmations": list(judgment.confirmations.select_related("reviewer")),
        "confirmed_by_me": judgment.confirmations.filter(reviewer=request.user).exists(),
        "previous_id": previous_id,
        "next_id": next_id,
    }
    return render(request, "judging/judgment.html", context, status=status)
