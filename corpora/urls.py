from django.urls import path

from corpora import views

app_name = "corpora"

urlpatterns = [
    path("", views.corpus_list, name="list"),
    path("<int:corpus_id>/", views.corpus_detail, name="detail"),
    path("<int:corpus_id>/status.json", views.corpus_status, name="status"),
    path("<int:corpus_id>/upload/", views.document_upload_view, name="upload"),
    path("<int:corpus_id>/add-url/", views.document_add_url_view, name="add_url"),
    path("<int:corpus_id>/search/", views.corpus_search, name="search"),
    path("<int:corpus_id>/documents/<int:document_id>/", views.document_detail, name="document"),
    path("<int:corpus_id>/documents/<int:document_id>/delete/", views.document_delete_view, name="document_delete"),
    path("<int:corpus_id>/documents/<int:document_id>/retry/", views.document_retry_view, name="document_retry"),
]
