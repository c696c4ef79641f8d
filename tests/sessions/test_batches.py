"""Batches API: questions or ready answers at once; Idempotency-Key replays and conflicts."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.runmode import in_process_tasks
from judging.models import Judgment, RobustnessProbe
from sessions import batches
from sessions.batches import BatchRequest, batch_submit, request_fingerprint
from sessions.models import Answer, Batch, EvaluationSession, RetrievedPassage
from tests.sessions.api_support import make_corpus

pytestmark = pytest.mark.django_db

ITEMS = [
    {
        "question": "How many weights does SAT update?",
        "answer": "SAT updates 0.8% of the weights of the pretrained model.",
        "context": ["[Doc: sat.md] Sparse Adapter Tuning (SAT) updates 0.8% of the weights of a pretrained model."],
        "conversation": "sat",
    },
    {
        "question": "Does it add inference latency?",
        "answer": "No. The sparse update is merged into the weights, so SAT adds no inference latency.",
        "context": ["[Doc: sat.md] The sparse update is merged into the weights; SAT adds no inference latency."],
        "history": [{"question": "How many weights does SAT update?", "answer": "0.8% of them."}],
        "conversation": "sat",
    },
]
ANSWERS_BODY = {"kind": "answers", "name": "judge me", "items": ITEMS, "settings": {"judge_provider": "offline"}}


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.django_db(transaction=True)
def test_judge_only_batch_completes_with_weighted_scores(team, member) -> None:
    api = _client(member)

    with in_process_tasks():
        created = api.post("/api/v1/batches/", ANSWERS_BODY, format="json")

    assert created.status_code == 201, created.content
    batch = created.json()
    assert batch["kind"] == "answers" and batch["item_count"] == 2
    detail = api.get(batch["links"]["self"]).json()
    assert detail["session"]["status"] == "completed", detail
    assert detail["session"]["corpus"] is None and detail["session"]["batch"] == batch["id"]
    assert detail["session"]["progress"]["percent"] == 100
    results = api.get(detail["links"]["results"]).json()
    assert [q["conversation"] for q in results["questions"]] == ["sat", "sat"]
    assert all(q["weighted_score"] is not None and len(q["verdicts"]) == 5 for q in results["questions"])
    assert results["questions"][0]["passages"][0]["tag"] == "[Doc: sat.md]"
    follow_up = Answer.objects.get(question__session_id=detail["session"]["id"], question__position=1)
    assert follow_up.history == [["How many weights does SAT update?", "0.8% of them."]]
    assert results["totals"]["mean_score"]["n_scored"] == 2


def _answers_body(n: int, *, per_conversation: int) -> dict:
    items = [
        {
            "question": f"How many weights does SAT update in run {i}?",
            "answer": f"In run {i}, SAT updates 0.8% of the weights of the pretrained model.",
            "context": [
                f"[Doc: sat{i}.md] Sparse Adapter Tuning (SAT) updates 0.8% of the weights in run {i}.",
                "[Doc: sat.md] The sparse update is merged into the weights; SAT adds no inference latency.",
            ],
            "conversation": f"c{i // per_conversation}",
        }
        for i in range(n)
    ]
    return {"kind": "answers", "items": items, "settings": {"judge_provider": "offline", "robustness": True}}


def test_a_judge_only_batch_is_stored_and_started_in_as_many_queries_for_40_items_as_for_4(member) -> None:
    """Its rows are inserted in bulk: a large batch costs no round trip per item."""
    api = _client(member)
    counts = {}
    for n in (4, 40):
        with CaptureQueriesContext(connection) as queries:
            created = api.post("/api/v1/batches/", _answers_body(n, per_conversation=2), format="json")
        assert created.status_code == 201, created.content
        counts[n] = len(queries)
        session = EvaluationSession.objects.get(batch__pk=created.json()["id"])
        answers = Answer.objects.filter(question__session=session).order_by("question__conversation__position",
                                                                             "question__position")  # fmt: skip
        assert [a.question.text for a in answers] == [
            item["question"] for item in _answers_body(n, per_conversation=2)["items"]
        ]
        # History: the earlier turn of the same conversation, and every answer's two passages, in order.
        assert [len(a.history) for a in answers] == [0, 1] * (n // 2)
        assert answers[1].history == [[answers[0].question.text, answers[0].text]]
        assert RetrievedPassage.objects.filter(answer__in=answers).count() == 2 * n
        assert [p.rank for p in answers[3].passages.all()] == [1, 2]
        # One judgment per answer, and each answer's probes with a judgment each, all pending.
        probes = RobustnessProbe.objects.filter(answer__in=answers)
        assert {a.pk for a in answers} == set(probes.values_list("answer_id", flat=True))
        assert Judgment.objects.filter(answer__in=answers, status=Judgment.Status.PENDING).count() == n
        assert Judgment.objects.filter(probe__in=probes, status=Judgment.Status.PENDING).count() == probes.count()
    assert counts[40] == counts[4], counts


def test_questions_batch_creates_and_starts_a_session(team, member, media, tmp_path) -> None:
    corpus = make_corpus(team=team, tmp_path=tmp_path)

    response = _client(member).post(
        "/api/v1/batches/",
        {
            "kind": "questions",
            "corpus": corpus.pk,
            "conversations": [{"label": "c1", "questions": ["What does SAT update?", "And its latency?"]}],
            "settings": {"k": 2, "robustness": True},
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    session = EvaluationSession.objects.get(pk=response.json()["session"]["id"])
    assert session.status == EvaluationSession.Status.QUEUED
    assert (session.corpus_id, session.retrieval_k, session.robustness) == (corpus.pk, 2, True)
    assert response.json()["item_count"] == 2 and response.json()["session"]["estimate"]["questions"] == 2


def test_idempotency_key_replay_returns_the_original_batch(member) -> None:
    api = _client(member)

    first = api.post("/api/v1/batches/", ANSWERS_BODY, format="json", HTTP_IDEMPOTENCY_KEY="run-42")
    # Same body with keys in another order: the same request.
    reordered = {key: ANSWERS_BODY[key] for key in reversed(ANSWERS_BODY)}
    second = api.post("/api/v1/batches/", reordered, format="json", HTTP_IDEMPOTENCY_KEY="run-42")

    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["session"]["id"] == first.json()["session"]["id"]
    assert EvaluationSession.objects.count() == 1 and Batch.objects.count() == 1


def test_idempotency_key_with_a_different_body_is_a_conflict(member) -> None:
    api = _client(member)
    first = api.post("/api/v1/batches/", ANSWERS_BODY, format="json", HTTP_IDEMPOTENCY_KEY="run-42")

    other = api.post(
        "/api/v1/batches/", {**ANSWERS_BODY, "items": ITEMS[:1]}, format="json", HTTP_IDEMPOTENCY_KEY="run-42"
    )

    assert other.status_code == 409
    assert other.json()["code"] == "conflict"
    assert "run-42" in other.json()["detail"] and "different request body" in other.json()["detail"]
    assert f"batch {first.json()['id']}" in other.json()["detail"]
    assert EvaluationSession.objects.count() == 1


def test_idempotency_keys_are_per_team(member, team_factory, user_factory) -> None:
    outsider = user_factory(team=team_factory("Team B"), username="bob")

    mine = _client(member).post("/api/v1/batches/", ANSWERS_BODY, format="json", HTTP_IDEMPOTENCY_KEY="k")
    theirs = _client(outsider).post("/api/v1/batches/", ANSWERS_BODY, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert mine.status_code == 201 and theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert _client(outsider).get(f"/api/v1/batches/{mine.json()['id']}/").status_code == 404


def test_without_a_key_every_request_is_a_new_batch(member) -> None:
    api = _client(member)

    ids = {api.post("/api/v1/batches/", ANSWERS_BODY, format="json").json()["id"] for _ in range(2)}

    assert len(ids) == 2


def test_a_request_that_loses_the_race_for_a_key_gets_the_winner(team, member, monkeypatch) -> None:
    request = BatchRequest(kind="answers", items=ITEMS)
    fingerprint = request_fingerprint({"items": ITEMS})
    winner = batch_submit(team=team, user=member, request=request, fingerprint=fingerprint, idempotency_key="race")
    real = batches._batch_for_key
    calls = iter([None])  # the loser's first look finds nothing: the winner had not committed yet
    monkeypatch.setattr(batches, "_batch_for_key", lambda **kw: next(calls, None) or real(**kw))

    loser = batch_submit(team=team, user=member, request=request, fingerprint=fingerprint, idempotency_key="race")

    assert winner.created and not loser.created and loser.batch.pk == winner.batch.pk
    assert EvaluationSession.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_session(team, member) -> None:
    from django.db import connection

    results: list[int] = []
    barrier = threading.Barrier(2)

    def post() -> None:
        try:
            barrier.wait()
            response = _client(member).post(
                "/api/v1/batches/", ANSWERS_BODY, format="json", HTTP_IDEMPOTENCY_KEY="same"
            )
            results.append(response.status_code)
        finally:
            connection.close()

    with in_process_tasks():
        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)

    assert sorted(results) == [200, 201]
    assert EvaluationSession.objects.count() == 1 and Batch.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "answers", "items": []}, "items"),
        ({"kind": "answers", "items": [{"question": "Q?"}]}, "items"),
        ({"kind": "questions", "conversations": [{"questions": ["Q?"]}]}, "corpus"),
        ({"kind": "translations", "items": ITEMS}, "kind"),
        ({**ANSWERS_BODY, "settings": {"judge_repeats": 11}}, "settings"),
    ],
)
def test_invalid_batches_are_rejected_and_create_nothing(member, body, field) -> None:
    response = _client(member).post("/api/v1/batches/", body, format="json", HTTP_IDEMPOTENCY_KEY="bad")

    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert any(path == field or path.startswith(f"{field}.") for path in response.json()["errors"])
    assert not EvaluationSession.objects.exists() and not Batch.objects.exists()


def test_overlong_idempotency_key_is_rejected(member) -> None:
    response = _client(member).post("/api/v1/batches/", ANSWERS_BODY, format="json", HTTP_IDEMPOTENCY_KEY="k" * 300)

    assert response.status_code == 400 and "Idempotency-Key" in response.json()["detail"]


def test_anonymous_cannot_submit_batches(db) -> None:
    assert APIClient().post("/api/v1/batches/", ANSWERS_BODY, format="json").status_code == 401
