"""Question sets from files or pasted text: conversations of ordered questions.

Accepted: .xlsx, .csv, .json with columns conversation, question, reference_answer
(optional), or pasted text with one question per line and a blank line between
conversations. Errors name the row so a person can fix the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook

from core.file_guards import FileRejected, guard_file, strip_nul
from core.json_limits import JSONInputError, json_loads_limited


class QuestionFileError(ValueError):
    pass


@dataclass
class QuestionInput:
    text: str
    reference_answer: str = ""


@dataclass
class ConversationInput:
    label: str
    questions: list[QuestionInput] = field(default_factory=list)


MAX_QUESTIONS = 5000
MAX_QUESTION_FILE_BYTES = 5 * 1024 * 1024
# A workbook of 5,000 questions inflates to a few MB; more is a zip bomb or not a question file.
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
# A question is a question, not a document: longer text belongs in the corpus.
MAX_QUESTION_CHARS = 4000


def parse_pasted(text: str) -> list[ConversationInput]:
    conversations: list[ConversationInput] = []
    current: ConversationInput | None = None
    for line in strip_nul(text).splitlines():
        line = line.strip()
        if not line:
            current = None
            continue
        if current is None:
            current = ConversationInput(label=f"Conversation {len(conversations) + 1}")
            conversations.append(current)
        current.questions.append(QuestionInput(text=line))
    return _checked(conversations)


def _text(value: object, *, where: str, field: str) -> str:
    """A cell or JSON value as text: strings, numbers and dates are; lists and objects are not."""
    if value is None:
        return ""
    if isinstance(value, dict | list | tuple | set):
        raise QuestionFileError(f"{where}: {field} must be text, not a {type(value).__name__}.")
    return strip_nul(str(value)).strip()


def parse_rows(rows: Iterable[dict]) -> list[ConversationInput]:
    """Rows with conversation, question, reference_answer; file order is turn order."""
    by_label: dict[str, ConversationInput] = {}
    count = 0
    for number, row in enumerate(rows, start=2):
        where = f"Row {number}"
        normalised = {str(k).strip().lower().replace(" ", "_"): v for k, v in row.items() if k is not None}
        question = _text(normalised.get("question"), where=where, field="question")
        if not question:
            if any(str(v or "").strip() for v in normalised.values()):
                raise QuestionFileError(f"Row {number} has no question.")
            continue
        count += 1
        if count > MAX_QUESTIONS:  # checked while reading: a huge sheet is never held whole
            raise QuestionFileError(f"More than {MAX_QUESTIONS} questions; at most {MAX_QUESTIONS} per session.")
        label = _text(normalised.get("conversation"), where=where, field="conversation")
        label = label or f"Conversation {len(by_label) + 1}"
        reference = _text(
            normalised.get("reference_answer") or normalised.get("reference"), where=where, field="reference_answer"
        )
        by_label.setdefault(label, ConversationInput(label=label)).questions.append(
            QuestionInput(text=question, reference_answer=reference)
        )
    return _checked(list(by_label.values()))


def parse_question_file(*, name: str, data: bytes) -> list[ConversationInput]:
    """Parse a question file after the guards every user file passes (size, binary data
    under a text extension, zip bombs)."""
    suffix = Path(name).suffix.lower()
    try:
        guard_file(name=name, data=data, max_bytes=MAX_QUESTION_FILE_BYTES, max_uncompressed=MAX_UNCOMPRESSED_BYTES)
    except FileRejected as exc:
        raise QuestionFileError(str(exc)) from exc
    if suffix == ".json":
        return _parse_json(data)
    if suffix in (".csv", ".tsv"):
        text = _decode(data)
        dialect = csv.excel_tab if suffix == ".tsv" else csv.excel
        try:
            return parse_rows(csv.DictReader(io.StringIO(text), dialect=dialect))
        except csv.Error as exc:
            raise QuestionFileError(f"{name} is not a readable CSV file: {exc}.") from exc
    if suffix in (".xlsx", ".xlsm"):
        return _parse_xlsx(data)
    if suffix in (".txt", ""):
        return parse_pasted(_decode(data))
    raise QuestionFileError(f"{name}: unsupported question file; use .xlsx, .csv, .json or .txt.")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise QuestionFileError("The file is not text.")


def _parse_json(data: bytes) -> list[ConversationInput]:
    try:
        payload = json_loads_limited(_decode(data))
    except JSONInputError as exc:
        raise QuestionFileError(str(exc)) from exc
    if isinstance(payload, dict) and "conversations" in payload:
        if not isinstance(payload["conversations"], list):
            raise QuestionFileError('"conversations" must be a list of {"label", "questions": [...]} objects.')
        conversations = []
        for index, conv in enumerate(payload["conversations"], start=1):
            where = f"Conversation {index}"
            if not isinstance(conv, dict) or not isinstance(conv.get("questions"), list):
                raise QuestionFileError(f"{where} needs a list of questions.")
            label = _text(conv.get("label") or conv.get("name"), where=where, field="label")
            item = ConversationInput(label=label or where)
            for q in conv["questions"]:
                if isinstance(q, str):
                    item.questions.append(QuestionInput(text=_text(q, where=where, field="question")))
                elif isinstance(q, dict) and _text(q.get("question") or q.get("text"), where=where, field="question"):
                    item.questions.append(
                        QuestionInput(
                            text=_text(q.get("question") or q.get("text"), where=where, field="question"),
                            reference_answer=_text(q.get("reference_answer"), where=where, field="reference_answer"),
                        )
                    )
                else:
                    raise QuestionFileError(f"{where} has a question without text.")
            conversations.append(item)
        return _checked(conversations)
    if isinstance(payload, dict) and isinstance(payload.get("questions"), list):
        payload = payload["questions"]
    if not isinstance(payload, list) or not all(isinstance(row, dict) for row in payload):
        raise QuestionFileError(
            'JSON must be a list of {"conversation", "question", "reference_answer"} objects '
            'or {"conversations": [{"label", "questions": [...]}]}.'
        )
    return parse_rows(payload)


def _parse_xlsx(data: bytes) -> list[ConversationInput]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a bad file
        raise QuestionFileError(f"The workbook could not be read: {exc}") from exc
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if not header:
        raise QuestionFileError("The workbook's first sheet is empty.")
    names = [str(h or "").strip() for h in header]
    try:
        return parse_rows(dict(zip(names, row, strict=False)) for row in rows)
    finally:
        workbook.close()


def _checked(conversations: list[ConversationInput]) -> list[ConversationInput]:
    conversations = [c for c in conversations if c.questions]
    total = sum(len(c.questions) for c in conversations)
    if total == 0:
        raise QuestionFileError("No questions found.")
    if total > MAX_QUESTIONS:
        raise QuestionFileError(f"{total} questions; at most {MAX_QUESTIONS} per session.")
    for conversation in conversations:
        for number, question in enumerate(conversation.questions, start=1):
            if len(question.text) > MAX_QUESTION_CHARS:
                where = f"conversation {conversation.label!r}" if conversation.label else "its conversation"
                raise QuestionFileError(
                    f"Question {number} of {where} has {len(question.text):,} characters; at most "
                    f"{MAX_QUESTION_CHARS:,}. Put long text in the corpus and ask about it."
                )
    return conversations
