from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify

from accounts.models import Membership, Team
from core.errors import Conflict, InvalidInput, NotAllowed, NotFound


@transaction.atomic
def team_create(*, name: str, slug: str | None = None) -> Team:
    team, _ = Team.objects.get_or_create(slug=slug or slugify(name), defaults={"name": name})
    return team


@transaction.atomic
def membership_grant(*, team: Team, user, role: str = Membership.Role.MEMBER) -> Membership:
    membership, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def user_ensure(*, username: str, password: str, email: str = "") -> object:
    """Create the user if missing; (re)set the password. Used by the demo and tests."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


# --- Team management: a team's admins add, remove and re-role members ----------------------
#
# Every function here checks that `actor` is an admin of `team` before it writes, so a page
# or endpoint that forgets its own check still cannot let a member manage the team. A team
# always keeps at least one admin.


@dataclass(frozen=True)
class MemberAdded:
    membership: Membership
    created_account: bool
    # Set for a new account: where its owner chooses a password (one use, expires after
    # PASSWORD_RESET_TIMEOUT). Relative to the site root.
    set_password_path: str | None
    mailed: bool


def team_admin_check(*, team: Team, actor) -> None:
    membership = Membership.objects.filter(team=team, user_id=actor.pk).first() if actor.is_authenticated else None
    if membership is None or membership.role != Membership.Role.ADMIN:
        raise NotAllowed("Only the team's admins can manage its members.")


def set_password_path(*, user) -> str:
    """A one-time link for a user to choose a password (Django's password-reset token: it
    stops working once the password is set or after PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("accounts:set_password", kwargs={"uidb64": uid, "token": token})


def _role(role: str) -> str:
    if role not in Membership.Role.values:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(Membership.Role.values)}.")
    return role


def member_add(
    *, team: Team, actor, username: str, email: str = "", role: str = Membership.Role.MEMBER, site_url: str = ""
) -> MemberAdded:
    """Add an existing user to the team, or create the account with a set-password link.

    The link is returned for the admin to pass on, and mailed to `email` when one is given and
    mail is configured (EMAIL_URL; Django's email backend); `site_url` makes it absolute.
    """
    team_admin_check(team=team, actor=actor)
    role = _role(role)
    username = (username or "").strip()
    email = (email or "").strip()
    if not username:
        raise InvalidInput("Give the new member a username.")
    User = get_user_model()
    try:
        User._meta.get_field("username").run_validators(username)
        if email:
            validate_email(email)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages)) from exc
    with transaction.atomic():
        user = User.objects.filter(username__iexact=username).first()
        created = user is None
        if created:
            user = User(username=username, email=email)
            user.set_unusable_password()
            user.save()
        elif Membership.objects.filter(team=team, user=user).exists():
            raise Conflict(f"{user.get_username()} is already in {team.name}.")
        membership = Membership.objects.create(team=team, user=user, role=role)
    path = set_password_path(user=user) if created else None
    mailed = False
    if path and email and settings.EMAIL_CONFIGURED:
        mailed = _invite_mail(user=user, team=team, actor=actor, url=f"{site_url}{path}")
    return MemberAdded(membership=membership, created_account=created, set_password_path=path, mailed=mailed)


def _invite_mail(*, user, team: Team, actor, url: str) -> bool:
    subject = f"You have been added to {team.name} on Assay"
    body = (
        f"{actor.get_username()} added you to the team {team.name} on Assay as {user.get_username()}.\n\n"
        f"Choose your password here (the link works once): {url}\n"
    )
    try:
        return bool(send_mail(subject, body, None, [user.email]))
    except OSError:  # no mail server: the admin still has the link on the page
        return False


def member_password_link(*, team: Team, actor, user_id: int) -> str:
    """A new set-password link for a member who has not chosen a password yet.

    Refused for accounts with a password: an admin of one team must not be able to take
    over an account that may belong to other teams too.
    """
    team_admin_check(team=team, actor=actor)
    membership = _membership(team=team, user_id=user_id)
    if membership.user.has_usable_password():
        raise Conflict(f"{membership.user.get_username()} has already chosen a password.")
    return set_password_path(user=membership.user)


def _membership(*, team: Team, user_id: int) -> Membership:
    membership = Membership.objects.select_related("user").filter(team=team, user_id=user_id).first()
    if membership is None:
        raise NotFound("No such member in this team.")
    return membership


def _keep_an_admin(*, team: Team, leaving: Membership) -> None:
    if leaving.role == Membership.Role.ADMIN and not (
        Membership.objects.filter(team=team, role=Membership.Role.ADMIN).exclude(pk=leaving.pk).exists()
    ):
        raise Conflict("A team needs at least one admin: make someone else admin first.")


def member_role_set(*, team: Team, actor, user_id: int, role: str) -> Membership:
    team_admin_check(team=team, actor=actor)
    role = _role(role)
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)  # one role change at a time per team
        membership = _membership(team=team, user_id=user_id)
        if role != Membership.Role.ADMIN:
            _keep_an_admin(team=team, leaving=membership)
        if membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
    return membership


def member_remove(*, team: Team, actor, user_id: int) -> None:
    """Take a user out of the team (the account stays; it may belong to other teams)."""
    team_admin_check(team=team, actor=actor)
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)
        membership = _membership(team=team, user_id=user_id)
        _keep_an_admin(team=team, leaving=membership)
        membership.delete()


@transaction.atomic
def team_bootstrap(*, name: str, admin_username: str, email: str = "") -> tuple[Team, object, str | None]:
    """The first team and its admin, from the shell (`manage.py team_create`): no actor to check.

    Returns the team, the admin user and, when the account is new, its set-password path.
    """
    team = team_create(name=name)
    User = get_user_model()
    user = User.objects.filter(username__iexact=admin_username).first()
    path = None
    if user is None:
        user = User(username=admin_username, email=email)
        user.set_unusable_password()
        user.save()
        path = set_password_path(user=user)
    membership_grant(team=team, user=user, role=Membership.Role.ADMIN)
    return team, user, path
