"""Sessions and batches API: thin views over `sessions.batches`, `sessions.services`, selectors."""

from __future__ import annotations

import re

from django.db.models import Count, Q
from django.http import HttpResponse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import TeamScopedViewSetMixin
from core.api_params import SingleValuedQueryMixin
from core.api_schema import error_response
from sessions.api.serializers import (
    BATCH_CREATE_REQUEST,
    BatchCreateSerializer,
    BatchSerializer,
    ResultsSerializer,
    SessionCreateSerializer,
    SessionDetailSerializer,
    SessionListSerializer,
    SessionResults,
)
from sessions.batches import BatchRequest, batch_submit, request_fingerprint, session_submit
from sessions.models import Answer, Batch, EvaluationSession
from sessions.reports import XLSX_CONTENT_TYPE, render_pdf, render_xlsx
from sessions.reports.data import probe_results
from sessions.selectors import session_progress, session_report
from sessions.services import session_cancel, session_resume

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    description=(
        "Optional, per team. Repeating a request with the same key and body returns the original batch "
        "(200) instead of creating another; the same key with a different body is a 409."
    ),
)


class AnyContentNegotiation(BaseContentNegotiation):
    """File downloads: answer with the view's one renderer whatever the client accepts."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _download(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _filename(session: EvaluationSession, suffix: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]", "", slugify(session.name))[:60] or "session"
    return f"session-{session.pk}-{stem}.{suffix}"


class SessionViewSet(
    SingleValuedQueryMixin,
    TeamScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Evaluation sessions of your teams: create and start, follow progress, read results."""

    queryset = EvaluationSession.objects.select_related("corpus", "team", "rubric")
    team_path = "team"

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            queryset = queryset.annotate(
                question_count=Count("questions", distinct=True),
                answered_count=Count("questions", filter=Q(questions__answers__status=Answer.Status.OK), distinct=True),
            ).order_by("-created_at", "-pk")
        return queryset

    def get_serializer_class(self):
        return SessionListSerializer if self.action == "list" else SessionDetailSerializer

    @extend_schema(
        request=SessionCreateSerializer,
        responses={201: SessionDetailSerializer},
        examples=[
            OpenApiExample(
                "Two conversations",
                value={
                    "name": "SAT smoke test",
                    "corpus": 1,
                    "conversations": [
                        {"label": "Basics", "questions": ["What is SAT?", "How many weights does it update?"]},
                        {"questions": [{"question": "Is SAT fast?", "reference_answer": "It adds no latency."}]},
                    ],
                    "settings": {"retrieval_mode": "hybrid", "k": 5, "robustness": True},
                },
                request_only=True,
            )
        ],
        description=(
            "Create a session of conversations of questions on one of your corpora and start it "
            '(`"start": false` leaves a draft). The response carries the cost estimate and progress.'
        ),
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = SessionCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        corpus = data["corpus"]
        team = self.get_team(data["team"]) if data.get("team") is not None else corpus.team
        session = session_submit(
            team=team,
            user=request.user,
            corpus=corpus,
            name=data["name"],
            conversations=serializer.to_conversations(),
            settings=serializer.to_settings(),
            start=data["start"],
        )
        session = self.get_queryset().get(pk=session.pk)
        return Response(SessionDetailSerializer(session).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={200: SessionDetailSerializer, 409: error_response("The session has already finished.")},
        description="Stop a draft, queued or running session; work already done is kept.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        session = session_cancel(session=self.get_object(), reason=f"Cancelled by {request.user} through the API.")
        return Response(SessionDetailSerializer(self.get_queryset().get(pk=session.pk)).data)

    @extend_schema(
        request=None,
        responses={
            200: SessionDetailSerializer,
            409: error_response(
                "The session is a draft, still running, or completed with nothing left to redo "
                "(re-judge it, or create a new session, to run it again)."
            ),
        },
        description=(
            "Redo the unfinished work of a cancelled session or one completed with errors: failed answers "
            "get a new attempt, pending judgments are queued again. The same session is returned, queued."
        ),
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        session = session_resume(session=self.get_object())
        return Response(SessionDetailSerializer(self.get_queryset().get(pk=session.pk)).data)

    @extend_schema(
        responses={200: ResultsSerializer},
        description=(
            "Per question: the answer, the prompt used, passages with tags/scores/ranks, latencies, "
            "verdicts (effective and the judge's), weighted score and judgments (raw output kept when "
            "unparseable); totals with honest accounting; robustness summary and probes; overrides."
        ),
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def results(self, request: Request, pk: str | None = None) -> Response:
        session = self.get_object()
        results = SessionResults(report=session_report(session=session), probes=probe_results(session=session))
        return Response(ResultsSerializer(results).data)

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF report.")},
        description="The session report as PDF: totals, questions, robustness, overrides, in that order.",
    )
    def report_pdf(self, request: Request, pk: str | None = None) -> HttpResponse:
        session = self.get_object()
        content = render_pdf(session_report(session=session))
        return _download(content, content_type="application/pdf", filename=_filename(session, "pdf"))

    @extend_schema(
        responses={
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The workbook."
            )
        },
        description=(
            "The session report as a workbook: Summary, Questions, Verdicts, Passages, Robustness, Probes, "
            "Agreement, Overrides."
        ),
    )
    def report_xlsx(self, request: Request, pk: str | None = None) -> HttpResponse:
        session = self.get_object()
        content = render_xlsx(session_report(session=session))
        return _download(content, content_type=XLSX_CONTENT_TYPE, filename=_filename(session, "xlsx"))

    def get_content_negotiator(self):
        # Called before `self.action` is set; the route's method → action map is known.
        if set(getattr(self, "action_map", {}).values()) & {"report_pdf", "report_xlsx"}:
            return AnyContentNegotiation()
        return super().get_content_negotiator()


class BatchViewSet(SingleValuedQueryMixin, TeamScopedViewSetMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Batches submitted through the API: questions to answer and judge, or answers to judge."""

    queryset = Batch.objects.select_related("session__corpus", "session__rubric", "session__team")
    serializer_class = BatchSerializer
    team_path = "team"

    def _serialize(self, batch: Batch) -> dict:
        return BatchSerializer(batch, context={"progress": session_progress(session=batch.session)}).data

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(self._serialize(self.get_object()))

    @extend_schema(
        request=BATCH_CREATE_REQUEST,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: BatchSerializer,
            200: OpenApiResponse(BatchSerializer, description="A replay: the batch an earlier request created."),
            409: error_response("The key was used with a different body."),
        },
        examples=[
            OpenApiExample(
                "Questions",
                value={"kind": "questions", "corpus": 1, "conversations": [{"questions": ["What is SAT?"]}]},
                request_only=True,
            ),
            OpenApiExample(
                "Answers",
                value={
                    "kind": "answers",
                    "items": [
                        {
                            "question": "How many weights does SAT update?",
                            "answer": "0.8% of them.",
                            "context": ["[Doc: sat.md] SAT updates 0.8% of the weights."],
                        }
                    ],
                },
                request_only=True,
            ),
        ],
        description=(
            '`{"kind": "questions", "corpus", "conversations", "settings"}` answers and judges questions; '
            '`{"kind": "answers", "items": [{question, answer, context, history?, conversation?}], "settings"}` '
            "judges ready answers. The session starts at once."
        ),
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = BatchCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        corpus = data.get("corpus")
        if data.get("team") is None and data["kind"] == Batch.Kind.QUESTIONS and corpus is not None:
            team = corpus.team
        else:
            team = self.get_team(data.get("team"))
        outcome = batch_submit(
            team=team,
            user=request.user,
            request=BatchRequest(
                kind=data["kind"],
                name=data["name"],
                settings=serializer.to_settings(),
                corpus=corpus,
                conversations=serializer.to_conversations(),
                items=serializer.to_items(),
            ),
            fingerprint=request_fingerprint(request.data),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        batch = self.get_queryset().get(pk=outcome.batch.pk)
        return Response(
            self._serialize(batch), status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        )
