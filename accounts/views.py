from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.middleware import SESSION_KEY
from accounts.selectors import teams_for_user


@login_required
@require_POST
def team_switch(request: HttpRequest) -> HttpResponse:
    team = get_object_or_404(teams_for_user(user=request.user), pk=request.POST.get("team"))
    request.session[SESSION_KEY] = team.pk
    messages.info(request, f"Switched to {team.name}.")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)
