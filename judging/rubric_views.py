"""Rubric pages: the rubrics a team can use; reviewers and admins define new ones."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from core.errors import DomainError, NotAllowed
from core.views import domain_error_page
from judging.selectors import rubrics_for_team
from judging.services import rubric_create

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
