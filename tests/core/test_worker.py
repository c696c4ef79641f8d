import uuid

import pytest

from core.models import WorkerHeartbeat
from core.tasks import heartbeat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _wait_for(predicate, timeout: float = 30.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_task_runs_in_a_real_worker_and_writes_a_row(celery_worker):
    token = uuid.uuid4().hex
    heartbeat.delay(token)
    beat = _wait_for(lambda: WorkerHeartbeat.objects.filter(token=token).first())
    assert beat.worker.startswith("test-")


def test_healthz_reports_database_broker_and_worker(celery_worker, client):
    body = client.get("/healthz").json()
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["workers"]["ok"] is True and body["workers"]["count"] >= 1
    assert body["ok"] is True
