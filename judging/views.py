"""Review pages: a queue of judgments (flagged first) and a keyboard-friendly judgment page
where reviewers override single criteria. Overrides are appended by the service; the judge's
verdict is never edited."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify

from core.errors import DomainError, NotAllowed
from judging.forms import OverrideForm
from judging.models import Judgment
from judging.selectors import judgment_effective, judgments_prefetched, rubric_spec, rubrics_for_team
from judging.services import judgment_confirm, override_create, rubric_create
from sessions.models import Answer, EvaluationSession, Question
from sessions.selectors import sessions_for_user
from sessions.views import domain_error_page, session_or_404

JUDGMENTS_PER_PAGE = 50
FILTERS = {
    "all": ("All", Q()),
    "attention": (
        "Needs attention",
        Q(flagged_for_review=True) | Q(status__in=[Judgment.Status.UNPARSEABLE, Judgment.Status.FAILED]),
    ),
    "overridden": ("Overridden", Q(n_overrides__gt=0)),
}


def _judgments_for_user(user) -> QuerySet[Judgment]:
    """Judgments of answers and probes in the user's teams' sessions (the team scope)."""
    sessions = sessions_for_user(user=user).values("pk")
    return Judgment.objects.filter(
        Q(answer__question__session__in=sessions) | Q(probe__answer__question__session__in=sessions)
    )


def _queue(queryset: QuerySet[Judgment]) -> QuerySet[Judgment]:
    """Genuine answers' judgments, the ones needing a human first."""
    return (
        queryset.filter(answer__isnull=False)
        .annotate(
            n_overrides=Count("overrides", distinct=True),
            urgency=Case(
                When(flagged_for_review=True, then=Value(0)),
                When(status__in=[Judgment.Status.UNPARSEABLE, Judgment.Status.FAILED], then=Value(1)),
                When(status=Judgment.Status.PENDING, then=Value(3)),
                default=Value(2),
                output_field=IntegerField(),
            ),
        )
        .order_by(
            "urgency",
            "-answer__question__session__created_at",
            "answer__question__conversation__position",
            "answer__question__position",
            "repeat_index",
            "pk",
        )
    )


@login_required
def review_queue(request: HttpRequest, session_id: int | None = None) -> HttpResponse:
    session = session_or_404(request, session_id) if session_id is not None else None
    queryset = _judgments_for_user(request.user)
    if session is not None:
        queryset = queryset.filter(answer__question__session=session)
    elif request.team is not None:
        queryset = queryset.filter(answer__question__session__team=request.team)
    chosen = request.GET.get("show", "all")
    if chosen not in FILTERS:
        chosen = "all"
    queryset = _queue(queryset).filter(FILTERS[chosen][1])
    queryset = judgments_prefetched(
        queryset.select_related("answer__question__session", "answer__question__conversation", "rubric")
    )
    page = Paginator(queryset, JUDGMENTS_PER_PAGE).get_page(request.GET.get("page"))
    specs: dict[int, object] = {}
    rows = []
    for judgment in page:
        if judgment.rubric_id not in specs:
            specs[judgment.rubric_id] = rubric_spec(rubric=judgment.rubric)
        _, score = judgment_effective(judgment=judgment, spec=specs[judgment.rubric_id])
        rows.append({"judgment": judgment, "score": score})
    context = {
        "session": session,
        "page": page,
        "rows": rows,
        "filters": [(key, label) for key, (label, _) in FILTERS.items()],
        "chosen": chosen,
    }
    return render(request, "judging/queue.html", context)


