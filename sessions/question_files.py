"""Question sets from files or pasted text: conversations of ordered questions.

Accepted: .xlsx, .csv, .json with columns conversation, question, reference_answer
(optional), or pasted text with one question per line and a blank line between
conversations. Errors name the row so a person can fix the file.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook


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
# A question is a question, not a document: longer text belongs in the corpus.
MAX_QUESTION_CHARS = 4000


def parse_pasted(text: str) -> list[ConversationInput]:
    conversations: list[ConversationInput] = []
    current: ConversationInput | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            current = None
            continue
        if current is None:
            current = ConversationInput(label=f"Conversation {len(conversations) + 1}")
            conversations.append(current)
        current.questions.append(QuestionInput(text=line))
    return _checked(conversations)


def parse_rows(rows: list[dict]) -> list[ConversationInput]:
    """Rows with conversation, question, reference_answer; file order is turn order."""
    by_label: dict[str, ConversationInput] = {}
    for number, row in enumerate(rows, start=2):
        normalised = {str(k).strip().lower().replace(" ", "_"): v for k, v in row.items() if k is not None}
        question = str(normalised.get("question") or "").strip()
        if not question:
            if any(str(v or "").strip() for v in normalised.values()):
                raise QuestionFileError(f"Row {number} has no question.")
            continue
        label = str(normalised.get("conversation") or "").strip() or f"Conversation {len(by_label) + 1}"
        reference = str(normalised.get("reference_answer") or normalised.get("reference") or "").strip()
        by_label.setdefault(label, ConversationInput(label=label)).questions.append(
            QuestionInput(text=question, reference_answer=reference)
        )
    return _checked(list(by_label.values()))


def parse_question_file(*, name: str, data: bytes) -> list[ConversationInput]:
    suffix = Path(name).suffix.lower()
    if suffix == ".json":
        return _parse_json(data)
    if suffix in (".csv", ".tsv"):
        text = _decode(data)
        dialect = csv.excel_tab if suffix == ".tsv" else csv.excel
        return parse_rows(list(csv.DictReader(io.StringIO(text), dialect=dialect)))
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
        payload = json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise QuestionFileError(f"The JSON is not valid: {exc.msg} (line {exc.lineno}).") from exc
    if isinstance(payload, dict) and "conversations" in payload:
        conversations = []
        for index, conv in enumerate(payload["conversations"], start=1):
            if not isinstance(conv, dict) or not isinstance(conv.get("questions"), list):
                raise QuestionFileError(f"Conversation {index} needs a list of questions.")
            item = ConversationInput(label=str(conv.get("label") or conv.get("name") or f"Conversation {index}"))
            for q in conv["questions"]:
                if isinstance(q, str):
                    item.questions.append(QuestionInput(text=q.strip()))
                elif isinstance(q, dict) and str(q.get("question") or q.get("text") or "").strip():
                    item.questions.append(
                        QuestionInput(
                            text=str(q.get("question") or q.get("text")).strip(),
                            reference_answer=str(q.get("reference_answer") or "").strip(),
                        )
                    )
                else:
                    raise QuestionFileError(f"Conversation {index} has a question without text.")
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
    return parse_rows([dict(zip(names, row, strict=False)) for row in rows])


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
