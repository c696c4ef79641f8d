from rest_framework.routers import DefaultRouter

from corpora.api.views import CorpusViewSet

router = DefaultRouter()
router.register("corpora", CorpusViewSet, basename="corpus")

app_name = "api"
urlpatterns = router.urls
