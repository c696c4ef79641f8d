"""A question's history is stored with its answer: exactly the turns the generator saw.
The judge, the review page and re-judges read it from there; the migration back-fills it."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from rest_framework.test import APIClient

from core.errors import InvalidInput
from core.runmode import in_process_tasks
from judging.models import Judgment
from sessions.models import Answer, EvaluationSession
from sessions.services import judgment_run, session_rejudge, session_start
from sessions.session_settings import SessionSettings
from tests.sessions.pipeline_support import make_corpus, make_session

TURNS = ["What is SAT?", "How many parameters does it train?"]


def _finished_session(team, tmp_path) -> EvaluationSession:
    session = make_session(team, make_corpus(team=team, tmp_path=tmp_path), [TURNS])
    with in_process_tasks():
        session_start(session=session)
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.COMPLETED
    return session


def _answers(session: EvaluationSession) -> tuple[Answer, Answer]:
    first, second = Answer.objects.filter(question__session=session).order_by("question__position")
    return first, second


@pytest.mark.django_db(transaction=True)
def test_the_generator_stores_the_history_it_put_in_the_prompt(team, tmp_path) -> None:
    first, second = _answers(_finished_session(team, tmp_path))
    assert first.history == []
    assert second.history == [[TURNS[0], first.text]]
    assert f"Q: {TURNS[0]}\nA: {first.text}" in second.prompt


@pytest.mark.django_db(transaction=True)
def test_results_api_carries_each_answers_history(team, tmp_path, member) -> None:
    session = _finished_session(team, tmp_path)
    first, _ = _answers(session)
    client = APIClient()
    client.force_authenticate(member)
    questions = client.get(f"/api/v1/sessions/{session.pk}/results/").json()["questions"]
    assert [q["history"] for q in questions] == [[], [[TURNS[0], first.text]]]


@pytest.mark.django_db(transaction=True)
def test_the_judge_reads_the_stored_history_not_the_conversation_as_it_is_now(team, tmp_path) -> None:
    session = _finished_session(team, tmp_path)
    first, second = _answers(session)
    seen = first.text
    # The earlier turn is answered again later (as after a resume): the follow-up's history
    # is still what its generator saw, and a re-run of its judgment gets that history.
    Answer.objects.filter(pk=first.pk).update(text="A different answer, written afterwards.")
    judgment = Judgment.objects.get(answer=second, repeat_index=0)
    judgment.verdicts.all().delete()
    Judgment.objects.filter(pk=judgment.pk).update(status=Judgment.Status.PENDING)
    EvaluationSession.objects.filter(pk=session.pk).update(status=EvaluationSession.Status.RUNNING)

    judgment_run(judgment_id=judgment.pk)

    judgment.refresh_from_db()
    user_message = judgment.prompt[-1]["content"]
    assert seen in user_message and "written afterwards" not in user_message


@pytest.mark.django_db(transaction=True)
def test_review_page_and_rejudge_show_the_stored_history(team, tmp_path, client, reviewer) -> None:
    session = _finished_session(team, tmp_path)
    first, second = _answers(session)
    Answer.objects.filter(pk=second.pk).update(history=[["What is SAT?", "The stored turn."]])
    client.force_login(reviewer)
    judgment = Judgment.objects.get(answer=second, repeat_index=0)
    page = client.get(reverse("judging:judgment", args=[judgment.pk]))
    assert page.context["history"] == [["What is SAT?", "The stored turn."]]

    with in_process_tasks():
        rejudge = session_rejudge(session=session)
    copied = Answer.objects.get(question__session=rejudge, question__position=1)
    assert copied.history == [["What is SAT?", "The stored turn."]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"retrieval_k": 0}, "k must be between 1 and 50"),
        ({"retrieval_k": 51}, "k must be between 1 and 50"),
        ({"judge_repeats": 11}, "Judge repeats must be between 1 and 10"),
        ({"retrieval_mode": "fuzzy"}, "Unknown retrieval mode"),
        ({"prompt_template": "Answer {question}"}, "must contain {context}"),
        ({"judge_provider": "telepathy"}, "Unknown provider"),
    ],
)
def test_session_settings_are_checked_when_built(settings: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        SessionSettings(**settings)


@pytest.mark.django_db(transaction=True)
def test_migration_backfills_history_from_earlier_turns_and_given_history(team) -> None:
    executor = MigrationExecutor(connection)
    before = [("eval_sessions", "0007_reference_similarity")]
    after = [("eval_sessions", "0008_answer_history")]
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps
        rubric = old.get_model("judging", "Rubric").objects.create(name="Before the migration")
        session = old.get_model("eval_sessions", "EvaluationSession").objects.create(
            team_id=team.pk, name="old", rubric_id=rubric.pk
        )
        conversation = old.get_model("eval_sessions", "Conversation").objects.create(session=session, position=0)
        Question = old.get_model("eval_sessions", "Question")
        OldAnswer = old.get_model("eval_sessions", "Answer")
        q1, q2, q3 = (
            Question.objects.create(session=session, conversation=conversation, position=i, text=f"Q{i}")
            for i in range(3)
        )
        q3.given_history = [["Given?", "Given."]]
        q3.save()
        OldAnswer.objects.create(question=q1, attempt=1, status="failed", provider="offline")
        a1 = OldAnswer.objects.create(question=q1, attempt=2, status="ok", text="A1", provider="offline")
        a2 = OldAnswer.objects.create(question=q2, attempt=1, status="ok", text="A2", provider="offline")
        a3 = OldAnswer.objects.create(question=q3, attempt=1, status="ok", text="A3", provider="offline")

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps.get_model("eval_sessions", "Answer")
        assert new.objects.get(pk=a1.pk).history == []
        assert new.objects.get(pk=a2.pk).history == [["Q0", "A1"]]
        assert new.objects.get(pk=a3.pk).history == [["Given?", "Given."]]
    finally:
        call_command("migrate", verbosity=0)
