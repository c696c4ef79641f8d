"""Small points of a serious tool: long questions refused, empty uploads explained, Assay's own
404 page, a favicon, and a way back from the API docs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions.models import EvaluationSession
from sessions.question_files import MAX_QUESTION_CHARS
from tests.corpora.factories import CorpusFactory, DocumentFactory
from tests.sessions.test_views import form_data

pytestmark = pytest.mark.django_db


def test_a_question_longer_than_the_limit_is_refused_with_a_message(member_client, team):
    corpus = DocumentFactory(corpus=CorpusFactory(team=team)).corpus
    text = "What is SAT?\n" + "Why " * (MAX_QUESTION_CHARS // 4 + 1)
    response = member_client.post(reverse("sessions:new"), form_data(corpus, questions_text=text))
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["questions_text"]
    body = response.content.decode()
    assert "Question 2 of conversation &#x27;Conversation 1&#x27; has 4,003 characters; at most 4,000." in body
    assert text.strip()[:200] in body  # the pasted text is kept in the form: nothing lost
    assert not EvaluationSession.objects.exists()


def test_an_empty_upload_says_what_to_do(member_client, team):
    corpus = CorpusFactory(team=team)
    page = member_client.get(reverse("corpora:detail", args=[corpus.pk])).content.decode()
    assert 'name="files" id="id_files" multiple required' in page  # the browser asks first
    response = member_client.post(reverse("corpora:upload", args=[corpus.pk]), {}, follow=True)
    assert "Choose one or more files to upload." in response.content.decode()


def test_unknown_urls_get_assays_404_page(member_client):
    response = member_client.get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "There is nothing here" in body and "URLconf" not in body


def test_favicon_and_a_way_back_from_the_api_docs(member_client):
    page = member_client.get(reverse("core:dashboard")).content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert member_client.get("/favicon.ico")["Location"] == "/static/favicon.svg"
    schema = member_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "[← Back to Assay](/)" in schema["info"]["description"]


def test_the_report_explains_the_sums_beside_the_wall_clock(member_client, team):
    from tests.judging.review_support import finish, judged, ratings_of

    session, _ = judged(team, items=[("Q?", "a", ratings_of("Good"))])
    finish(session)
    body = member_client.get(session.get_absolute_url()).content.decode()
    assert "a sum can be longer than the wall clock" in body
