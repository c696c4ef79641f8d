"""The `services` command on a separate services folder: start, idempotence, stale pid, stop."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _services(action: str, folder: Path, **extra_env: str) -> str:
    env = dict(os.environ, ASSAY_SERVICES_DIR=str(folder), DJANGO_SETTINGS_MODULE="config.settings.local", **extra_env)
    done = subprocess.run(
        [sys.executable, "manage.py", "services", action],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def folder():
    # Short path: unix sockets have a length limit.
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="assay-svc-", dir="/tmp"))
    yield path
    _services("stop", path)
    subprocess.run(["rm", "-rf", str(path)], check=False)


def test_start_is_idempotent_recovers_from_a_crash_and_stop_stops_both(folder):
    out = _services("start", folder)
    assert "postgresql  up" in out and "redis       up" in out
    assert "postgresql  up" in _services("start", folder)  # second start is harmless
    # Queued work survives a restart of Redis (append-only file).
    import redis

    sock = str(folder / "redis" / "redis.sock")
    redis.Redis(unix_socket_path=sock).lpush("generation", "queued-message")
    _services("stop", folder)
    _services("start", folder)
    assert redis.Redis(unix_socket_path=sock).lrange("generation", 0, -1) == [b"queued-message"]

    # A crash: Redis dies by SIGKILL and leaves its pid file behind.
    pid = int((folder / "redis" / "redis.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    import time

    time.sleep(0.3)
    assert "redis       down" in _services("status", folder)
    assert "redis       up" in _services("start", folder)

    out = _services("stop", folder)
    assert "postgresql  down" in out and "redis       down" in out
    status = _services("status", folder)
    assert "postgresql  down" in status and "redis       down" in status


def test_postgresql_starts_with_the_configured_shared_buffers(folder):
    import psycopg

    def shared_buffers() -> str:
        with psycopg.connect(dbname="postgres", host=str(folder / "pg"), user="postgres") as conn:
            return conn.execute("SHOW shared_buffers").fetchone()[0]

    _services("start", folder, ASSAY_PG_SHARED_BUFFERS="160MB")
    assert shared_buffers() == "160MB"
    # A change applies when the server next starts, not to the running one.
    _services("start", folder, ASSAY_PG_SHARED_BUFFERS="192MB")
    assert shared_buffers() == "160MB"
    _services("stop", folder)
    _services("start", folder, ASSAY_PG_SHARED_BUFFERS="192MB")
    assert shared_buffers() == "192MB"
