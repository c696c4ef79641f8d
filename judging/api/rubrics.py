"""Rubrics API: the shared default and a team's own rubrics; reviewers and admins add versions."""

from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import TeamField, TeamScopedViewSetMixin
from accounts.models import Membership
from accounts.selectors import membership_for
from core.api_fields import StrictJSONMixin
from core.api_params import SingleValuedQueryMixin
from judging.models import Criterion, Rubric
from judging.services import rubric_create


class CriterionSerializer(StrictJSONMixin, serializers.ModelSerializer):
    weight = serializers.DecimalField(max_digits=5, decimal_places=4)

    class Meta:
        model = Criterion
        fields = ["key", "name", "description", "weight"]


class ScaleLevelSerializer(StrictJSONMixin, serializers.Serializer):
    label = serializers.CharField(max_length=64)
    points = serializers.IntegerField(min_value=0, max_value=100)


class RubricSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True, allow_null=True)
    criteria = CriterionSerializer(many=True, read_only=True)
    scale = ScaleLevelSerializer(many=True, read_only=True)

    class Meta:
        model = Rubric
        fields = ["id", "team", "name", "version", "instructions", "scale", "criteria", "is_default", "locked"]
        read_only_fields = fields


class RubricCreateSerializer(StrictJSONMixin, serializers.Serializer):
    team = TeamField()
    name = serializers.CharField(min_length=1, max_length=200)
    instructions = serializers.CharField(required=False, allow_blank=True, default="")
    criteria = CriterionSerializer(many=True, min_length=1)
    scale = ScaleLevelSerializer(many=True, required=False)


class RubricViewSet(
    SingleValuedQueryMixin,
    TeamScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Rubrics you can use: the shared default and your teams' own. A new name or a new
    version of an existing name is created by POST; rubrics are never edited in place."""

    queryset = Rubric.objects.all()
    serializer_class = RubricSerializer

    def get_queryset(self):
        own = super().get_queryset()  # the user's teams' rubrics
        shared = Rubric.objects.filter(team__isnull=True)
        return (
            Rubric.objects.filter(Q(pk__in=own.values("pk")) | Q(pk__in=shared.values("pk")))
            .prefetch_related("criteria")
            .order_by("name", "-version")
        )

    @extend_schema(request=RubricCreateSerializer, responses={201: RubricSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        body = RubricCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        team = self.get_team(body.validated_data.get("team"))
        membership = membership_for(user=request.user, team=team)
        if membership is None or membership.role not in (Membership.Role.REVIEWER, Membership.Role.ADMIN):
            raise PermissionDenied("Only reviewers and admins of the team can define rubrics.")
        data = body.validated_data
        rubric = rubric_create(
            team=team,
            name=data["name"],
            criteria=[dict(c) for c in data["criteria"]],
            scale=[dict(level) for level in data["scale"]] if data.get("scale") else None,
            instructions=data["instructions"],
        )
        rubric = self.get_queryset().get(pk=rubric.pk)
        return Response(RubricSerializer(rubric).data, status=status.HTTP_201_CREATED)
