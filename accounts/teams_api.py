"""Teams API: your teams and your role; members listed for every member, managed by admins.

Scoping goes through ``TeamScopedViewSetMixin`` (another team is a 404); role checks live in
the services (``accounts.services``), which raise ``NotAllowed`` (403) for non-admins.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import TeamScopedViewSetMixin
from accounts.models import Membership, Team
from accounts.selectors import team_members
from accounts.services import member_add, member_remove, member_role_set
from core.api_fields import StrictJSONMixin
from core.api_params import SingleValuedQueryMixin
from core.api_schema import error_response

LAST_ADMIN = "The team's last admin cannot leave or stop being admin."


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "slug", "created_at"]
        read_only_fields = fields


class MemberSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(source="user.get_username", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True, help_text="Empty when none was given.")
    has_password = serializers.BooleanField(source="user.has_usable_password", read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Membership
        fields = ["user_id", "username", "email", "role", "has_password", "joined_at"]
        read_only_fields = fields


class MemberAddSerializer(StrictJSONMixin, serializers.Serializer):
    username = serializers.CharField(max_length=150, help_text="An existing user joins; a new name makes an account.")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)


class MemberAddedSerializer(MemberSerializer):
    created_account = serializers.BooleanField(read_only=True)
    set_password_url = serializers.CharField(
        read_only=True, allow_null=True, help_text="New accounts only: a one-time link to choose a password."
    )
    mailed = serializers.BooleanField(read_only=True)

    class Meta(MemberSerializer.Meta):
        fields = [*MemberSerializer.Meta.fields, "created_account", "set_password_url", "mailed"]
        read_only_fields = fields


class MemberRoleSerializer(StrictJSONMixin, serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class TeamViewSet(
    SingleValuedQueryMixin,
    TeamScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The teams you belong to. Members: everyone in the team reads; admins add, re-role, remove."""

    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    team_path = "pk"

    @extend_schema(methods=["GET"], responses={200: MemberSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=MemberAddSerializer,
        responses={
            201: MemberAddedSerializer,
            403: error_response("Not an admin of the team."),
            409: error_response("Already a member of the team."),
        },
    )
    @action(detail=True, methods=["get", "post"], serializer_class=MemberSerializer, pagination_class=None)
    def members(self, request: Request, pk: str | None = None) -> Response:
        team = self.get_object()
        if request.method == "GET":
            return Response(MemberSerializer(team_members(team=team), many=True).data)
        body = MemberAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        added = member_add(
            team=team, actor=request.user, site_url=request.build_absolute_uri("/").rstrip("/"), **body.validated_data
        )
        membership = added.membership
        membership.created_account = added.created_account
        membership.set_password_url = (
            request.build_absolute_uri(added.set_password_path) if added.set_password_path else None
        )
        membership.mailed = added.mailed
        return Response(MemberAddedSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["PATCH"],
        request=MemberRoleSerializer,
        responses={200: MemberSerializer, 409: error_response(LAST_ADMIN)},
    )
    @extend_schema(methods=["DELETE"], request=None, responses={204: None, 409: error_response(LAST_ADMIN)})
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=r"members/(?P<user_id>[0-9]+)",
        serializer_class=MemberSerializer,
    )
    def member(self, request: Request, pk: str | None = None, user_id: str | None = None) -> Response:
        team = self.get_object()
        if request.method == "DELETE":
            member_remove(team=team, actor=request.user, user_id=int(user_id))
            return Response(status=status.HTTP_204_NO_CONTENT)
        body = MemberRoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = member_role_set(team=team, actor=request.user, user_id=int(user_id), **body.validated_data)
        return Response(MemberSerializer(membership).data)
