"""Review pages under /review/. The namespace stays "judging" (the URL names pages and
links have always used); the rubric page is judging's own."""

from django.urls import path

from judging import rubric_views
from sessions import review_views

app_name = "judging"

urlpatterns = [
    path("", review_views.review_queue, name="queue"),
    path("sessions/<int:session_id>/", review_views.review_queue, name="session_queue"),
    path("judgments/<int:judgment_id>/", review_views.judgment_review, name="judgment"),
    path("rubrics/", rubric_views.rubric_list, name="rubrics"),
]
