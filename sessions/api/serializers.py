"""Sessions and batches API: request validation and the shapes of responses.

Responses are read from the session report's objects through ``source=`` on read-only
serializers, which the OpenAPI schema documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from accounts.api import TeamField
from accounts.selectors import scope_to_user
from core.api_fields import StrictJSONMixin
from core.api_schema import NO_NUL_PATTERN, NON_BLANK_PATTERN
from corpora.models import Corpus
from judging.models import Judgment
from sessions.models import Answer, Batch, EvaluationSession
from sessions.question_files import MAX_QUESTIONS, ConversationInput, QuestionInput
from sessions.reports.data import ProbeResult
from sessions.selectors import SessionReport, TurnReport, session_progress
from sessions.session_settings import (
    K_DEFAULT,
    K_MAX,
    K_MIN,
    REPEATS_DEFAULT,
    REPEATS_MAX,
    REPEATS_MIN,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    SessionSettings,
)

# --- Requests --------------------------------------------------------------------------

# The providers a client may choose ("provided" is set by judge-only batches themselves).
PROVIDER_CHOICES = [(p.value, p.label) for p in (EvaluationSession.Provider.OFFLINE, EvaluationSession.Provider.OPENAI)]


class SessionSettingsSerializer(StrictJSONMixin, serializers.Serializer):
    retrieval_mode = serializers.ChoiceField(
        choices=EvaluationSession.RetrievalMode.choices, default=EvaluationSession.RetrievalMode.HYBRID
    )
    k = serializers.IntegerField(
        min_value=K_MIN, max_value=K_MAX, default=K_DEFAULT, help_text="Passages retrieved per question."
    )
    web_search = serializers.BooleanField(default=False)
    generator_provider = serializers.ChoiceField(
        choices=PROVIDER_CHOICES,
        required=False,
        allow_null=True,
        default=None,
        help_text="Default: openai where an LLM endpoint is configured, else offline.",
    )
    generator_model = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    temperature = serializers.FloatField(min_value=TEMPERATURE_MIN, max_value=TEMPERATURE_MAX, default=0.0)
    prompt_template = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="Must contain {context} and {question}; {history} is optional. Blank: the default template.",
    )
    judge_provider = serializers.ChoiceField(choices=PROVIDER_CHOICES, required=False, allow_null=True, default=None)
    judge_model = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    judge_repeats = serializers.IntegerField(min_value=REPEATS_MIN, max_value=REPEATS_MAX, default=REPEATS_DEFAULT)
    robustness = serializers.BooleanField(default=False, help_text="Also judge deliberately wrong answers.")
    budget_usd = serializers.DecimalField(
        max_digits=10, decimal_places=4, min_value=Decimal(0), required=False, allow_null=True, default=None
    )

    rubric = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Rubric id (see /api/v1/rubrics/); default rubric if unset.",
    )

    def to_settings(self) -> SessionSettings:
        return self.settings_of(self.validated_data)

    @staticmethod
    def settings_of(d: dict | None) -> SessionSettings:
        """The settings of this serializer's validated data; the defaults when none was sent."""
        if d is None:
            return SessionSettings()
        return SessionSettings(
            rubric_id=d["rubric"],
            retrieval_mode=d["retrieval_mode"],
            retrieval_k=d["k"],
            web_search=d["web_search"],
            generator_provider=d["generator_provider"],
            generator_model=d["generator_model"],
            temperature=d["temperature"],
            prompt_template=d["prompt_template"],
            judge_provider=d["judge_provider"],
            judge_model=d["judge_model"],
            judge_repeats=d["judge_repeats"],
            robustness=d["robustness"],
            budget_usd=d["budget_usd"],
        )


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "minLength": 1, "pattern": NON_BLANK_PATTERN, "description": "The question text."},
            {
                "type": "object",
                "properties": {
                    "question": {"type": "string", "minLength": 1, "pattern": NON_BLANK_PATTERN},
                    "reference_answer": {"type": "string", "nullable": True, "pattern": NO_NUL_PATTERN},
                },
                "required": ["question"],
            },
        ]
    }
)
class QuestionItemField(serializers.Field):
    """A question: plain text, or ``{"question", "reference_answer"}``."""

    default_error_messages = {
        "invalid": 'A question is a string or {{"question": ..., "reference_answer": ...}}.',  # fail() formats
        "blank": "A question cannot be empty.",
        "null_characters": "A question cannot contain NUL characters.",
    }

    def to_internal_value(self, data) -> QuestionInput:
        if isinstance(data, str):
            text, reference = data, ""
        elif isinstance(data, dict) and isinstance(data.get("question", data.get("text")), str):
            text = data.get("question", data.get("text"))
            reference = data.get("reference_answer")
            reference = "" if reference is None else reference
            if not isinstance(reference, str):
                self.fail("invalid")
        else:
            self.fail("invalid")
        if not text.strip():
            self.fail("blank")
        if "\x00" in text or "\x00" in reference:
            self.fail("null_characters")
        return QuestionInput(text=text.strip(), reference_answer=reference.strip())

    def to_representation(self, value):
        return {"question": value.text, "reference_answer": value.reference_answer}


