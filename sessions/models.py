from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.urls import reverse

from accounts.models import Team
from corpora.models import Chunk, Corpus
from llm.types import Provider

DEFAULT_PROMPT_TEMPLATE = (
    "You are a helpful assistant. Use the following history and context to answer.\n"
    "History:\n{history}\n"
    "Context:\n{context}\n"
    "Current Question:\n{question}\n"
    "Answer:"
)


class EvaluationSession(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        COMPLETED_WITH_ERRORS = "completed_with_errors", "Completed with errors"
        CANCELLED = "cancelled", "Cancelled"

    class RetrievalMode(models.TextChoices):
        HYBRID = "hybrid", "Hybrid (reciprocal rank fusion)"
        VECTOR = "vector", "Vector"
        KEYWORD = "keyword", "Keyword"

    class Provider(models.TextChoices):
        OFFLINE = Provider.OFFLINE.value, "Offline (no network)"
        OPENAI = Provider.OPENAI.value, "OpenAI-compatible"
        PROVIDED = "provided", "Provided (judge-only: answers submitted ready-made)"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="eval_sessions")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=200)
    # Null for judge-only sessions (answers submitted ready-made, with their own context).
    corpus = models.ForeignKey(Corpus, null=True, blank=True, on_delete=models.PROTECT, related_name="eval_sessions")
    retrieval_mode = models.CharField(max_length=16, choices=RetrievalMode.choices, default=RetrievalMode.HYBRID)
    retrieval_k = models.PositiveSmallIntegerField(default=5)
    web_search = models.BooleanField(default=False)
    generator_provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.OFFLINE)
    generator_model = models.CharField(max_length=200, blank=True)
    # Blank: the LLM_BASE_URL setting. The API key always comes from the environment.
    llm_base_url = models.URLField(max_length=500, blank=True)
    temperature = models.FloatField(default=0.0)
    prompt_template = models.TextField(default=DEFAULT_PROMPT_TEMPLATE)
    judge_provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.OFFLINE)
    judge_model = models.CharField(max_length=200, blank=True)
    judge_temperature = models.FloatField(default=0.0)
    judge_repeats = models.PositiveSmallIntegerField(default=1)
    rubric = models.ForeignKey("judging.Rubric", on_delete=models.PROTECT, related_name="eval_sessions")
    robustness = models.BooleanField(default=False)
    budget_usd = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    spent_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    estimate = models.JSONField(default=dict, blank=True)
    # Mean weighted score with its accounting, stored when the session finishes and after
    # each override, so lists need not recompute it (judging.selectors.session_scores).
    score_summary = models.JSONField(default=dict, blank=True)
    # A re-judge: the same answers judged again (another judge, model or rubric version).
    rejudge_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rejudges")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.DRAFT, db_index=True)
    status_reason = models.TextField(blank=True)
    # Free labels for finding sessions again ("baseline", "gpt-4o", "week-12"): lower case, no spaces.
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    # Archived sessions are hidden from the list (not deleted); set and cleared by the team.
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="session_team_created"),
            GinIndex(fields=["tags"], name="session_tags_gin"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sessions:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.COMPLETED_WITH_ERRORS)

    @property
    def is_judge_only(self) -> bool:
        """Its answers came ready-made (a judge-only batch or a re-judge): nothing to retrieve or generate."""
        return self.generator_provider == self.Provider.PROVIDED


class Conversation(models.Model):
    session = models.ForeignKey(EvaluationSession, on_delete=models.CASCADE, related_name="conversations")
    position = models.PositiveIntegerField()
    label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["session", "position"], name="conversation_unique_session_position")
        ]

    def __str__(self) -> str:
        return self.label or f"Conversation {self.position}"


class Question(models.Model):
    session = models.ForeignKey(EvaluationSession, on_delete=models.CASCADE, related_name="questions")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField()
    text = models.TextField()
    reference_answer = models.TextField(blank=True)

    class Meta:
        ordering = ["conversation__position", "position"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "position"], name="question_unique_conversation_position")
        ]

    def __str__(self) -> str:
        return self.text[:80]


class Answer(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        OK = "ok", "Answered"
        FAILED = "failed", "Failed"

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    # One answer per question and attempt; a re-run of a failed question is a new attempt.
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    text = models.TextField(blank=True)
    prompt = models.TextField(blank=True)
    # The earlier turns exactly as the generator saw them, [[question, answer], …], written
    # with the prompt and the passages; a judge-only item's own history. The judge, the
    # review page, re-judges and exports read a question's history from here only.
    history = models.JSONField(default=list, blank=True)
    retrieval_query = models.TextField(blank=True)
    provider = models.CharField(max_length=16)
    model = models.CharField(max_length=200, blank=True)
    response_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    retrieval_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    provider_attempts = models.PositiveSmallIntegerField(default=0)
    # Cosine similarity (local embeddings) of the answer to the question's reference
    # answer, when there is one: a judge-independent check next to the verdicts.
    reference_similarity = models.FloatField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["question_id", "attempt"]
        constraints = [models.UniqueConstraint(fields=["question", "attempt"], name="answer_unique_question_attempt")]

    def __str__(self) -> str:
        return f"Answer to {self.question_id} (attempt {self.attempt})"


class RetrievedPassage(models.Model):
    """A passage placed in an answer's prompt, with its rank and score (a join to Chunk)."""

    class Source(models.TextChoices):
        CORPUS = "corpus", "Corpus"
        WEB = "web", "Web search"

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="passages")
    chunk = models.ForeignKey(Chunk, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.CORPUS)
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    source_tag = models.CharField(max_length=500)
    # A snapshot: the prompt must stay explainable even if the corpus changes later.
    text = models.TextField()
    url = models.URLField(max_length=2000, blank=True)

    class Meta:
        ordering = ["answer_id", "rank"]
        constraints = [models.UniqueConstraint(fields=["answer", "rank"], name="passage_unique_answer_rank")]


class Batch(models.Model):
    """An API submission of many items at once; it owns the session that runs them.

    ``idempotency_key`` is unique per team (where given): a retried request with the same
    key finds this row instead of creating a second session; ``request_hash`` tells a true
    replay from a different request that reuses the key.
    """

    class Kind(models.TextChoices):
        QUESTIONS = "questions", "Questions to answer and judge"
        ANSWERS = "answers", "Ready answers to judge"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="batches")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    session = models.OneToOneField(EvaluationSession, on_delete=models.CASCADE, related_name="batch")
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_hash = models.CharField(max_length=64)
    item_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="batch_unique_team_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.kind})"


class ReportExport(models.Model):
    """A report file built in the background (large sessions), downloaded when ready.

    Built at most once: the task moves it pending → ready | failed under a status guard,
    so a re-delivered task finds it done and leaves it.
    """

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        XLSX = "xlsx", "Excel"

    class Paper(models.TextChoices):
        A4 = "a4", "A4"
        LETTER = "letter", "Letter"

    class Status(models.TextChoices):
        PENDING = "pending", "Preparing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    session = models.ForeignKey(EvaluationSession, on_delete=models.CASCADE, related_name="report_exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    format = models.CharField(max_length=8, choices=Format.choices)
    paper = models.CharField(max_length=8, choices=Paper.choices, default=Paper.A4)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} report of session {self.session_id} ({self.status})"
