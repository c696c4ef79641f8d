"""Judgments and overrides API: the judge's verdicts, the effective ratings, the audit trail."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api_fields import StrictJSONMixin
from judging.models import Confirmation, Judgment, Override


class JudgmentVerdictSerializer(serializers.Serializer):
    criterion = serializers.CharField(source="key")
    name = serializers.CharField()
    rating = serializers.CharField(help_text="Effective rating: the latest override, else the judge's.")
    points = serializers.IntegerField()
    rationale = serializers.CharField(allow_blank=True)
    judge_rating = serializers.CharField(help_text="The judge's rating, never edited.")
    overridden = serializers.BooleanField()


class OverrideOutSerializer(serializers.ModelSerializer):
    criterion = serializers.CharField(source="criterion.key", read_only=True)
    criterion_name = serializers.CharField(source="criterion.name", read_only=True)
    reviewer = serializers.CharField(source="reviewer.get_username", read_only=True)

    class Meta:
        model = Override
        fields = ["id", "judgment", "criterion", "criterion_name", "reviewer", "old_rating", "new_rating", "reason"]
        fields += ["created_at"]
        read_only_fields = fields


class ConfirmationOutSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.get_username", read_only=True)

    class Meta:
        model = Confirmation
        fields = ["id", "judgment", "reviewer", "note", "created_at"]
        read_only_fields = fields


class ConfirmationCreateSerializer(StrictJSONMixin, serializers.Serializer):
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class OverrideCreateSerializer(StrictJSONMixin, serializers.Serializer):
    criterion = serializers.SlugField(max_length=64, help_text="Criterion key, e.g. faithfulness.")
    rating = serializers.CharField(
        min_length=1, max_length=64, help_text="A label on the rubric's scale (the rubric's `scale`), e.g. Good."
    )
    reason = serializers.CharField(
        min_length=1, max_length=5000, help_text="Why the verdict is wrong; kept in the audit trail."
    )


class JudgmentFilterSerializer(serializers.Serializer):
    """Query parameters of the judgments list; each one left out is no filter."""

    session = serializers.IntegerField(required=False, min_value=1, help_text="Judgments of this session.")
    kind = serializers.ChoiceField(choices=Judgment.Kind.choices, required=False)
    status = serializers.ChoiceField(choices=Judgment.Status.choices, required=False)
    flagged = serializers.BooleanField(required=False, help_text="Flagged for review (or not).")
    overridden = serializers.BooleanField(required=False, help_text="With at least one override (or none).")


class JudgmentSerializer(serializers.ModelSerializer):
    """A judgment with effective ratings; the view puts ``effective`` and ``score`` on the instance."""

    session = serializers.SerializerMethodField()
    question = serializers.SerializerMethodField()
    answer_text = serializers.SerializerMethodField()
    kind = serializers.SerializerMethodField()
    rubric = serializers.CharField(source="rubric.__str__", read_only=True)
    judge_weighted_score = serializers.DecimalField(
        source="weighted_score",
        max_digits=5,
        decimal_places=1,
        read_only=True,
        allow_null=True,
        help_text="The score from the judge's own ratings.",
    )
    weighted_score = serializers.DecimalField(
        source="score",
        max_digits=5,
        decimal_places=1,
        read_only=True,
        allow_null=True,
        help_text="The score from the effective ratings (overrides applied).",
    )
    verdicts = JudgmentVerdictSerializer(source="effective", many=True, read_only=True)
    overrides = OverrideOutSerializer(many=True, read_only=True)
    confirmations = ConfirmationOutSerializer(many=True, read_only=True)

    class Meta:
        model = Judgment
        fields = [
            "id",
            "kind",
            "session",
            "answer",
            "probe",
            "question",
            "answer_text",
            "rubric",
            "repeat_index",
            "status",
            "judge_provider",
            "judge_model",
            "temperature",
            "prompt_hash",
            "raw_output",
            "error",
            "latency_ms",
            "attempts",
            "flagged_for_review",
            "judge_weighted_score",
            "weighted_score",
            "verdicts",
            "overrides",
            "confirmations",
            "provenance",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def _answer(self, obj: Judgment):
        return obj.answer if obj.answer_id else obj.probe.answer

    def get_session(self, obj: Judgment) -> int:
        return self._answer(obj).question.session_id

    def get_question(self, obj: Judgment) -> str:
        return self._answer(obj).question.text

    def get_answer_text(self, obj: Judgment) -> str:
        """The text that was judged: the genuine answer, or the probe's fake answer."""
        return obj.answer.text if obj.answer_id else obj.probe.fake_answer

    @extend_schema_field(serializers.ChoiceField(choices=Judgment.Kind.choices))
    def get_kind(self, obj: Judgment) -> str:
        return Judgment.Kind.ANSWER if obj.answer_id else Judgment.Kind.PROBE