class ConversationInputSerializer(StrictJSONMixin, serializers.Serializer):
    label = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    questions = serializers.ListField(
        child=QuestionItemField(), allow_empty=False, min_length=1, max_length=MAX_QUESTIONS
    )


def _conversations(data: list[dict]) -> list[ConversationInput]:
    return [
        ConversationInput(label=c["label"] or f"Conversation {i}", questions=c["questions"])
        for i, c in enumerate(data, start=1)
    ]


@extend_schema_field(OpenApiTypes.INT)
class _ScopedCorpusField(serializers.PrimaryKeyRelatedField):
    """A corpus id among the requesting user's teams' corpora; others do not exist."""

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return Corpus.objects.none()
        return scope_to_user(Corpus.objects.all(), user=request.user)


def _check_total(conversations: list[dict]) -> None:
    total = sum(len(c["questions"]) for c in conversations)
    if total > MAX_QUESTIONS:
        raise serializers.ValidationError({"conversations": f"{total} questions; at most {MAX_QUESTIONS}."})


class SessionCreateSerializer(StrictJSONMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    corpus = _ScopedCorpusField(help_text="A corpus of your team.")
    conversations = ConversationInputSerializer(many=True, allow_empty=False, min_length=1)
    settings = SessionSettingsSerializer(required=False)
    start = serializers.BooleanField(default=True, help_text="Start at once (default); false leaves a draft.")
    team = TeamField()

    def validate(self, attrs):
        _check_total(attrs["conversations"])
        return attrs

    def to_conversations(self) -> list[ConversationInput]:
        return _conversations(self.validated_data["conversations"])

    def to_settings(self) -> SessionSettings:
        return SessionSettingsSerializer.settings_of(self.validated_data.get("settings"))


class AnswerItemSerializer(StrictJSONMixin, serializers.Serializer):
    question = serializers.CharField(min_length=1)
    answer = serializers.CharField(min_length=1)
    context = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        default=list,
        help_text='Passages the answer was given; a leading "[tag]" is kept as the source tag.',
    )
    history = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True)),
        required=False,
        allow_null=True,
        default=None,
        help_text="Earlier turns: [{question, answer}, …]. Default: earlier items of the same conversation.",
    )
    conversation = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    reference_answer = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_history(self, value):
        if value is not None:
            for turn in value:
                if "question" not in turn or "answer" not in turn:
                    raise serializers.ValidationError("Each history turn needs 'question' and 'answer'.")
        return value


