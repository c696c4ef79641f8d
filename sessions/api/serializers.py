"""Sessions and batches API: request validation and the shapes of responses.

Responses built from the session report are plain dicts (`results_data`, `progress_data`),
serialized through the read-only serializers below so the OpenAPI schema documents them.
"""

from __future__ import annotations

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
from sessions.batches import SessionSettings
from sessions.models import Answer, Batch, EvaluationSession
from sessions.question_files import MAX_QUESTIONS, ConversationInput, QuestionInput

# --- Requests --------------------------------------------------------------------------

# The providers a client may choose ("provided" is set by judge-only batches themselves).
PROVIDER_CHOICES = [(p.value, p.label) for p in (EvaluationSession.Provider.OFFLINE, EvaluationSession.Provider.OPENAI)]


class SessionSettingsSerializer(StrictJSONMixin, serializers.Serializer):
    retrieval_mode = serializers.ChoiceField(
        choices=EvaluationSession.RetrievalMode.choices, default=EvaluationSession.RetrievalMode.HYBRID
    )
    k = serializers.IntegerField(min_value=1, max_value=50, default=5, help_text="Passages retrieved per question.")
    web_search = serializers.BooleanField(default=False)
    generator_provider = serializers.ChoiceField(
        choices=PROVIDER_CHOICES,
        required=False,
        allow_null=True,
        default=None,
        help_text="Default: openai where an LLM endpoint is configured, else offline.",
    )
    generator_model = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    temperature = serializers.FloatField(min_value=0.0, max_value=2.0, default=0.0)
    prompt_template = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="Must contain {context} and {question}; {history} is optional. Blank: the default template.",
    )
    judge_provider = serializers.ChoiceField(choices=PROVIDER_CHOICES, required=False, allow_null=True, default=None)
    judge_model = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    judge_repeats = serializers.IntegerField(min_value=1, max_value=10, default=1)
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
        d = self.validated_data
        return SessionSettings(
            rubric_id=d["rubric"],
            retrieval_mode=d["retrieval_mode"],
            retrieval_k=d["k"],
            web_search=d["web_search"],
            generator_provider=d["generator_provider"],
            generator_model=d["generator_model"],
            temperature=d["temperature"],
            prompt_template=d["prompt_template"] or None,
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
        return _settings(self.initial_data.get("settings") if isinstance(self.initial_data, dict) else None)


def _settings(raw) -> SessionSettings:
    nested = SessionSettingsSerializer(data=raw or {})
    nested.is_valid(raise_exception=True)
    return nested.to_settings()


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
        return _settings(self.initial_data.get("settings") if isinstance(self.initial_data, dict) else None)


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
    corpus_name = serializers.SerializerMethodField()
    rubric = serializers.CharField(source="rubric.__str__", read_only=True)
    links = serializers.SerializerMethodField()

    HEAD = ["id", "name", "team", "corpus", "corpus_name", "status", "status_reason"]
    TAIL = ["created_at", "started_at", "finished_at", "links"]

    def get_corpus_name(self, obj: EvaluationSession) -> str | None:
        return obj.corpus.name if obj.corpus_id else None

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

    settings = serializers.SerializerMethodField()
    estimate = serializers.JSONField(read_only=True)
    progress = serializers.SerializerMethodField()
    batch = serializers.SerializerMethodField()

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

    @extend_schema_field(SessionSettingsOutSerializer)
    def get_settings(self, obj: EvaluationSession) -> dict:
        return SessionSettingsOutSerializer(obj).data

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, obj: EvaluationSession) -> dict:
        from sessions.selectors import session_progress

        progress = self.context.get("progress") or session_progress(session=obj)
        return progress.to_dict()

    @extend_schema_field(serializers.IntegerField(allow_null=True, help_text="The batch that made it, if any."))
    def get_batch(self, obj: EvaluationSession) -> int | None:
        return Batch.objects.filter(session=obj).values_list("pk", flat=True).first()


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
    mean = serializers.FloatField(allow_null=True, help_text="Null when nothing was scored.")
    n_scored = serializers.IntegerField()
    n_total = serializers.IntegerField()
    n_missing = serializers.IntegerField(help_text="Judged but unparseable/failed: never counted as zero.")
    text = serializers.CharField(help_text='E.g. "mean 81.4 over 48 of 50 judged; 2 unparseable".')


