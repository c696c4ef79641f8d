from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.teams_api import TeamViewSet
from corpora.api.views import CorpusViewSet
from judging.api.rubrics import RubricViewSet
from judging.api.views import JudgmentViewSet
from sessions.api.views import BatchViewSet, SessionViewSet

router = DefaultRouter()
router.register("corpora", CorpusViewSet, basename="corpus")
router.register("sessions", SessionViewSet, basename="session")
router.register("batches", BatchViewSet, basename="batch")
router.register("judgments", JudgmentViewSet, basename="judgment")
router.register("rubrics", RubricViewSet, basename="rubric")
router.register("teams", TeamViewSet, basename="team")

app_name = "api"
urlpatterns = [
    # Reports keep their file names (no trailing slash): report.pdf, report.xlsx.
    path(
        "sessions/<int:pk>/report.pdf",
        SessionViewSet.as_view({"get": "report_pdf"}),
        name="session-report-pdf",
    ),
    path(
        "sessions/<int:pk>/report.xlsx",
        SessionViewSet.as_view({"get": "report_xlsx"}),
        name="session-report-xlsx",
    ),
    *router.urls,
]
