"""Pages every app shares: health, error pages, and the one place domain errors become pages."""

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.defaults import bad_request

from core import health
from core.api_errors import is_api_request, json_error_response
from core.api_parsers import too_large_message
from core.errors import DomainError


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.health()
    return JsonResponse(report, status=200 if report["ok"] else 503)


# API paths answer Django's own errors (no route matched, a body too large to read, a crash)
# in the API's JSON error shape; pages keep their templates.


def error_400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if isinstance(exception, (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)):
        if is_api_request(request):
            return json_error_response(status_code=413, detail=too_large_message(), code="too_large")
        return HttpResponse("The request body is too large.", status=413, content_type="text/plain")
    if is_api_request(request):
        return json_error_response(status_code=400, detail="Bad request.", code="bad_request")
    return bad_request(request, exception)


def error_404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return json_error_response(status_code=404, detail="Not found.", code="not_found")
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    if is_api_request(request):
        return json_error_response(status_code=500, detail="Server error.", code="server_error")
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
