"""Submissions from API clients: a session created and started in one step, and batches.

A batch is a session plus the ``Idempotency-Key`` its client sent. The key is unique per
team in the database, so two concurrent requests with one key cannot both create a
session: the second one's insert waits for the first to commit, fails, and the caller
gets the first batch back (a replay) or a conflict (the key reused for another body).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from accounts.models import Team
from core.errors import Conflict, InvalidInput
from corpora.models import Corpus
from sessions.models import Batch, EvaluationSession
from sessions.question_files import ConversationInput
from sessions.services import session_create, session_create_judge_only, session_start
from sessions.session_settings import SessionSettings

MAX_IDEMPOTENCY_KEY = 255


@transaction.atomic
def session_submit(
    *,
    team: Team,
    user: AbstractBaseUser,
    corpus: Corpus,
    name: str,
    conversations: list[ConversationInput],
    settings: SessionSettings,
    start: bool = True,
) -> EvaluationSession:
    """Create a session of questions and (unless ``start`` is false) start it.

    Work is enqueued when the transaction commits, so a failure leaves nothing behind.
    """
    session = session_create(
        team=team,
        user=user,
        corpus=corpus,
        name=name,
        conversations=conversations,
        settings=settings,
    )
    if start:
        session = session_start(session=session)
    return session


def request_fingerprint(body: object) -> str:
    """A stable hash of a JSON request body (key order and whitespace do not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class BatchRequest:
    kind: str
    name: str = ""
    settings: SessionSettings = field(default_factory=SessionSettings)
    # kind "questions"
    corpus: Corpus | None = None
    conversations: list[ConversationInput] = field(default_factory=list)
    # kind "answers": {question, answer, context, history?, conversation?}
    items: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class BatchOutcome:
    batch: Batch
    created: bool  # False: a replay of an earlier request with the same key


def batch_submit(
    *, team: Team, user: AbstractBaseUser, request: BatchRequest, fingerprint: str, idempotency_key: str = ""
) -> BatchOutcome:
    """Create and start the batch's session, or return the batch an earlier request made.

    Same key and same fingerprint: the original batch, nothing new is created. Same key,
    different fingerprint: ``Conflict``. Keys are scoped to the team.
    """
    key = (idempotency_key or "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(f"The Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} characters.")
    if key:
        existing = _batch_for_key(team=team, key=key)
        if existing is not None:
            return _replay(existing, fingerprint=fingerprint)
    try:
        with transaction.atomic():
            session = _create_session(team=team, user=user, request=request)
            batch = Batch.objects.create(
                team=team,
                created_by=user if getattr(user, "is_authenticated", False) else None,
                kind=request.kind,
                session=session,
                idempotency_key=key,
                request_hash=fingerprint,
                item_count=_item_count(request),
            )
            session_start(session=session)
    except IntegrityError:
        # A concurrent request with the same key committed first (its insert held the key).
        existing = _batch_for_key(team=team, key=key) if key else None
        if existing is None:
            raise
        return _replay(existing, fingerprint=fingerprint)
    return BatchOutcome(batch=batch, created=True)


def _batch_for_key(*, team: Team, key: str) -> Batch | None:
    return Batch.objects.select_related("session").filter(team=team, idempotency_key=key).first()


def _replay(batch: Batch, *, fingerprint: str) -> BatchOutcome:
    if batch.request_hash != fingerprint:
        raise Conflict(
            f"The Idempotency-Key {batch.idempotency_key!r} was already used for batch {batch.pk} with a "
            "different request body. Send the same body to get that batch back, or use a new key."
        )
    return BatchOutcome(batch=batch, created=False)


def _item_count(request: BatchRequest) -> int:
    if request.kind == Batch.Kind.ANSWERS:
        return len(request.items)
    return sum(len(c.questions) for c in request.conversations)


def _create_session(*, team: Team, user: AbstractBaseUser, request: BatchRequest) -> EvaluationSession:
    if request.kind == Batch.Kind.QUESTIONS:
        if request.corpus is None:
            raise InvalidInput("A batch of questions needs a corpus.")
        return session_create(
            team=team,
            user=user,
            corpus=request.corpus,
            name=request.name or "API batch",
            conversations=request.conversations,
            settings=request.settings,
        )
    if request.kind == Batch.Kind.ANSWERS:
        return session_create_judge_only(
            team=team,
            user=user,
            name=request.name or "Judge-only batch",
            items=request.items,
            settings=request.settings,
        )
    raise InvalidInput(f"Unknown batch kind {request.kind!r}; use 'questions' or 'answers'.")
