"""Liveness of the three things Assay needs (database, broker, at least one worker) and
whether work is flowing (no stalled session)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection

from config.celery_app import app


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
    started = time.monotonic()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc)[:300]}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def check_workers(*, timeout: float = 1.0) -> dict:
    try:
        replies = app.control.ping(timeout=timeout) or []
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "count": 0, "error": str(exc)[:300]}
    names = sorted(name for reply in replies for name in reply)
    return {"ok": bool(names), "count": len(names), "workers": names}


# Checks that apps above core add (core imports no app): name -> function returning a
# part of the report with an "ok" key. Sessions adds "work" (stalled sessions).
_EXTRA_CHECKS: dict[str, Callable[[], dict]] = {}


def health_check_register(*, name: str, check: Callable[[], dict]) -> None:
    _EXTRA_CHECKS[name] = check


def health() -> dict:
    report = {"database": check_database(), "broker": check_broker()}
    report["workers"] = check_workers() if report["broker"]["ok"] else {"ok": False, "count": 0}
    for name, check in _EXTRA_CHECKS.items():
        if not report["database"]["ok"]:
            report[name] = {"ok": False}
            continue
        try:
            report[name] = check()
        except Exception as exc:  # noqa: BLE001 - reported, not raised: this is a health probe
            report[name] = {"ok": False, "error": str(exc)[:300]}
    report["ok"] = all(part["ok"] for part in report.values() if isinstance(part, dict))
    return report
