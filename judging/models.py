from django.conf import settings
from django.db import models
from django.utils.text import Truncator

from accounts.models import Team


def default_scale() -> list[dict]:
    return [
        {"label": "Excellent", "points": 100},
        {"label": "Good", "points": 80},
        {"label": "Fair", "points": 60},
        {"label": "Bad", "points": 40},
        {"label": "Worse", "points": 20},
    ]


class Rubric(models.Model):
    """Criteria, weights, scale and judge instructions, as data.

    A rubric used by a finished session is locked: edits make a new version.
    A rubric with no team is shared by every team (the default rubric).
    """

    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="rubrics")
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    instructions = models.TextField(blank=True)
    scale = models.JSONField(default=default_scale)
    is_default = models.BooleanField(default=False)
    locked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name", "version"], name="rubric_unique_team_name_version"),
            models.UniqueConstraint(
                fields=["name", "version"],
                condition=models.Q(team__isnull=True),
                name="rubric_unique_global_name_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Criterion(models.Model):
    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=120)
    description = models.TextField()
    weight = models.DecimalField(max_digits=5, decimal_places=4)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["rubric_id", "position"]
        constraints = [models.UniqueConstraint(fields=["rubric", "key"], name="criterion_unique_rubric_key")]

    def __str__(self) -> str:
        return self.name


class RobustnessProbe(models.Model):
    """A deliberately wrong answer to a question, judged exactly like the genuine one."""

    class Strategy(models.TextChoices):
        """How the fake answer was made (judging.probes writes them)."""

        LLM_FABRICATION = "llm_fabrication", "LLM-written fake"
        OFF_TOPIC = "off_topic", "Off-topic"
        FABRICATED_NUMBERS = "fabricated_numbers", "Fabricated numbers"
        CONTRADICTION = "contradiction", "Contradiction"
        ENTITY_SWAP = "entity_swap", "Entity swap"
        TRUNCATION = "truncation", "Truncation"
        PADDING = "padding", "Padding"
        INJECTION = "injection", "Injection"

    class Origin(models.TextChoices):
        RULE = "rule", "Rule-based"
        LLM = "llm", "Written by the judge model"

    # The answers belong to the sessions app: the one place judging names it (a table link,
    # no import); judging's code reaches answers only through this relation.
    answer = models.ForeignKey("eval_sessions.Answer", on_delete=models.CASCADE, related_name="probes")
    strategy = models.CharField(max_length=32, choices=Strategy.choices)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.RULE)
    fake_answer = models.TextField()
    expected_criteria = models.JSONField(default=list)
    seed = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["answer_id", "strategy"]
        constraints = [
            models.UniqueConstraint(fields=["answer", "strategy", "origin"], name="probe_unique_answer_strategy")
        ]

    def __str__(self) -> str:
        return f"{self.strategy} probe of “{Truncator(self.answer.question.text).chars(60)}”"


class Judgment(models.Model):
    class Kind(models.TextChoices):
        """What was judged (not stored: a judgment has either an answer or a probe)."""

        ANSWER = "answer", "A genuine answer"
        PROBE = "probe", "A robustness probe's fake answer"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        OK = "ok", "Judged"
        UNPARSEABLE = "unparseable", "Unparseable"
        FAILED = "failed", "Failed"

    answer = models.ForeignKey(
        "eval_sessions.Answer", null=True, blank=True, on_delete=models.CASCADE, related_name="judgments"
    )
    probe = models.ForeignKey(
        RobustnessProbe, null=True, blank=True, on_delete=models.CASCADE, related_name="judgments"
    )
    rubric = models.ForeignKey(Rubric, on_delete=models.PROTECT, related_name="judgments")
    # Self-consistency: the same answer judged k times, repeat 0..k-1.
    repeat_index = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    judge_provider = models.CharField(max_length=16)
    judge_model = models.CharField(max_length=200, blank=True)
    temperature = models.FloatField(default=0.0)
    prompt = models.JSONField(default=list, blank=True)
    prompt_hash = models.CharField(max_length=64, blank=True)
    raw_output = models.TextField(blank=True)
    error = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    weighted_score = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    flagged_for_review = models.BooleanField(default=False)
    # What produced it: rubric version, retrieval settings, corpus version, response format.
    provenance = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(answer__isnull=False, probe__isnull=True))
                | (models.Q(answer__isnull=True, probe__isnull=False)),
                name="judgment_answer_xor_probe",
            ),
            models.UniqueConstraint(
                fields=["answer", "rubric", "repeat_index"],
                condition=models.Q(answer__isnull=False),
                name="judgment_unique_answer_rubric_repeat",
            ),
            models.UniqueConstraint(
                fields=["probe", "rubric", "repeat_index"],
                condition=models.Q(probe__isnull=False),
                name="judgment_unique_probe_rubric_repeat",
            ),
        ]

    def __str__(self) -> str:
        if self.probe_id is not None:
            question, kind = self.probe.answer.question, f"{self.probe.strategy} probe"
        else:
            question, kind = self.answer.question, "answer"
        return f"Judgment of “{Truncator(question.text).chars(60)}” ({kind}, #{self.pk})"


class CriterionVerdict(models.Model):
    """The judge's rating of one criterion. Never edited: overrides are separate rows."""

    judgment = models.ForeignKey(Judgment, on_delete=models.CASCADE, related_name="verdicts")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    rating = models.CharField(max_length=64)
    points = models.PositiveSmallIntegerField()
    rationale = models.TextField(blank=True)

    class Meta:
        ordering = ["judgment_id", "criterion__position"]
        constraints = [
            models.UniqueConstraint(fields=["judgment", "criterion"], name="verdict_unique_judgment_criterion")
        ]

    def __str__(self) -> str:
        return f"{self.criterion.name}: {self.rating}"


class Override(models.Model):
    """A reviewer's change of one criterion's rating; append-only audit trail."""

    judgment = models.ForeignKey(Judgment, on_delete=models.CASCADE, related_name="overrides")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    old_rating = models.CharField(max_length=64)
    new_rating = models.CharField(max_length=64)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.criterion.name}: {self.old_rating} → {self.new_rating} by {self.reviewer}"


class Confirmation(models.Model):
    """A reviewer's agreement with a judgment's verdict on every criterion it did not
    override: the other half of the audit trail, and what judge–human agreement counts."""

    judgment = models.ForeignKey(Judgment, on_delete=models.CASCADE, related_name="confirmations")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["judgment", "reviewer"], name="confirmation_unique_judgment_reviewer")
        ]