class _BatchBaseSerializer(StrictJSONMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    settings = SessionSettingsSerializer(required=False)
    team = TeamField()


class QuestionsBatchSerializer(_BatchBaseSerializer):
    """Questions to answer on a corpus and judge."""

    kind = serializers.ChoiceField(choices=[Batch.Kind.QUESTIONS.value])
    corpus = _ScopedCorpusField(help_text="A corpus of your team.")
    conversations = ConversationInputSerializer(many=True, allow_empty=False, min_length=1)

    def validate(self, attrs):
        _check_total(attrs["conversations"])
        return attrs


class AnswersBatchSerializer(_BatchBaseSerializer):
    """Ready answers to judge (no retrieval, no generation)."""

    kind = serializers.ChoiceField(choices=[Batch.Kind.ANSWERS.value])
    items = AnswerItemSerializer(many=True, allow_empty=False, min_length=1, max_length=MAX_QUESTIONS)


BATCH_SERIALIZERS = {
    Batch.Kind.QUESTIONS.value: QuestionsBatchSerializer,
    Batch.Kind.ANSWERS.value: AnswersBatchSerializer,
}

# The request body as the schema documents it: one shape per kind, told apart by "kind".
BATCH_CREATE_REQUEST = PolymorphicProxySerializer(
    component_name="BatchCreate",
    serializers=BATCH_SERIALIZERS,
    resource_type_field_name="kind",
)


class BatchCreateSerializer(StrictJSONMixin, serializers.Serializer):
    """Validates a batch with the serializer of its ``kind`` (see ``BATCH_CREATE_REQUEST``)."""

    kind = serializers.ChoiceField(choices=Batch.Kind.choices)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            return super().to_internal_value(data)  # the usual "expected a dictionary" error
        kind = super().to_internal_value({"kind": data.get("kind")})["kind"]
        body = BATCH_SERIALIZERS[kind](data=data, context=self.context)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def to_conversations(self) -> list[ConversationInput]:
        return _conversations(self.validated_data.get("conversations") or [])

    def to_items(self) -> list[dict]:
        items = []
        for item in self.validated_data.get("items") or []:
            row = {k: v for k, v in item.items() if v not in (None, "")}
            row.setdefault("context", [])
            items.append(row)
        return items

    def to_settings(self) -> SessionSettings:
        return SessionSettingsSerializer.settings_of(self.validated_data.get("settings"))


# --- Responses -------------------------------------------------------------------------


class ProgressSerializer(serializers.Serializer):
    questions = serializers.IntegerField()
    answered = serializers.IntegerField()
    failed = serializers.IntegerField()
    judgments = serializers.IntegerField()
    judged = serializers.IntegerField()
    percent = serializers.IntegerField(min_value=0, max_value=100)
    status = serializers.ChoiceField(choices=EvaluationSession.Status.choices)
    status_display = serializers.CharField()
    is_active = serializers.BooleanField()


def _session_links(session_id: int) -> dict:
    return {
        "self": reverse("api:session-detail", args=[session_id]),
        "results": reverse("api:session-results", args=[session_id]),
        "report_pdf": reverse("api:session-report-pdf", args=[session_id]),
        "report_xlsx": reverse("api:session-report-xlsx", args=[session_id]),
    }


class SessionLinksSerializer(serializers.Serializer):
    self = serializers.CharField()
    results = serializers.CharField()
    report_pdf = serializers.CharField()
    report_xlsx = serializers.CharField()


class _SessionBaseSerializer(serializers.ModelSerializer):
    """What the list rows and the detail share."""

    team = serializers.IntegerField(source="team_id", read_only=True)
    corpus = serializers.IntegerField(source="corpus_id", read_only=True, allow_null=True)
    corpus_name = serializers.CharField(source="corpus.name", read_only=True, allow_null=True)
    rubric = serializers.CharField(read_only=True)
    links = serializers.SerializerMethodField()

    HEAD = ["id", "name", "team", "corpus", "corpus_name", "status", "status_reason"]
    TAIL = ["created_at", "started_at", "finished_at", "links"]

    @extend_schema_field(SessionLinksSerializer)
    def get_links(self, obj: EvaluationSession) -> dict:
        return _session_links(obj.pk)


class SessionListSerializer(_SessionBaseSerializer):
    """A row of the list: no per-row queries (counts come annotated by the view)."""

    question_count = serializers.IntegerField(read_only=True)
    answered_count = serializers.IntegerField(read_only=True, help_text="Questions with an answer.")

    class Meta:
        model = EvaluationSession
        fields = [
            *_SessionBaseSerializer.HEAD,
            "generator_provider",
            "generator_model",
            "judge_provider",
            "judge_model",
            "rubric",
            "robustness",
            "question_count",
            "answered_count",
            *_SessionBaseSerializer.TAIL,
        ]
        read_only_fields = fields


class SessionSettingsOutSerializer(serializers.Serializer):
    retrieval_mode = serializers.ChoiceField(choices=EvaluationSession.RetrievalMode.choices)
    k = serializers.IntegerField(source="retrieval_k")
    web_search = serializers.BooleanField()
    generator_provider = serializers.ChoiceField(choices=EvaluationSession.Provider.choices)
    generator_model = serializers.CharField()
    temperature = serializers.FloatField()
    prompt_template = serializers.CharField()
    judge_provider = serializers.ChoiceField(choices=EvaluationSession.Provider.choices)
    judge_model = serializers.CharField()
    judge_repeats = serializers.IntegerField()
    robustness = serializers.BooleanField()
    budget_usd = serializers.DecimalField(max_digits=10, decimal_places=4, allow_null=True)
    spent_usd = serializers.DecimalField(max_digits=12, decimal_places=6)


class SessionDetailSerializer(_SessionBaseSerializer):
    """A session with its settings, cost estimate and live progress (``context["progress"]``)."""

    settings = SessionSettingsOutSerializer(source="*", read_only=True)
    estimate = serializers.JSONField(read_only=True)
    progress = serializers.SerializerMethodField()
    batch = serializers.IntegerField(source="batch.pk", read_only=True, allow_null=True)

    class Meta:
        model = EvaluationSession
        fields = [
            *_SessionBaseSerializer.HEAD,
            "rubric",
            "settings",
            "estimate",
            "progress",
            "batch",
            *_SessionBaseSerializer.TAIL,
        ]
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, obj: EvaluationSession) -> dict:
        return ProgressSerializer(self.context.get("progress") or session_progress(session=obj)).data


