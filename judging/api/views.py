"""Judgments API: read a judgment; reviewers and admins confirm it or add overrides (verdicts are
never edited)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import TeamScopedViewSetMixin
from accounts.selectors import scope_to_user
from core.api_params import SingleValuedQueryMixin, query_values
from core.api_schema import error_response
from judging.api.permissions import ReadOrReview
from judging.api.serializers import (
    ConfirmationCreateSerializer,
    ConfirmationOutSerializer,
    JudgmentFilterSerializer,
    JudgmentSerializer,
    OverrideCreateSerializer,
    OverrideOutSerializer,
)
from judging.models import Judgment
from judging.selectors import judgment_effective, judgments_filter, judgments_prefetched, rubric_spec
from judging.services import judgment_confirm, override_create

ANSWER_TEAM = "answer__question__session__team"
PROBE_TEAM = "probe__answer__question__session__team"


class JudgmentViewSet(
    SingleValuedQueryMixin,
    TeamScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Judgments of genuine answers and of robustness probes, in your teams."""

    queryset = Judgment.objects.all()
    serializer_class = JudgmentSerializer
    permission_classes = [ReadOrReview]
    team_path = ANSWER_TEAM

    def get_queryset(self):
        # A judgment belongs to a team through its answer or through its probe's answer.
        user = self.request.user
        base = Judgment.objects.all()
        scoped = scope_to_user(base, user=user, team_path=ANSWER_TEAM) | scope_to_user(
            base, user=user, team_path=PROBE_TEAM
        )
        return judgments_prefetched(
            scoped.select_related("rubric", "answer__question__session", "probe__answer__question__session")
        )

    def get_object_team_id(self, obj: Judgment) -> int:
        answer = obj.answer if obj.answer_id else obj.probe.answer
        return answer.question.session.team_id

    def _with_effective(self, judgment: Judgment, specs: dict | None = None) -> Judgment:
        specs = {} if specs is None else specs
        if judgment.rubric_id not in specs:
            specs[judgment.rubric_id] = rubric_spec(rubric=judgment.rubric)
        judgment.effective, judgment.score = judgment_effective(judgment=judgment, spec=specs[judgment.rubric_id])
        return judgment

    @extend_schema(
        parameters=[JudgmentFilterSerializer],
        responses={200: JudgmentSerializer(many=True)},
        description="Your teams' judgments, newest first, filtered by session, kind, status, flag and overrides.",
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        params = JudgmentFilterSerializer(data=query_values(request, JudgmentFilterSerializer))
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        queryset = judgments_filter(
            self.get_queryset().order_by("-pk"),
            session_id=filters.get("session"),
            kind=filters.get("kind"),
            status=filters.get("status"),
            flagged=filters.get("flagged"),
            overridden=filters.get("overridden"),
        )
        page = self.paginate_queryset(queryset)
        specs: dict = {}
        return self.get_paginated_response(
            JudgmentSerializer([self._with_effective(j, specs) for j in page], many=True).data
        )

    @extend_schema(responses={200: JudgmentSerializer})
    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(JudgmentSerializer(self._with_effective(self.get_object())).data)

    @extend_schema(methods=["GET"], responses={200: OverrideOutSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=OverrideCreateSerializer,
        responses={
            201: OverrideOutSerializer,
            400: error_response("Unknown criterion or rating, or no reason."),
            403: error_response("Only reviewers and admins override."),
        },
        examples=[
            OpenApiExample(
                "Override faithfulness",
                value={
                    "criterion": "faithfulness",
                    "rating": "Poor",
                    "reason": "The 88.6 figure is not in the context.",
                },
                request_only=True,
            )
        ],
        description="Override one criterion's rating. The judge's verdict is kept; the latest override wins.",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def overrides(self, request: Request, pk: str | None = None) -> Response:
        judgment = self.get_object()
        if request.method == "GET":
            return Response(OverrideOutSerializer(judgment.overrides.all(), many=True).data)
        serializer = OverrideCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        override = override_create(
            judgment=judgment,
            criterion_key=data["criterion"],
            reviewer=request.user,
            new_rating=data["rating"],
            reason=data["reason"],
        )
        return Response(OverrideOutSerializer(override).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ConfirmationCreateSerializer,
        responses={
            201: ConfirmationOutSerializer,
            400: error_response("The judgment has no verdict to confirm."),
            403: error_response("Only reviewers and admins confirm."),
        },
        description=(
            "Agree with the judge's verdict as it stands. Counts towards judge–human agreement; "
            "confirming again returns the existing confirmation."
        ),
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        judgment = self.get_object()
        serializer = ConfirmationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        confirmation = judgment_confirm(
            judgment=judgment, reviewer=request.user, note=serializer.validated_data["note"]
        )
        return Response(ConfirmationOutSerializer(confirmation).data, status=status.HTTP_201_CREATED)