def _judgment_or_404(request: HttpRequest, judgment_id: int) -> Judgment:
    queryset = judgments_prefetched(
        _judgments_for_user(request.user).select_related(
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


def _history(question: Question) -> list[tuple[str, str]]:
    """The earlier turns of the question's conversation, as the generator saw them."""
    if question.given_history is not None:
        return [(q, a) for q, a in question.given_history]
    turns = []
    earlier = Question.objects.filter(conversation_id=question.conversation_id, position__lt=question.position)
    for earlier_question in earlier.order_by("position").prefetch_related("answers"):
        answers = sorted(earlier_question.answers.all(), key=lambda a: a.attempt, reverse=True)
        text = answers[0].text if answers and answers[0].status == Answer.Status.OK else "(no answer)"
        turns.append((earlier_question.text, text))
    return turns


def _neighbours(judgment: Judgment, session: EvaluationSession, user) -> tuple[int | None, int | None]:
    ids = list(_queue(_judgments_for_user(user).filter(answer__question__session=session)).values_list("pk", flat=True))
    if judgment.pk not in ids:
        return None, None
    index = ids.index(judgment.pk)
    return (ids[index - 1] if index > 0 else None), (ids[index + 1] if index + 1 < len(ids) else None)


@login_required
def judgment_review(request: HttpRequest, judgment_id: int) -> HttpResponse:
    judgment = _judgment_or_404(request, judgment_id)
    answer = judgment.answer or judgment.probe.answer
    session = answer.question.session
    spec = rubric_spec(rubric=judgment.rubric)
    membership = request.membership if request.membership and request.membership.team_id == session.team_id else None
    bound: OverrideForm | None = None
    status = 200
    if request.method == "POST":
        if membership is None or not membership.can_review:
            return domain_error_page(
                request, NotAllowed("Only reviewers and admins of the team can override verdicts.")
            )
        if request.POST.get("action") == "confirm":
            try:
                judgment_confirm(judgment=judgment, reviewer=request.user, note=request.POST.get("note", ""))
            except DomainError as exc:
                return domain_error_page(request, exc)
            messages.success(request, "Verdict confirmed: you agree with the judge.")
            return redirect("judging:judgment", judgment_id=judgment.pk)
        key = slugify(request.POST.get("criterion_key", ""))
        bound = OverrideForm(request.POST, spec=spec, auto_id=f"id_{key}_%s")
        if bound.is_valid():
            try:
                override_create(
                    judgment=judgment,
                    criterion_key=bound.cleaned_data["criterion_key"],
                    reviewer=request.user,
                    new_rating=bound.cleaned_data["new_rating"],
                    reason=bound.cleaned_data["reason"],
                )
            except DomainError as exc:
                if exc.status_code == 403:
                    return domain_error_page(request, exc)
                bound.add_error(None, exc.message)
            else:
                name = spec.criterion(bound.cleaned_data["criterion_key"]).name
                messages.success(request, f"{name} overridden to {bound.cleaned_data['new_rating']}.")
                return redirect("judging:judgment", judgment_id=judgment.pk)
        status = 400
        judgment = _judgment_or_404(request, judgment_id)

    ratings, score = judgment_effective(judgment=judgment, spec=spec)
    can_review = bool(membership and membership.can_review) and judgment.status == Judgment.Status.OK
    items = []
    for rating in ratings:
        form = None
        if can_review:
            if bound is not None and bound.data.get("criterion_key") == rating.key:
                form = bound
            else:
                form = OverrideForm(
                    initial={"criterion_key": rating.key, "new_rating": rating.rating},
                    spec=spec,
                    auto_id=f"id_{rating.key}_%s",
                )
        items.append({"rating": rating, "form": form, "criterion": spec.criterion(rating.key)})
    previous_id, next_id = _neighbours(judgment, session, request.user)
    context = {
        "judgment": judgment,
        "answer": answer,
        "probe": judgment.probe,
        "question": answer.question,
        "session": session,
        "history": _history(answer.question),
        "passages": list(answer.passages.order_by("rank")),
        "items": items,
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


# --- Rubrics --------------------------------------------------------------------------------

RUBRIC_FORM_ROWS = 8


@login_required
def rubric_list(request: HttpRequest) -> HttpResponse:
    """The rubrics the current team can use; reviewers and admins add rubrics or versions."""
    team = request.team
    if team is None:
        raise Http404("No team")
    can_define = bool(request.membership and request.membership.can_review)
    form_rows = [{"key": "", "name": "", "description": "", "weight": ""} for _ in range(RUBRIC_FORM_ROWS)]
    form = {"name": "", "instructions": ""}
    status = 200
    if request.method == "POST":
        if not can_define:
            return domain_error_page(request, NotAllowed("Only reviewers and admins of the team can define rubrics."))
        form = {"name": request.POST.get("name", "").strip(), "instructions": request.POST.get("instructions", "")}
        criteria = []
        for i in range(RUBRIC_FORM_ROWS):
            row = {f: request.POST.get(f"{f}_{i}", "").strip() for f in ("key", "name", "description", "weight")}
            form_rows[i] = row
            if any(row.values()):
                criteria.append(row)
        try:
            if not form["name"]:
                raise ValueError("Give the rubric a name.")
            if not criteria:
                raise ValueError("Add at least one criterion.")
            for row in criteria:
                if not row["key"] or not row["weight"]:
                    raise ValueError("Every criterion needs a key and a weight.")
            rubric = rubric_create(team=team, name=form["name"], criteria=criteria, instructions=form["instructions"])
        except (DomainError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", None) or str(exc))
            status = 400
        else:
            messages.success(request, f"Rubric {rubric} saved; choose it when you create a session.")
            return redirect("judging:rubrics")
    rubrics = rubrics_for_team(team=team).order_by("team_id", "name", "-version")
    return render(
        request,
        "judging/rubrics.html",
        {"rubrics": rubrics, "can_define": can_define, "form_rows": form_rows, "form": form},
        status=status,
    )