class CriterionMeanSerializer(MeanSerializer):
    key = serializers.CharField()
    name = serializers.CharField()
    weight = serializers.FloatField()


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
    flagged_for_review = serializers.IntegerField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    spent_usd = serializers.FloatField()
    mean_score = MeanSerializer()
    per_criterion = CriterionMeanSerializer(many=True)
    reference_similarity = ReferenceSimilaritySerializer()


class PassageSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    tag = serializers.CharField()
    score = serializers.FloatField()
    source = serializers.CharField()
    text = serializers.CharField()
    url = serializers.CharField(allow_blank=True)
    chunk_id = serializers.IntegerField(allow_null=True)


class VerdictSerializer(serializers.Serializer):
    criterion = serializers.CharField()
    name = serializers.CharField()
    rating = serializers.CharField(help_text="Effective rating (the latest override, else the judge's).")
    points = serializers.IntegerField()
    rationale = serializers.CharField(allow_blank=True)
    overridden = serializers.BooleanField()
    judge_rating = serializers.CharField(help_text="The judge's original rating; never edited.")


class JudgmentBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    repeat_index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Judgment.Status.choices)
    weighted_score = serializers.FloatField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)
    judge_provider = serializers.CharField()
    judge_model = serializers.CharField()
    flagged_for_review = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    raw_output = serializers.CharField(allow_null=True, help_text="Kept when the reply could not be parsed.")
    verdicts = VerdictSerializer(many=True)


class QuestionResultSerializer(serializers.Serializer):
    conversation = serializers.CharField()
    conversation_position = serializers.IntegerField()
    position = serializers.IntegerField()
    question_id = serializers.IntegerField()
    question = serializers.CharField()
    reference_answer = serializers.CharField(allow_blank=True)
    reference_similarity = serializers.FloatField(allow_null=True)
    answer_id = serializers.IntegerField(allow_null=True)
    answer_status = serializers.ChoiceField(choices=Answer.Status.choices, allow_null=True)
    answer = serializers.CharField(allow_null=True)
    answer_error = serializers.CharField(allow_blank=True)
    attempt = serializers.IntegerField(allow_null=True)
    provider = serializers.CharField(allow_null=True)
    model = serializers.CharField(allow_null=True)
    prompt = serializers.CharField(allow_null=True)
    retrieval_query = serializers.CharField(allow_null=True)
    passages = PassageSerializer(many=True)
    response_latency_ms = serializers.IntegerField(allow_null=True)
    evaluation_latency_ms = serializers.IntegerField(allow_null=True)
    verdicts = VerdictSerializer(many=True)
    weighted_score = serializers.FloatField(allow_null=True, help_text="Mean over the judgments (repeats).")
    score_spread = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    unstable = serializers.BooleanField()
    judgments = JudgmentBriefSerializer(many=True)


class ProbeResultSerializer(serializers.Serializer):
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
    verdicts = VerdictSerializer(many=True)
    weighted_score = serializers.FloatField(allow_null=True)


class OverrideSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    judgment = serializers.IntegerField()
    question = serializers.CharField(allow_null=True)
    criterion = serializers.CharField()
    criterion_name = serializers.CharField()
    reviewer = serializers.CharField()
    old_rating = serializers.CharField()
    new_rating = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class ResultsSerializer(serializers.Serializer):
    session = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=EvaluationSession.Status.choices)
    status_reason = serializers.CharField(allow_blank=True)
    rubric = serializers.CharField()
    totals = TotalsSerializer()
    questions = QuestionResultSerializer(many=True)
    robustness = serializers.JSONField(allow_null=True, help_text="Per strategy drops, AUROC, worst case, verdict.")
    probes = ProbeResultSerializer(many=True)
    overrides = OverrideSerializer(many=True)


def _str(value) -> str | None:
    return None if value is None else str(value)


