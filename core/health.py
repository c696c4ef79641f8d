"""Liveness of the three things Assay needs: database, broker, at least one worker."""

from __future__ import annotations

import time

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


def health() -> dict:
    report = {"database": check_database(), "broker": check_broker()}
    report["workers"] = check_workers() if report["broker"]["ok"] else {"ok": False, "count": 0}
    report["ok"] = all(part["ok"] for part in report.values() if isinstance(part, dict))
    return report
