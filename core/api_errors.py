"""The one place where domain errors become HTTP responses in the API."""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """InvalidInput → 400, NotAllowed → 403, Conflict → 409, with ``{"detail", "code"}``."""
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "code": type(exc).__name__.lower()}, status=exc.status_code)
    return drf_exception_handler(exc, context)