def verdict_data(rating) -> dict:
    return {
        "criterion": rating.key,
        "name": rating.name,
        "rating": rating.rating,
        "points": rating.points,
        "rationale": rating.rationale,
        "overridden": rating.overridden,
        "judge_rating": rating.judge_rating,
    }


def _mean_data(summary) -> dict:
    return {**summary.to_dict(), "text": str(summary)}


def override_data(o) -> dict:
    answer = o.judgment.answer if o.judgment.answer_id else None
    return {
        "id": o.pk,
        "judgment": o.judgment_id,
        "question": answer.question.text if answer else None,
        "criterion": o.criterion.key,
        "criterion_name": o.criterion.name,
        "reviewer": str(o.reviewer),
        "old_rating": o.old_rating,
        "new_rating": o.new_rating,
        "reason": o.reason,
        "created_at": o.created_at,
    }


def results_data(report, probes: list) -> dict:
    """The `results/` document from a `SessionReport` and its probe results."""
    session = report.session
    totals = dict(report.totals)
    totals["mean_score"] = _mean_data(totals["mean_score"])
    totals["per_criterion"] = [
        {"key": c.key, "name": c.name, "weight": str(c.weight), **_mean_data(summary)}
        for c, summary in totals["per_criterion"]
    ]
    questions = []
    for conversation, turns in report.conversations:
        for turn in turns:
            q, a = turn.question, turn.answer
            questions.append(
                {
                    "conversation": str(conversation),
                    "conversation_position": conversation.position,
                    "position": q.position,
                    "question_id": q.pk,
                    "question": q.text,
                    "reference_answer": q.reference_answer,
                    "reference_similarity": a.reference_similarity if a else None,
                    "answer_id": a.pk if a else None,
                    "answer_status": a.status if a else None,
                    "answer": a.text if a else None,
                    "answer_error": a.error if a else "",
                    "attempt": a.attempt if a else None,
                    "provider": a.provider if a else None,
                    "model": a.model if a else None,
                    "prompt": a.prompt if a else None,
                    "retrieval_query": a.retrieval_query if a else None,
                    "passages": [
                        {
                            "rank": p.rank,
                            "tag": p.source_tag,
                            "score": p.score,
                            "source": p.source,
                            "text": p.text,
                            "url": p.url,
                            "chunk_id": p.chunk_id,
                        }
                        for p in turn.passages
                    ],
                    "response_latency_ms": a.response_latency_ms if a else None,
                    "evaluation_latency_ms": turn.evaluation_latency_ms,
                    "verdicts": [verdict_data(r) for r in turn.ratings],
                    "weighted_score": _str(turn.score),
                    "score_spread": [str(v) for v in turn.score_spread] if turn.score_spread else None,
                    "unstable": turn.unstable,
                    "judgments": [
                        {
                            "id": j.pk,
                            "repeat_index": j.repeat_index,
                            "status": j.status,
                            "weighted_score": _str(j.score),
                            "latency_ms": j.latency_ms,
                            "judge_provider": j.judge_provider,
                            "judge_model": j.judge_model,
                            "flagged_for_review": j.flagged_for_review,
                            "error": j.error,
                            "raw_output": j.raw_output if j.status != "ok" else None,
                            "verdicts": [verdict_data(r) for r in j.effective],
                        }
                        for j in turn.judgments
                    ],
                }
            )
    return {
        "session": session.pk,
        "name": session.name,
        "status": session.status,
        "status_reason": session.status_reason,
        "rubric": str(session.rubric),
        "totals": totals,
        "questions": questions,
        "robustness": report.robustness.to_dict() if report.robustness is not None else None,
        "probes": [
            {
                "id": p.id,
                "strategy": p.strategy,
                "strategy_label": p.strategy_label,
                "origin": p.origin,
                "expected_criteria": p.expected_criteria,
                "question": p.question,
                "genuine_answer_id": p.genuine_answer_id,
                "fake_answer": p.fake_answer,
                "judgment_id": p.judgment_id,
                "status": p.status,
                "verdicts": [verdict_data(r) for r in p.ratings],
                "weighted_score": _str(p.score),
            }
            for p in probes
        ],
        "overrides": [override_data(o) for o in report.overrides],
    }
