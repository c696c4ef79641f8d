"""The default rubric, shared by every team (its criteria: judging.rubric.DEFAULT_RUBRIC)."""

from decimal import Decimal

from django.db import migrations

CRITERIA = [
    ("relevance", "Relevance", "Does the answer address the question asked?", "0.5"),
    ("faithfulness", "Faithfulness", "Is every claim supported by the given context?", "0.2"),
    ("completeness", "Completeness", "Does it cover the major aspects the context supports?", "0.1"),
    ("clarity", "Clarity", "Is it well structured and unambiguous?", "0.1"),
    ("conciseness", "Conciseness", "Is it free of repetition and padding?", "0.1"),
]
INSTRUCTIONS = (
    "Rate the answer on each criterion using only the question, the conversation history and "
    "the retrieved context. Give a one-paragraph rationale per criterion that cites evidence."
)


def create(apps, schema_editor):
    Rubric = apps.get_model("judging", "Rubric")
    Criterion = apps.get_model("judging", "Criterion")
    rubric, created = Rubric.objects.get_or_create(
        team=None, name="Default", version=1, defaults={"instructions": INSTRUCTIONS, "is_default": True}
    )
    if created:
        for position, (key, name, description, weight) in enumerate(CRITERIA):
            Criterion.objects.create(
                rubric=rubric, key=key, name=name, description=description, weight=Decimal(weight), position=position
            )


def remove(apps, schema_editor):
    apps.get_model("judging", "Rubric").objects.filter(team=None, name="Default", version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("judging", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
