"""PostgreSQL advisory locks: one worker at a time per conversation, judgment, judge-only session, ….

Session-level locks are released when the connection closes, so a worker killed with
SIGKILL never leaves a lock behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection

CONVERSATION = 1
JUDGMENT = 2
DOCUMENT = 3
SWEEP = 4
JUDGE_ONLY_SESSION = 5


@contextlib.contextmanager
def advisory_lock(*, namespace: int, key: int) -> Iterator[bool]:
    """Yield True when this process holds the lock, False when another one does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, key])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])
