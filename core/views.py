from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.defaults import bad_request

from core import health
from core.api_errors import is_api_request, json_error_response
from core.api_parsers import too_large_message
from core.selectors import dashboard_summary


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.health()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    summary = dashboard_summary(team=request.team) if request.team else None
    return render(request, "core/dashboard.html", {"summary": summary})


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
