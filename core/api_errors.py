"""The one place where errors become HTTP responses in the API.

Every error the API answers has the same JSON shape (the ``Error`` component of the schema)::

    {"detail": "conversations.0.questions: This list may not be empty.",
     "code": "invalid",
     "errors": {"conversations.0.questions": ["This list may not be empty."]}}

``detail`` is one human-readable sentence, ``code`` a stable machine-readable word, and
``errors`` (validation errors only) maps each offending field, as a dotted path into the
request (list items by index), to its messages. Domain errors keep their class name as the
code (``conflict``, ``invalidinput``, ``notallowed``).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from core.api_parsers import PayloadTooLarge, too_large_message
from core.errors import DomainError

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


def error_body(*, detail: str, code: str, errors: dict[str, list[str]] | None = None) -> dict:
    body: dict = {"detail": detail, "code": code}
    if errors is not None:
        body["errors"] = errors
    return body


def _join(prefix: str, key: object) -> str:
    if key in (NON_FIELD, "detail"):
        return prefix or NON_FIELD  # a list's or an object's own error belongs to its path
    return f"{prefix}.{key}" if prefix else str(key)


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as ``{"dotted.path": [messages]}``; top-level strings are non-field."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        children = [(_join(prefix, key), value) for key, value in detail.items()]
    elif isinstance(detail, list):
        children = [
            (_join(prefix, index) if isinstance(item, (dict, list)) else prefix, item)
            for index, item in enumerate(detail)
        ]
    else:
        return {prefix or NON_FIELD: [str(detail)]}
    for path, value in children:
        for sub, messages in flatten_errors(value, path).items():
            flat.setdefault(sub, []).extend(messages)
    return flat


def _summary(errors: dict[str, list[str]]) -> str:
    if not errors:
        return "Invalid input."
    path, messages = next(iter(errors.items()))
    return messages[0] if path == NON_FIELD else f"{path}: {messages[0]}"


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    if isinstance(codes, dict) and isinstance(codes.get("detail"), str):
        return codes["detail"]
    return exc.default_code


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Domain errors (400/403/409), DRF's exceptions and Django's 404/403/too-large, all as ``Error``."""
    if isinstance(exc, DomainError):
        return Response(error_body(detail=exc.message, code=type(exc).__name__.lower()), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(too_large_message())
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = PayloadTooLarge(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        response.data = error_body(detail=_summary(errors), code="invalid", errors=errors)
    else:
        response.data = error_body(detail=str(exc.detail), code=_code(exc))
    return response


API_PREFIX = "/api/"


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def json_error_response(*, status_code: int, detail: str, code: str) -> JsonResponse:
    """For Django's own error handlers on API paths (a URL no route matches, a crash)."""
    return JsonResponse(error_body(detail=detail, code=code), status=status_code)
