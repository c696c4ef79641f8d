"""Corpora API: list/create/retrieve corpora, list/add documents, search."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import TeamScopedViewSetMixin
from core.api_params import SingleValuedQueryMixin, query_values
from core.api_parsers import BoundedJSONParser
from corpora.api.serializers import (
    CorpusCreateSerializer,
    CorpusSerializer,
    DocumentAddResultSerializer,
    DocumentSerializer,
    DocumentUploadSerializer,
    DocumentUrlSerializer,
    SearchQuerySerializer,
    SearchResultSerializer,
)
from corpora.models import Corpus
from corpora.selectors import chunks_search, corpora_with_counts, documents_for_corpus
from corpora.services import corpus_create, document_add_url, document_upload


def _drf_error(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


def _documents_body(request: Request) -> DocumentUploadSerializer | DocumentUrlSerializer:
    """A multipart form (files, or a url field) or a JSON ``{"url": ...}``, unvalidated."""
    if not request.content_type.startswith("multipart/"):
        return DocumentUrlSerializer(data=request.data)
    data = {"url": request.data["url"]} if "url" in request.data else {}
    # Every value of the field, files or not: a text where a file belongs is an error, not nothing.
    files = request.data.getlist("files") or request.data.getlist("file")
    if files or not data:
        data["files"] = files
    return DocumentUploadSerializer(data=data)


class CorpusViewSet(
    SingleValuedQueryMixin,
    TeamScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Corpus.objects.all()
    serializer_class = CorpusSerializer
    team_path = "team"
    multi_valued_query_params = ("document", "source_type")

    def get_queryset(self):
        return corpora_with_counts(super().get_queryset())

    @extend_schema(
        request=CorpusCreateSerializer,
        responses={201: CorpusSerializer},
        examples=[
            OpenApiExample(
                "A corpus", value={"name": "papers", "description": "Adapter tuning papers"}, request_only=True
            )
        ],
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = CorpusCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = self.get_team(data.get("team"))
        try:
            corpus = corpus_create(
                team=team,
                name=data["name"],
                description=data["description"],
                embedding_model=data["embedding_model"] or None,
                user=request.user,
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        corpus = self.get_queryset().get(pk=corpus.pk)
        return Response(CorpusSerializer(corpus).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        responses={200: DocumentSerializer(many=True)},
        description="Documents of the corpus, newest first, with status and error.",
    )
    @extend_schema(
        methods=["POST"],
        # One documented media type: generated clients handle a single body type per operation best.
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={201: DocumentAddResultSerializer, 200: DocumentAddResultSerializer},
        description=(
            "Upload one or many files (multipart field `files`, repeated) or add a web page (field `url`; "
            'a JSON body `{"url": ...}` is accepted too). Files already in the corpus are not added again '
            "(`created: false`)."
        ),
    )
    @action(
        detail=True, methods=["get", "post"], url_path="documents", parser_classes=[BoundedJSONParser, MultiPartParser]
    )
    def documents(self, request: Request, pk: str | None = None) -> Response:
        corpus = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(documents_for_corpus(corpus=corpus))
            return self.get_paginated_response(DocumentSerializer(page, many=True).data)
        results = []
        body = _documents_body(request)
        body.is_valid(raise_exception=True)
        if body.validated_data.get("url"):
            try:
                document, created = document_add_url(corpus=corpus, url=body.validated_data["url"], user=request.user)
            except DjangoValidationError as exc:
                raise _drf_error(exc) from exc
            results.append((document, created))
        else:
            for file in body.validated_data["files"]:
                results.append(document_upload(corpus=corpus, file=file, user=request.user))
        payload = {
            "results": [
                {"created": created, "document": DocumentSerializer(document).data} for document, created in results
            ],
            "errors": getattr(body, "rejected", []),
        }
        any_created = any(created for _, created in results)
        return Response(payload, status=status.HTTP_201_CREATED if any_created else status.HTTP_200_OK)

    @extend_schema(parameters=[SearchQuerySerializer], responses={200: SearchResultSerializer})
    @action(detail=True, methods=["get"], url_path="search", pagination_class=None)
    def search(self, request: Request, pk: str | None = None) -> Response:
        corpus = self.get_object()
        params = SearchQuerySerializer(data=query_values(request, SearchQuerySerializer))
        params.is_valid(raise_exception=True)
        data = params.validated_data
        hits = chunks_search(
            corpus=corpus,
            query=data["q"],
            k=data["k"],
            mode=data["mode"],
            document_ids=data.get("document"),
            source_types=data.get("source_type"),
        )
        return Response(
            SearchResultSerializer({"query": data["q"], "mode": data["mode"], "k": data["k"], "results": hits}).data
        )