class BatchLinksSerializer(serializers.Serializer):
    self = serializers.CharField()
    session = serializers.CharField()
    results = serializers.CharField()


class BatchSerializer(serializers.ModelSerializer):
    session = SessionDetailSerializer(read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = ["id", "kind", "idempotency_key", "item_count", "created_at", "session", "links"]
        read_only_fields = fields

    @extend_schema_field(BatchLinksSerializer)
    def get_links(self, obj: Batch) -> dict:
        return {
            "self": reverse("api:batch-detail", args=[obj.pk]),
            "session": reverse("api:session-detail", args=[obj.session_id]),
            "results": reverse("api:session-results", args=[obj.session_id]),
        }


# --- Results -----------------------------------------------------------------------------


class MeanSerializer(serializers.Serializer):
    """A ``judging.scoring.MeanSummary``."""

    mean = serializers.FloatField(allow_null=True, help_text="Null when nothing was scored.")
    n_scored = serializers.IntegerField()
    n_total = serializers.IntegerField()
    n_missing = serializers.IntegerField(help_text="Answers without a score: never counted as zero.")
    n_failed = serializers.IntegerField(help_text="Missing because the judge call failed (provider errors).")
    n_unparseable = serializers.IntegerField(help_text="Missing because the judge's reply could not be read.")
    n_pending = serializers.IntegerField(help_text="Missing because judging has not finished.")
    text = serializers.CharField(
        source="*", help_text='E.g. "mean 81.4 over 47 of 50 judged; 1 failed, 2 unparseable".'
    )


class CriterionMeanSerializer(MeanSerializer):
    """A ``(criterion spec, MeanSummary)`` pair of the report's ``per_criterion``."""

    key = serializers.CharField()
    name = serializers.CharField()
    weight = serializers.FloatField()

    def to_representation(self, instance) -> dict:
        criterion, summary = instance
        return {
            "key": criterion.key,
            "name": criterion.name,
            "weight": float(criterion.weight),
            **MeanSerializer(summary).data,
        }


class ReferenceSimilaritySerializer(serializers.Serializer):
    mean = serializers.FloatField(allow_null=True, help_text="Mean cosine similarity to the reference answers.")
    n_scored = serializers.IntegerField()
    n_with_reference = serializers.IntegerField()


class TotalsSerializer(serializers.Serializer):
    wall_clock_ms = serializers.IntegerField(allow_null=True)
    generation_ms = serializers.IntegerField(help_text="Sum of response latencies.")
    judging_ms = serializers.IntegerField(help_text="Sum of evaluation latencies (probes included).")
    questions = serializers.IntegerField()
    conversations = serializers.IntegerField()
    answered = serializers.IntegerField()
    failed_answers = serializers.IntegerField()
    unparseable_judgments = serializers.IntegerField()
    failed_judgments = serializers.IntegerField()
    pending_judgments = serializers.IntegerField()
    flagged_for_review = serializers.IntegerField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    spent_usd = serializers.FloatField()
    mean_score = MeanSerializer()
    per_criterion = CriterionMeanSerializer(many=True)
    reference_similarity = ReferenceSimilaritySerializer()


class PassageSerializer(serializers.Serializer):
    """A ``RetrievedPassage``."""

    rank = serializers.IntegerField()
    tag = serializers.CharField(source="source_tag")
    score = serializers.FloatField()
    source = serializers.CharField()
    text = serializers.CharField()
    url = serializers.CharField(allow_blank=True)
    chunk_id = serializers.IntegerField(allow_null=True)


class VerdictSerializer(serializers.Serializer):
    """A ``judging.selectors.EffectiveRating``."""

    criterion = serializers.CharField(source="key")
    name = serializers.CharField()
    rating = serializers.CharField(help_text="Effective rating (the latest override, else the judge's).")
    points = serializers.IntegerField()
    rationale = serializers.CharField(allow_blank=True)
    overridden = serializers.BooleanField()
    judge_rating = serializers.CharField(help_text="The judge's original rating; never edited.")


class JudgmentBriefSerializer(serializers.Serializer):
    """A ``Judgment`` with ``effective`` ratings and ``score`` set by the session report."""

    id = serializers.IntegerField()
    repeat_index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Judgment.Status.choices)
    weighted_score = serializers.FloatField(source="score", allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)
    judge_provider = serializers.CharField()
    judge_model = serializers.CharField()
    flagged_for_review = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    raw_output = serializers.SerializerMethodField(help_text="Kept when the reply could not be parsed.")
    verdicts = VerdictSerializer(many=True, source="effective")

    def get_raw_output(self, obj) -> str | None:
        return obj.raw_output if obj.status != "ok" else None


