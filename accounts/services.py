from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.text import slugify

from accounts.models import Membership, Team


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
