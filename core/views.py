from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from core import health
from core.selectors import dashboard_summary


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.health()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    summary = dashboard_summary(team=request.team) if request.team else None
    return render(request, "core/dashboard.html", {"summary": summary})


def error_404(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)
