"""Keeping a team's session list tidy: tags, archive, delete.

Invariants: a running or queued session is never deleted (cancel it first); a draft, which
holds no results, is deleted without a confirmation step; any other session only with
``confirmed=True`` (the page asks first). Only its creator or a team admin deletes a session;
any member of the team tags and archives. Deleting a session removes its answers, verdicts
and overrides with it: they belong to nothing else.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from accounts.selectors import membership_for
from core.errors import Conflict, InvalidInput, NotAllowed
from sessions.models import EvaluationSession

MAX_TAGS = 12
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,39}$")


def tags_parse(*, text: str) -> list[str]:
    """ "Baseline, GPT 4o  week-12" → ["baseline", "gpt-4o", "week-12"] (comma-separated;
    spaces inside a tag become dashes). Raises InvalidInput with the offending tag."""
    tags: list[str] = []
    for raw in text.split(","):
        tag = re.sub(r"\s+", "-", raw.strip().lower())
        if not tag:
            continue
        if not TAG_PATTERN.match(tag):
            raise InvalidInput(
                f"Tag {raw.strip()!r}: up to 40 letters, digits, '-', '_', '.' or ':', starting with a letter or digit."
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"At most {MAX_TAGS} tags per session.")
    return tags


def _member(*, session: EvaluationSession, user) -> Membership:
    membership = membership_for(user=user, team=session.team_id)
    if membership is None:
        raise NotAllowed("Only members of the session's team can change it.")
    return membership


def session_tags_set(*, session: EvaluationSession, user, tags: list[str]) -> EvaluationSession:
    _member(session=session, user=user)
    session.tags = tags
    session.save(update_fields=["tags"])
    return session


def session_archive(*, session: EvaluationSession, user, archived: bool = True) -> EvaluationSession:
    """Hide a session from the list (or bring it back). Its report and results stay."""
    _member(session=session, user=user)
    if archived and session.is_active:
        raise Conflict("A running session cannot be archived: cancel it or wait until it finishes.")
    session.archived_at = timezone.now() if archived else None
    session.save(update_fields=["archived_at"])
    return session


def session_delete(*, session: EvaluationSession, user, confirmed: bool = False) -> None:
    membership = _member(session=session, user=user)
    if session.created_by_id != user.pk and membership.role != Membership.Role.ADMIN:
        raise NotAllowed("Only the session's creator or a team admin can delete it.")
    with transaction.atomic():
        locked = EvaluationSession.objects.select_for_update().get(pk=session.pk)
        if locked.is_active:
            raise Conflict("The session is running: cancel it before deleting it.")
        if locked.status != EvaluationSession.Status.DRAFT and not confirmed:
            raise Conflict("Deleting a session with results needs a confirmation.")
        locked.delete()
