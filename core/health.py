"""Liveness of the three things Assay needs (database, broker, at least one worker) and
whether work is flowing (no stalled session)."""

from __future__ import annotations

import time

from django.db import connection


def check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - reported, not raised: this is a health probe
        return {"ok": False, "error": str(exc)[:300]}
    return {
        "ok": True,
        "pgvector": row[0] if row else None,
        "latency_ms": round((time.monotonic() - started) * 1000, 1),
    }


def check_broker() -> dict:
    from config.celery_app import app

    started = time.monotonic()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc)[:300]}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def check_workers(*, timeout: float = 1.0) -> dict:
    from config.celery_app import app

    try:
        replies = app.control.ping(timeout=timeout) or []
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "count": 0, "error": str(exc)[:300]}
    names = sorted(name for reply in replies for name in reply)
    return {"ok": bool(names), "count": len(names), "workers": names}


def check_work() -> dict:
    """Stalled sessions (sessions.sweep) and tasks a broker outage kept back (core.queueing)."""
    from core.queueing import pending_tasks_count
    from sessions.sweep import sessions_stalled

    try:
        stalled = sessions_stalled()
        pending = pending_tasks_count()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc)[:300]}
    return {
        "ok": not stalled,
        "stalled_sessions": [progress.session_id for progress in stalled],
        "pending_tasks": pending,
    }


def health() -> dict:
    report = {"database": check_database(), "broker": check_broker()}
    report["workers"] = check_workers() if report["broker"]["ok"] else {"ok": False, "count": 0}
    report["work"] = check_work() if report["database"]["ok"] else {"ok": False}
    report["ok"] = all(part["ok"] for part in report.values() if isinstance(part, dict))
    return report
