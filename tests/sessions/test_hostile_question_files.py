"""Hostile question files and judge inputs, through every door: the session form, `evaluate`,
`judge`. Each answers with a message that says what is wrong, and nothing is created."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from sessions.models import EvaluationSession, Question
from sessions.question_files import QuestionFileError, parse_question_file
from tests.sessions.pipeline_support import make_corpus
from tests.sessions.test_views import form_data

pytestmark = pytest.mark.django_db

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4


def _xlsx_bomb() -> bytes:
    """A ~100 KB workbook whose first sheet inflates to 120 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<row>" + b"0" * (120 * 1024 * 1024))
    return buffer.getvalue()


HOSTILE = [
    ("q.json", json.dumps({"conversations": "What is SAT?"}).encode(), '"conversations" must be a list'),
    ("q.json", json.dumps({"conversations": 7}).encode(), '"conversations" must be a list'),
    ("q.json", b"[" * 5000 + b"]" * 5000, "nested more than 32 levels"),
    ("q.json", json.dumps([{"question": {"text": "What?"}}]).encode(), "question must be text, not a dict"),
    ("q.json", json.dumps([{"question": "Why?", "reference_answer": ["a"]}]).encode(), "must be text, not a list"),
    (
        "q.json",
        json.dumps({"conversations": [{"label": {"x": 1}, "questions": ["Why?"]}]}).encode(),
        "label must be text",
    ),
    ("q.csv", ELF, "is a program"),
    ("q.txt", ELF, "is a program"),
    ("q.json", ELF, "is a program"),
    ("q.csv", b"question\nWhat is SAT\x00?\n", "does not look like a text file"),
    ("q.txt", b"%PDF-1.7\n" + bytes(range(256)), "is a PDF, not a text file"),
    ("q.xlsx", b"question\nWhat?\n", "not an Excel workbook"),
    ("q.xlsx", _xlsx_bomb(), "refusing to open it"),
    ("q.csv", b"", "is empty"),
]
IDS = [
    "conversations-string",
    "conversations-number",
    "deep-json",
    "dict-question",
    "list-reference",
    "dict-label",
    "elf-as-csv",
    "elf-as-txt",
    "elf-as-json",
    "nul-in-csv",
    "pdf-as-txt",
    "csv-as-xlsx",
    "xlsx-bomb",
    "empty",
]


@pytest.mark.parametrize(("name", "data", "message"), HOSTILE, ids=IDS)
def test_parser_refuses_with_a_message(name, data, message):
    with pytest.raises(QuestionFileError, match=message.replace("(", r"\(")):
        parse_question_file(name=name, data=data)


@pytest.fixture
def corpus(team, tmp_path):
    return make_corpus(team=team, tmp_path=tmp_path, name="notes")


@pytest.mark.parametrize(("name", "data", "message"), HOSTILE, ids=IDS)
def test_session_form_shows_the_message_and_creates_nothing(member_client, corpus, name, data, message):
    upload = SimpleUploadedFile(name, data)
    response = member_client.post(reverse("sessions:new"), form_data(corpus, questions_file=upload))
    assert response.status_code == 400  # the form again, with its errors
    errors = response.context["form"].errors
    if name.endswith("q.csv") and not data:  # Django's own check for an empty upload
        assert "questions_file" in errors
    else:
        assert message in " ".join(errors["questions_file"])
    assert not EvaluationSession.objects.exists()


@pytest.mark.parametrize(("name", "data", "message"), HOSTILE[:-1], ids=IDS[:-1])
def test_evaluate_answers_with_a_command_error_and_creates_nothing(team, corpus, tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CommandError) as raised:
        call_command("evaluate", "--team", team.slug, "--corpus", "notes", "--questions", str(path), "--sync")
    assert message in str(raised.value)
    assert not EvaluationSession.objects.exists()


def test_nul_characters_are_stripped_not_stored_and_not_fatal(member_client, corpus):
    upload = SimpleUploadedFile("q.json", json.dumps([{"question": "What is\u0000 SAT?"}]).encode())
    response = member_client.post(reverse("sessions:new"), form_data(corpus, questions_file=upload))
    assert response.status_code == 302
    assert list(Question.objects.values_list("text", flat=True)) == ["What is SAT?"]


def _judge(tmp_path: Path, payload: bytes) -> Path:
    source = tmp_path / "items.json"
    source.write_bytes(payload)
    target = tmp_path / "out.json"
    call_command("judge", "--input", str(source), "--output", str(target), "--provider", "offline")
    return target


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (ELF, "is a program"),
        (b'[{"question": "\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10"}]', "does not look like a text file"),
        (b"[\xff\xfe\xfa]", "is not UTF-8 text"),
        (b"[" * 3000 + b"]" * 3000, "nested more than 32 levels"),
        (json.dumps([{"question": "Q?", "answer": "A.", "history": 3}]).encode(), "'history' must be a list"),
        (json.dumps([{"question": "Q?", "answer": "A.", "context": 3}]).encode(), "'context' must be a list"),
        (json.dumps([{"question": "Q?", "answer": "A.", "context": [{"a": 1}]}]).encode(), "'context' must be"),
        (json.dumps([{"question": {"q": 1}, "answer": "A."}]).encode(), "('question' is missing or not text)"),
        (json.dumps(["just a string"]).encode(), "must be an object"),
        (json.dumps([{"question": "Q?", "answer": "A.", "history": [5]}]).encode(), "History turns must be"),
    ],
    ids=["elf", "binary", "not-utf8", "deep-json", "history-number", "context-number", "context-dicts", "dict-question",
         "string-item", "history-turn-number"],
)  # fmt: skip
def test_judge_command_answers_with_a_command_error(tmp_path, payload, message):
    with pytest.raises(CommandError) as raised:
        _judge(tmp_path, payload)
    assert message in str(raised.value)
    assert not (tmp_path / "out.json").exists()
