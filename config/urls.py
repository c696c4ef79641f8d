from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import views as core_views
from sessions import views as sessions_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("corpora/", include("corpora.urls")),
    path("sessions/", include("sessions.urls")),
    path("review/", include("sessions.review_urls")),
    path("api/v1/", include("config.api_router")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # The dashboard (corpora and sessions of the team) keeps its URL name "core:dashboard".
    path("", include(([path("", sessions_views.dashboard, name="dashboard")], "core"))),
]

handler400 = "core.views.error_400"
handler404 = "core.views.error_404"
handler500 = "core.views.error_500"
