"""Pages every app shares: health, error pages, and the one place domain errors become pages."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from core import health
from core.errors import DomainError


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.health()
    return JsonResponse(report, status=200 if report["ok"] else 503)


def error_404(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)


# --- Domain errors: the one place they become pages, messages and status codes ------------


def domain_error_page(request: HttpRequest, exc: DomainError) -> HttpResponse:
    """A full error page with the domain error's status (403 not allowed, 409 conflict, 400)."""
    return render(request, "sessions/error.html", {"error": exc, "status": exc.status_code}, status=exc.status_code)


def domain_error_redirect(request: HttpRequest, exc: DomainError, to: str) -> HttpResponse:
    """For buttons on a page: say what went wrong on the page the user came from."""
    if exc.status_code == 403:
        return domain_error_page(request, exc)
    messages.error(request, exc.message)
    return redirect(to)
