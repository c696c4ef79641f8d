"""Shared fixtures: real PostgreSQL and Redis (embedded or from the environment)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

pytest_plugins = ["tests.support.fixtures"]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(request):
    """Before the test database is dropped, end connections that threads or workers left open."""
    try:
        request.getfixturevalue("django_db_setup")
        blocker = request.getfixturevalue("django_db_blocker")
    except pytest.FixtureLookupError:  # run without pytest-django (pure tests)
        yield
        return
    yield
    from django.db import connection

    with blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def team_factory(db):
    from accounts.services import team_create

    def make(name: str | None = None):
        return team_create(name=name or f"Team {uuid.uuid4().hex[:8]}")

    return make


@pytest.fixture
def user_factory(db):
    from accounts.services import membership_grant, user_ensure

    def make(*, team=None, role: str = "member", username: str | None = None):
        user = user_ensure(username=username or f"user-{uuid.uuid4().hex[:8]}", password="pw-123456!")
        if team is not None:
            membership_grant(team=team, user=user, role=role)
        return user

    return make


@pytest.fixture
def team(team_factory):
    return team_factory("Team A")


@pytest.fixture
def member(user_factory, team):
    return user_factory(team=team, role="member", username="alice")


@pytest.fixture
def reviewer(user_factory, team):
    return user_factory(team=team, role="reviewer", username="rita")


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


class WorkerProcess:
    def __init__(self, *, db_name: str, queues: str, concurrency: int, env: dict[str, str]) -> None:
        self.db_name = db_name
        self.queues = queues
        self.concurrency = concurrency
        self.extra_env = env
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.proc: subprocess.Popen | None = None
        self.log_path = ROOT / "var" / "test-worker.log"

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "ASSAY_DB_NAME": self.db_name,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "-Q", self.queues, "-P", "threads", "-c", str(self.concurrency),
                "-n", self.name, "--without-gossip", "--without-mingle", "-l", "info",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        from config.celery_app import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"Celery worker exited early; see {self.log_path}")
            try:
                if app.control.ping(timeout=0.5):
                    return
            except (redis.exceptions.ConnectionError, OSError):  # pooled connection to a restarted broker
                continue
        raise RuntimeError(f"Celery worker did not answer a ping within {timeout}s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task, as in a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _purge_broker() -> None:
    from config.celery_app import app

    with app.connection_for_write() as conn:
        for queue in ("ingest", "retrieval", "generation", "judging"):
            conn.default_channel.queue_purge(queue)
        client = conn.default_channel.client
        # Unacked messages from a killed worker of an earlier run would be re-delivered.
        client.delete("unacked", "unacked_index")


@pytest.fixture
def celery_worker_factory(transactional_db, settings) -> Iterator:
    """Start real Celery worker processes against the test database and broker."""
    from django.db import connection

    workers: list[WorkerProcess] = []
    _purge_broker()

    def start(*, queues: str = "ingest,retrieval,generation,judging", concurrency: int = 4, env=None):
        worker = WorkerProcess(
            db_name=connection.settings_dict["NAME"], queues=queues, concurrency=concurrency, env=env or {}
        )
        workers.append(worker)  # before start: a worker that fails to answer is still stopped
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.stop()
    _purge_broker()


@pytest.fixture
def celery_worker(celery_worker_factory):
    return celery_worker_factory()
