"""Report downloads from the session page: PDF/Excel/CSV/JSON, and background exports of large sessions."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from core.runmode import in_process_tasks
from sessions.models import ReportExport
from tests.sessions.api_support import judged_session
from tests.sessions.report_support import build_session

pytestmark = pytest.mark.django_db

ITEMS = [
    {"question": "How many weights does SAT update?", "answer": "SAT updates 0.8%.", "context": ["[Doc: a.md] SAT."]},
    {"question": "=1+2 is a formula?", "answer": '=HYPERLINK("http://evil.example","x")', "context": []},
]


@pytest.fixture
def session(team, member):
    return judged_session(team=team, user=member, items=ITEMS, name="downloads")


def _api_results(session, user) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    return client.get(f"/api/v1/sessions/{session.pk}/results/").json()


def test_page_offers_every_download_and_each_is_a_file(member_client, session) -> None:
    page = member_client.get(session.get_absolute_url()).content.decode()

    expected = {"pdf": "application/pdf", "xlsx": "spreadsheetml", "csv": "text/csv", "json": "application/json"}
    for fmt, content_type in expected.items():
        url = reverse("sessions:report", args=[session.pk, fmt])
        assert f'href="{url}"' in page
        response = member_client.get(url)
        assert response.status_code == 200 and content_type in response["Content-Type"]
        assert response["Content-Disposition"] == f'attachment; filename="session-{session.pk}-downloads.{fmt}"'
    letter = member_client.get(reverse("sessions:report", args=[session.pk, "pdf"]) + "?paper=letter")
    assert letter.content.startswith(b"%PDF") and "downloads-letter.pdf" in letter["Content-Disposition"]


def test_json_download_is_the_api_results_document(member_client, member, session) -> None:
    response = member_client.get(reverse("sessions:report", args=[session.pk, "json"]))

    assert json.loads(response.content) == _api_results(session, member)


def test_csv_download_has_the_api_rows_and_guards_formulas(member_client, member, session) -> None:
    response = member_client.get(reverse("sessions:report", args=[session.pk, "csv"]))
    api = _api_results(session, member)

    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == len(api["questions"]) == 2
    for row, question in zip(rows, api["questions"], strict=True):
        assert int(row["question_id"]) == question["question_id"]
        assert float(row["weighted_score"]) == question["weighted_score"]  # a JSON number in the API
        assert int(row["evaluation_latency_ms"]) == question["evaluation_latency_ms"]
        for verdict in question["verdicts"]:
            assert row[f"{verdict['criterion']}_rating"] == verdict["rating"]
    assert rows[0]["question"] == "How many weights does SAT update?"
    assert rows[1]["question"] == "'=1+2 is a formula?"  # a spreadsheet shows it, never runs it
    assert rows[1]["answer"] == "'" + ITEMS[1]["answer"]


def test_downloads_are_team_scoped_and_reject_bad_input(client, session, team_factory, user_factory, member) -> None:
    outsider = user_factory(team=team_factory("Other"))
    client.force_login(outsider)
    assert client.get(reverse("sessions:report", args=[session.pk, "pdf"])).status_code == 404
    assert client.post(reverse("sessions:export_create", args=[session.pk]), {"format": "pdf"}).status_code == 404

    client.force_login(member)
    assert client.get(reverse("sessions:report", args=[session.pk, "docx"])).status_code == 404
    response = client.get(reverse("sessions:report", args=[session.pk, "pdf"]) + "?paper=a3", follow=True)
    assert "Paper size &#x27;a3&#x27;" in response.content.decode() or "Paper size 'a3'" in response.content.decode()
    response = client.post(reverse("sessions:export_create", args=[session.pk]), {"format": "docx"}, follow=True)
    assert "background exports are pdf, xlsx" in response.content.decode()
    assert not ReportExport.objects.exists()


def test_large_session_exports_in_the_background_with_a_link_when_ready(
    member_client, team, settings, django_capture_on_commit_callbacks
) -> None:
    settings.REPORT_SYNC_MAX_QUESTIONS = 3
    session, _ = build_session(questions=4, strategies=1, team=team)
    page = member_client.get(session.get_absolute_url()).content.decode()
    assert "Build PDF (A4)" in page and "Build Excel" in page
    assert reverse("sessions:report", args=[session.pk, "csv"]) in page  # CSV and JSON stay direct
    direct = member_client.get(reverse("sessions:report", args=[session.pk, "pdf"]), follow=True)
    assert "built in the background" in direct.content.decode()

    with in_process_tasks(), django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(
            reverse("sessions:export_create", args=[session.pk]), {"format": "pdf", "paper": "letter"}
        )
    export = ReportExport.objects.get()
    assert response["Location"] == reverse("sessions:export", args=[session.pk, export.pk])
    assert export.status == ReportExport.Status.READY and export.size > 0 and export.duration_ms is not None
    detail = member_client.get(response["Location"]).content.decode()
    download_url = reverse("sessions:export_download", args=[session.pk, export.pk])
    assert "Ready" in detail and download_url in detail
    download = member_client.get(download_url)
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    assert "Letter" in member_client.get(session.get_absolute_url()).content.decode()


def test_a_pending_export_shows_progress_and_a_second_click_reuses_it(member_client, team, settings) -> None:
    settings.REPORT_SYNC_MAX_QUESTIONS = 0
    session = judged_session(team=team, items=ITEMS, name="pending")
    url = reverse("sessions:export_create", args=[session.pk])

    first = member_client.post(url, {"format": "xlsx"})  # no worker, no on_commit run: stays pending
    second = member_client.post(url, {"format": "xlsx"})

    assert first["Location"] == second["Location"] and ReportExport.objects.count() == 1
    detail = member_client.get(first["Location"]).content.decode()
    assert "Preparing" in detail and 'http-equiv="refresh"' in detail
    export = ReportExport.objects.get()
    assert member_client.get(reverse("sessions:export_download", args=[session.pk, export.pk])).status_code == 404


def test_a_500_question_session_with_robustness_exports_its_workbook(
    member_client, team, settings, django_capture_on_commit_callbacks
) -> None:
    session, probes = build_session(questions=500, strategies=7, team=team)
    assert probes == 3500

    with in_process_tasks(), django_capture_on_commit_callbacks(execute=True):
        member_client.post(reverse("sessions:export_create", args=[session.pk]), {"format": "xlsx"})

    export = ReportExport.objects.get()
    assert export.status == ReportExport.Status.READY, export.error
    workbook = load_workbook(export.file.open("rb"), read_only=True)
    assert workbook["Questions"].max_row == 501 and workbook["Probes"].max_row == 3501
    assert workbook["Verdicts"].max_row == 500 * 5 + 1