class QuestionResultSerializer(serializers.Serializer):
    """A ``sessions.selectors.TurnReport``: its question, latest answer and judgments."""

    conversation = serializers.CharField()
    conversation_position = serializers.IntegerField(source="conversation.position")
    position = serializers.IntegerField(source="question.position")
    question_id = serializers.IntegerField(source="question.pk")
    question = serializers.CharField(source="question.text")
    reference_answer = serializers.CharField(source="question.reference_answer", allow_blank=True)
    reference_similarity = serializers.FloatField(source="answer.reference_similarity", allow_null=True)
    answer_id = serializers.IntegerField(source="answer.pk", allow_null=True)
    answer_status = serializers.ChoiceField(source="answer.status", choices=Answer.Status.choices, allow_null=True)
    answer = serializers.CharField(source="answer.text", allow_null=True)
    answer_error = serializers.CharField(source="answer.error", allow_blank=True, default="")
    attempt = serializers.IntegerField(source="answer.attempt", allow_null=True)
    provider = serializers.CharField(source="answer.provider", allow_null=True)
    model = serializers.CharField(source="answer.model", allow_null=True)
    prompt = serializers.CharField(source="answer.prompt", allow_null=True)
    history = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(allow_blank=True), min_length=2, max_length=2),
        source="answer.history",
        allow_null=True,
        help_text="The earlier turns the answer was generated with (or submitted with): [[question, answer], …].",
    )
    retrieval_query = serializers.CharField(source="answer.retrieval_query", allow_null=True)
    passages = PassageSerializer(many=True)
    response_latency_ms = serializers.IntegerField(source="answer.response_latency_ms", allow_null=True)
    evaluation_latency_ms = serializers.IntegerField(allow_null=True)
    verdicts = VerdictSerializer(many=True, source="ratings")
    weighted_score = serializers.FloatField(
        source="score", allow_null=True, help_text="Mean over the judgments (repeats)."
    )
    score_spread = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    unstable = serializers.BooleanField()
    judgments = JudgmentBriefSerializer(many=True)


class ProbeResultSerializer(serializers.Serializer):
    """A ``sessions.reports.data.ProbeResult``."""

    id = serializers.IntegerField()
    strategy = serializers.CharField()
    strategy_label = serializers.CharField()
    origin = serializers.CharField()
    expected_criteria = serializers.ListField(child=serializers.CharField())
    question = serializers.CharField()
    genuine_answer_id = serializers.IntegerField()
    fake_answer = serializers.CharField()
    judgment_id = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=Judgment.Status.choices, allow_null=True)
    verdicts = VerdictSerializer(many=True, source="ratings")
    weighted_score = serializers.FloatField(source="score", allow_null=True)


class OverrideSerializer(serializers.Serializer):
    """An ``Override`` of a genuine answer's verdict."""

    id = serializers.IntegerField()
    judgment = serializers.IntegerField(source="judgment_id")
    question = serializers.CharField(source="judgment.answer.question.text", allow_null=True)
    criterion = serializers.CharField(source="criterion.key")
    criterion_name = serializers.CharField(source="criterion.name")
    reviewer = serializers.CharField()
    old_rating = serializers.CharField()
    new_rating = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


@dataclass(frozen=True)
class SessionResults:
    """What the ``results/`` document is made of: the session report and its probes."""

    report: SessionReport
    probes: list[ProbeResult]

    @property
    def turns(self) -> list[TurnReport]:
        return [turn for _, turns in self.report.conversations for turn in turns]


class ResultsSerializer(serializers.Serializer):
    """A ``SessionResults``."""

    session = serializers.IntegerField(source="report.session.pk")
    name = serializers.CharField(source="report.session.name")
    status = serializers.ChoiceField(source="report.session.status", choices=EvaluationSession.Status.choices)
    status_reason = serializers.CharField(source="report.session.status_reason", allow_blank=True)
    rubric = serializers.CharField(source="report.session.rubric")
    totals = TotalsSerializer(source="report.totals")
    questions = QuestionResultSerializer(many=True, source="turns")
    robustness = serializers.JSONField(
        source="report.robustness.to_dict",
        allow_null=True,
        help_text="Per strategy drops, AUROC, worst case, verdict.",
    )
    probes = ProbeResultSerializer(many=True)
    overrides = OverrideSerializer(many=True, source="report.overrides")
