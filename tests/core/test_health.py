import pytest

pytestmark = pytest.mark.django_db


def test_healthz_without_worker_is_503_and_says_which_part_is_down(client):
    response = client.get("/healthz")
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["database"]["pgvector"]
    assert body["broker"]["ok"] is True
    assert body["workers"]["ok"] is False
    assert response.status_code == 503
