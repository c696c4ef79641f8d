from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.forms import MemberAddForm, MemberRoleForm
from accounts.middleware import SESSION_KEY
from accounts.models import Membership
from accounts.selectors import team_members, teams_for_user
from accounts.services import member_add, member_password_link, member_remove, member_role_set
from core.errors import DomainError


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


def _site_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@login_required
def team_members_page(request: HttpRequest) -> HttpResponse:
    """Who is in the current team; its admins add members, change roles and remove members."""
    team = request.team
    if team is None:
        raise Http404("You are not in a team.")
    form = MemberAddForm()
    status = 200
    new_link = None
    if request.method == "POST":
        form = MemberAddForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                added = member_add(team=team, actor=request.user, site_url=_site_url(request), **form.cleaned_data)
            except DomainError as exc:
                if exc.status_code == 403:
                    return _refused(request, exc)
                form.add_error(None, exc.message)
            else:
                name = added.membership.user.get_username()
                if added.set_password_path is None:
                    messages.success(request, f"{name} joined {team.name} as {added.membership.get_role_display()}.")
                    return redirect("accounts:team")
                # The link is a secret: shown on this response only, never stored in a message.
                new_link = {"user": name, "url": request.build_absolute_uri(added.set_password_path)}
                new_link["mailed_to"] = added.membership.user.email if added.mailed else ""
                form, status = MemberAddForm(), 201
    return _team_page(request, form=form, new_link=new_link, status=status)


def _team_page(request: HttpRequest, *, form: MemberAddForm, new_link: dict | None, status: int = 200) -> HttpResponse:
    context = {
        "team": request.team,
        "members": team_members(team=request.team),
        "is_admin": request.membership.role == Membership.Role.ADMIN,
        "form": form,
        "roles": Membership.Role.choices,
        "new_link": new_link,
    }
    return render(request, "accounts/team.html", context, status=status)


def _refused(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return render(request, "sessions/error.html", {"error": exc, "status": exc.status_code}, status=exc.status_code)


def _member_action(request: HttpRequest, action, done: str) -> HttpResponse:
    if request.team is None:
        raise Http404("You are not in a team.")
    try:
        result = action(request.team)
    except DomainError as exc:
        if exc.status_code in (403, 404):
            return _refused(request, exc)
        messages.error(request, exc.message)
        return redirect("accounts:team")
    messages.success(request, done.format(result=result))
    return redirect("accounts:team")


@login_required
@require_POST
def team_member_role(request: HttpRequest, user_id: int) -> HttpResponse:
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: member, reviewer or admin.")
        return redirect("accounts:team")
    return _member_action(
        request,
        lambda team: member_role_set(team=team, actor=request.user, user_id=user_id, role=form.cleaned_data["role"]),
        "{result.user} is now {result.role}.",
    )


@login_required
@require_POST
def team_member_remove(request: HttpRequest, user_id: int) -> HttpResponse:
    return _member_action(
        request, lambda team: member_remove(team=team, actor=request.user, user_id=user_id), "Member removed."
    )


@login_required
@require_POST
def team_member_link(request: HttpRequest, user_id: int) -> HttpResponse:
    if request.team is None:
        raise Http404("You are not in a team.")
    try:
        path = member_password_link(team=request.team, actor=request.user, user_id=user_id)
    except DomainError as exc:
        if exc.status_code in (403, 404):
            return _refused(request, exc)
        messages.error(request, exc.message)
        return redirect("accounts:team")
    member = team_members(team=request.team).get(user_id=user_id)
    new_link = {"user": member.user.get_username(), "url": request.build_absolute_uri(path), "mailed_to": ""}
    return _team_page(request, form=MemberAddForm(), new_link=new_link)


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The one-time link of a new account: choose a password, then log in."""

    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False

    def form_valid(self, form):
        messages.success(self.request, "Password set. Log in with it now.")
        return super().form_valid(form)
