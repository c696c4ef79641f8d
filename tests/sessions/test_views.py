"""Session pages: create (pasted and uploaded) → draft with estimate → start; team scoping; live
progress; the report (totals, verdicts, robustness); sanitized Markdown."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.runmode import in_process_tasks
from judging.models import Judgment
from sessions.models import Answer, EvaluationSession, Question
from sessions.selectors import session_progress
from sessions.services import session_create, session_start
from sessions.session_settings import SessionSettings
from sessions.templatetags.assay_report import sanitize_markdown
from tests.sessions.pipeline_support import conversations, make_corpus

pytestmark = pytest.mark.django_db


def form_data(corpus, **extra):
    from judging.selectors import rubric_default
    from sessions.models import DEFAULT_PROMPT_TEMPLATE

    data = {
        "corpus": corpus.pk,
        "name": "SAT check",
        "rubric": rubric_default().pk,
        "questions_text": "",
        "retrieval_mode": "hybrid",
        "retrieval_k": 4,
        "generator_provider": "offline",
        "generator_model": "",
        "temperature": "0",
        "prompt_template": DEFAULT_PROMPT_TEMPLATE,
        "judge_provider": "offline",
        "judge_model": "",
        "judge_repeats": 1,
        "budget_usd": "",
    }
    data.update(extra)
    return data


@pytest.fixture
def corpus(team, tmp_path):
    return make_corpus(team=team, tmp_path=tmp_path)


def test_create_from_pasted_text_shows_estimate_then_starts(member_client, corpus):
    page = member_client.get(reverse("sessions:new"))
    assert page.status_code == 200
    assert "You are a helpful assistant." in page.content.decode()  # the default template, editable

    text = "What is SAT?\nHow many parameters does it train?\n\nDoes SAT slow down inference?"
    response = member_client.post(reverse("sessions:new"), form_data(corpus, questions_text=text))
    session = EvaluationSession.objects.get()
    assert response.status_code == 302 and response["Location"] == session.get_absolute_url()
    assert session.status == EvaluationSession.Status.DRAFT
    assert session.conversations.count() == 2 and session.questions.count() == 3

    detail = member_client.get(session.get_absolute_url()).content.decode()
    assert "Estimate before you start" in detail
    assert f"{session.estimate['total_tokens']}" in detail
    assert "$0.0000" in detail  # offline costs nothing
    assert 'id="start-button"' in detail

    started = member_client.post(reverse("sessions:start", args=[session.pk]))
    assert started.status_code == 302
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.QUEUED
    again = member_client.post(reverse("sessions:start", args=[session.pk]), follow=True)
    assert "cannot be started again" in again.content.decode()


def test_create_from_uploaded_csv(member_client, corpus):
    csv = (
        "conversation,question,reference_answer\n"
        "sat,What is SAT?,A sparse adapter method\n"
        "sat,How many parameters does it train?,\n"
        "latency,Does SAT slow down inference?,No\n"
    )
    upload = SimpleUploadedFile("questions.csv", csv.encode(), content_type="text/csv")
    response = member_client.post(reverse("sessions:new"), form_data(corpus, questions_file=upload, robustness="on"))
    assert response.status_code == 302
    session = EvaluationSession.objects.get()
    assert session.robustness is True
    assert list(session.conversations.values_list("label", flat=True)) == ["sat", "latency"]
    assert Question.objects.get(text="What is SAT?").reference_answer == "A sparse adapter method"
    assert session.estimate["calls"]["probe_judging"] > 0
    assert "probe judging" in member_client.get(session.get_absolute_url()).content.decode()


def test_bad_question_file_is_a_form_error_and_creates_nothing(member_client, corpus):
    upload = SimpleUploadedFile("questions.csv", b"conversation,question\nsat,\nsat,,oops\n", content_type="text/csv")
    bad_row = member_client.post(reverse("sessions:new"), form_data(corpus, questions_file=upload))
    assert bad_row.status_code == 400
    assert "Row" in bad_row.content.decode()

    wrong_type = SimpleUploadedFile("questions.pdf", b"%PDF-1.4", content_type="application/pdf")
    response = member_client.post(reverse("sessions:new"), form_data(corpus, questions_file=wrong_type))
    assert response.status_code == 400
    assert "unsupported question file" in response.content.decode()

    nothing = member_client.post(reverse("sessions:new"), form_data(corpus))
    assert "Paste at least one question" in nothing.content.decode()
    assert not EvaluationSession.objects.exists()


def test_openai_provider_offered_only_when_configured(member_client, corpus, settings):
    settings.LLM_BASE_URL = ""
    assert 'value="openai"' not in member_client.get(reverse("sessions:new")).content.decode()
    response = member_client.post(
        reverse("sessions:new"), form_data(corpus, questions_text="What is SAT?", generator_provider="openai")
    )
    assert response.status_code == 400 and not EvaluationSession.objects.exists()
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"
    assert 'value="openai"' in member_client.get(reverse("sessions:new")).content.decode()


def test_other_team_gets_404_for_session_pages(client, team, corpus, team_factory, user_factory):
    session = session_create(
        team=team,
        corpus=corpus,
        name="A's",
        conversations=conversations([["What is SAT?"]]),
        settings=SessionSettings(),
    )
    outsider = user_factory(team=team_factory("Team B"), role="admin")
    client.force_login(outsider)
    for name in ("sessions:detail", "sessions:progress"):
        assert client.get(reverse(name, args=[session.pk])).status_code == 404
    for name in ("sessions:start", "sessions:cancel", "sessions:resume"):
        assert client.post(reverse(name, args=[session.pk])).status_code == 404
    assert "A&#x27;s" not in client.get(reverse("sessions:list")).content.decode()
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.DRAFT


def test_session_list_empty_state_and_rows(member_client, team, corpus):
    empty = member_client.get(reverse("sessions:list")).content.decode()
    assert "No evaluation sessions yet" in empty and reverse("corpora:list") in empty
    session_create(
        team=team,
        corpus=corpus,
        name="Listed",
        conversations=conversations([["What is SAT?"]]),
        settings=SessionSettings(),
    )
    listed = member_client.get(reverse("sessions:list")).content.decode()
    assert "Listed" in listed and "status-draft" in listed


def test_cancel_and_resume_buttons(member_client, team, corpus):
    session = session_create(
        team=team, corpus=corpus, name="c", conversations=conversations([["What is SAT?"]]), settings=SessionSettings()
    )
    session_start(session=session)  # queued: no worker runs in this test
    page = member_client.get(session.get_absolute_url()).content.decode()
    assert reverse("sessions:cancel", args=[session.pk]) in page and 'data-active="1"' in page
    member_client.post(reverse("sessions:cancel", args=[session.pk]))
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.CANCELLED
    page = member_client.get(session.get_absolute_url()).content.decode()
    assert reverse("sessions:resume", args=[session.pk]) in page
    cancelled_again = member_client.post(reverse("sessions:cancel", args=[session.pk]), follow=True)
    assert "already finished" in cancelled_again.content.decode()
    member_client.post(reverse("sessions:resume", args=[session.pk]))
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.QUEUED


def test_markdown_is_sanitized():
    html = sanitize_markdown(
        "**bold** <script>alert('x')</script><style>p{}</style><iframe src='//evil'></iframe>"
        "<img src=x onerror=alert(1)> [ok](https://example.org) [bad](javascript:alert(1)) "
        "<a href='/' onclick='x()'>a</a>"
    )
    assert "<strong>bold</strong>" in html
    tags = _tags_and_attributes(html)
    assert {tag for tag, _ in tags} <= {"p", "strong", "a"}
    assert all(not name.startswith("on") for _, attrs in tags for name, _ in attrs)
    assert all("javascript" not in (value or "") for _, attrs in tags for _, value in attrs)
    assert '<a href="https://example.org" rel="noopener noreferrer">ok</a>' in html
    # What the tags enclosed is shown as text, escaped: the reader sees what the judge saw.
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_text_between_script_tags_is_shown_escaped_not_dropped():
    html = sanitize_markdown("The answer says: <script>steal()</script> feed")
    assert html == "<p>The answer says: &lt;script&gt;steal()&lt;/script&gt; feed</p>"
    assert sanitize_markdown("`<b>code</b>`") == "<p><code>&lt;b&gt;code&lt;/b&gt;</code></p>"


def _tags_and_attributes(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_script_in_answer_and_question_never_reaches_the_page_unescaped(member_client, team, corpus):
    session = session_create(
        team=team,
        corpus=corpus,
        name="xss",
        conversations=conversations([["<script>alert('q')</script>?"]]),
        settings=SessionSettings(),
    )
    question = session.questions.get()
    Answer.objects.create(
        question=question,
        status=Answer.Status.OK,
        provider="offline",
        model="m",
        text="**Bold** claim.\n\n<script>alert('a')</script><img src=x onerror=alert(1)>",
        prompt="<script>alert('p')</script>",
    )
    body = member_client.get(session.get_absolute_url()).content.decode()
    assert "<strong>Bold</strong>" in body
    assert "<script>alert" not in body
    assert "<img" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body  # the answer's markup, shown as text
    assert "&lt;script&gt;alert(&#x27;q&#x27;)&lt;/script&gt;" in body  # the question, escaped
    assert "&lt;script&gt;alert(&#x27;p&#x27;)" in body  # the prompt, escaped


@pytest.mark.django_db(transaction=True)
def test_run_session_progress_and_report(client, team, member, tmp_path):
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = session_create(
        team=team,
        corpus=corpus,
        name="run",
        conversations=conversations([["What is Sparse Adapter Tuning?", "How many parameters does it train?"]]),
        settings=SessionSettings(judge_repeats=1),
    )
    with in_process_tasks():
        session_start(session=session)
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.COMPLETED
    client.force_login(member)

    progress = client.get(reverse("sessions:progress", args=[session.pk])).json()
    expected = session_progress(session=session).to_dict()
    assert progress == expected
    judgments = Judgment.objects.filter(answer__question__session=session)
    assert progress["questions"] == 2 and progress["answered"] == 2 and progress["failed"] == 0
    assert progress["judgments"] == judgments.count() == 2
    assert progress["judged"] == 2 and progress["percent"] == 100 and progress["is_active"] is False

    response = client.get(session.get_absolute_url())
    body = response.content.decode()
    assert "1. Totals" in body and "wall clock" in body and "judging (sum)" in body
    assert "over 2 of 2 judged" in body  # honest accounting
    charts = {chart.name: chart for chart in response.context["charts"]}
    assert set(charts) == {"scores", "criteria", "latency"}  # no probes: no robustness chart
    assert all(chart.src.startswith("data:image/svg+xml;base64,") for chart in charts.values())
    assert 'alt="Weighted score per question"' in body and 'alt="Mean points per criterion"' in body
    assert "3. Scores per question" in body and f'href="#turn-{session.questions.first().pk}"' in body
    for name in ("Relevance", "Faithfulness", "Completeness", "Clarity", "Conciseness"):
        assert name in body
    assert "Prompt sent" in body and "Current Question:" in body
    assert "Sources (" in body and "sat_notes.md" in body
    assert "offline · extractive-minilm" in body
    for fmt in ("pdf", "xlsx", "csv", "json"):
        assert reverse("sessions:report", args=[session.pk, fmt]) in body
    assert reverse("sessions:report", args=[session.pk, "pdf"]) + "?paper=letter" in body
    assert "Judge robustness" not in body  # off for this session
    assert 'data-active="0"' in body


@pytest.mark.django_db(transaction=True)
def test_report_shows_robustness_section_when_enabled(client, team, member, tmp_path):
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = session_create(
        team=team,
        corpus=corpus,
        name="probes",
        conversations=conversations([["What learning rate does SAT use?"]]),
        settings=SessionSettings(robustness=True),
    )
    with in_process_tasks():
        session_start(session=session)
    client.force_login(member)
    response = client.get(session.get_absolute_url())
    body = response.content.decode()
    assert "4. Judge robustness" in body
    assert "AUROC genuine vs fake" in body
    assert "robustness" in {chart.name for chart in response.context["charts"]}
    assert 'id="robustness-verdict"' in body
    assert "Off-topic" in body and "Injection" in body
    assert len(response.context["probes"]) >= 7
    assert "5. Judge–reviewer agreement" in body and "6. Reviewer overrides" in body
