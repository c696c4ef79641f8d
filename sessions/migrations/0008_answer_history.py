"""Answer.history: the turns the generator saw, stored with the answer.

Existing answers are back-filled: a judge-only item's given history (which moves here from
Question.given_history), else the earlier turns of its conversation as they stood when the
answer was generated (each earlier question's latest answered attempt finished by then).
"""

from django.db import migrations, models


def backfill_history(apps, schema_editor) -> None:
    Conversation = apps.get_model("eval_sessions", "Conversation")
    Question = apps.get_model("eval_sessions", "Question")
    Answer = apps.get_model("eval_sessions", "Answer")
    for conversation_id in Conversation.objects.values_list("pk", flat=True).iterator():
        questions = list(Question.objects.filter(conversation_id=conversation_id).order_by("position"))
        answers = list(Answer.objects.filter(question__conversation_id=conversation_id).order_by("attempt"))
        by_question: dict[int, list] = {}
        for answer in answers:
            by_question.setdefault(answer.question_id, []).append(answer)
        changed = []
        for index, question in enumerate(questions):
            for answer in by_question.get(question.pk, []):
                if question.given_history is not None:
                    answer.history = [[str(q), str(a)] for q, a in question.given_history]
                else:
                    answer.history = _history_at(answer, questions[:index], by_question)
                changed.append(answer)
        Answer.objects.bulk_update(changed, ["history"], batch_size=500)


def _history_at(answer, earlier_questions, by_question) -> list[list[str]]:
    history = []
    for question in earlier_questions:
        seen = [
            a
            for a in by_question.get(question.pk, [])
            if a.status == "ok"
            and (answer.started_at is None or a.finished_at is None or a.finished_at <= answer.started_at)
        ]
        if seen:
            history.append([question.text, seen[-1].text])  # the latest attempt answered by then
    return history


def restore_given_history(apps, schema_editor) -> None:
    Question = apps.get_model("eval_sessions", "Question")
    Answer = apps.get_model("eval_sessions", "Answer")
    for answer in Answer.objects.filter(question__session__generator_provider="provided", attempt=1).iterator():
        Question.objects.filter(pk=answer.question_id).update(given_history=answer.history)


class Migration(migrations.Migration):
    dependencies = [
        ("eval_sessions", "0007_reference_similarity"),
    ]

    operations = [
        migrations.AddField(
            model_name="answer",
            name="history",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(backfill_history, restore_given_history),
        migrations.RemoveField(
            model_name="question",
            name="given_history",
        ),
    ]
