from django.urls import path

from judging import views

app_name = "judging"

urlpatterns = [
    path("", views.review_queue, name="queue"),
    path("sessions/<int:session_id>/", views.review_queue, name="session_queue"),
    path("judgments/<int:judgment_id>/", views.judgment_review, name="judgment"),
    path("rubrics/", views.rubric_list, name="rubrics"),
]
