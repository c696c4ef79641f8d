from django.urls import path

from sessions import experiment_views, housekeeping_views, views
from sessions.reports import views as report_views

app_name = "sessions"

urlpatterns = [
    path("", views.session_list, name="list"),
    path("new/", views.session_new, name="new"),
    path("experiments/", experiment_views.experiment_page, name="experiments"),
    path("corpora/<int:corpus_id>/trend/", experiment_views.corpus_trend_page, name="corpus_trend"),
    path("corpora/<int:corpus_id>/trend.svg", experiment_views.corpus_trend_svg, name="corpus_trend_svg"),
    path("<int:session_id>/", views.session_detail, name="detail"),
    path("<int:session_id>/progress.json", views.session_progress_json, name="progress"),
    path("<int:session_id>/start/", views.session_start_view, name="start"),
    path("<int:session_id>/cancel/", views.session_cancel_view, name="cancel"),
    path("<int:session_id>/resume/", views.session_resume_view, name="resume"),
    path("<int:session_id>/rejudge/", views.session_rejudge_view, name="rejudge"),
    path("<int:session_id>/compare/", views.session_compare, name="compare"),
    path("<int:session_id>/report.<str:fmt>", report_views.report_download, name="report"),
    path("<int:session_id>/exports/", report_views.report_export_create, name="export_create"),
    path("<int:session_id>/exports/<int:export_id>/", report_views.report_export_detail, name="export"),
    path(
        "<int:session_id>/exports/<int:export_id>/download",
        report_views.report_export_download,
        name="export_download",
    ),
    path("<int:session_id>/tags/", housekeeping_views.session_tags_view, name="tags"),
    path("<int:session_id>/archive/", housekeeping_views.session_archive_view, name="archive"),
    path("<int:session_id>/delete/", housekeeping_views.session_delete_view, name="delete"),
]
