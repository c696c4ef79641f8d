"""Helpers shared by the management commands."""

from django.core.management.base import CommandError

from accounts.models import Team
from accounts.selectors import team_by_slug_or_name


def team_lookup(value: str) -> Team:
    team = team_by_slug_or_name(value=value)
    if team is None:
        raise CommandError(f"No team with slug or name {value!r}.")
    return team
