"""The one text format of a table row, written by the parsers and read back by retrieval
and the offline generator (which may not import ``corpora``: this module sits below both).

A row reads ``(Table 2: SQuAD 1.1 results, Ours): System=BERT LARGE (Ensemble); Dev EM=85.8``:
the parenthesis is the row's table context (title and caption, then its group label) and
is absent for a table without any; then ``column=value`` pairs, empty cells left out.

A whole table is one Markdown block: the label line, then a pipe table whose first
column, ``Row``, is the spreadsheet row number where there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PAIR_SEPARATOR = "; "
ROW_COLUMN = "Row"
# Cells that stand for "no value" in a results table; kept in the row text (they say
# "not reported") but never taken for numbers, nor for header text.
PLACEHOLDERS = frozenset({"-", "–", "—", "--", "n/a", "na", "?", "×"})
_NUMBER = re.compile(r"^[-+±]?\$?\d[\d,]*(?:\.\d+)?\s*(?:%|[kKMBx×])?$|^[-+]?\.\d+%?$")


@dataclass(frozen=True)
class TableRow:
    context: str
    cells: dict[str, str] = field(default_factory=dict)

    def number(self, column: str) -> float | None:
        return cell_number(self.cells.get(column, ""))


def cell_number(value: str) -> float | None:
    """``85.8``, ``1,420``, ``0.8M``, ``41%`` as floats; anything else (``—``, text) is None."""
    value = value.strip()
    if not _NUMBER.match(value):
        return None
    digits = re.sub(r"[^\d.\-+]", "", value.replace("±", ""))
    try:
        return float(digits)
    except ValueError:
        return None


def is_placeholder(value: str) -> bool:
    return value.strip().lower() in PLACEHOLDERS


def row_format(*, context: str, pairs: list[tuple[str, str]]) -> str:
    body = PAIR_SEPARATOR.join(f"{name}={value}" for name, value in pairs if value)
    if not body:
        return ""
    return f"({context}): {body}" if context else body


def row_parse(text: str) -> TableRow | None:
    """The inverse of ``row_format``; None for text that is not a table row."""
    text = text.strip()
    context = ""
    if text.startswith("("):
        end = _closing_paren(text)
        if end is not None and text[end + 1 : end + 3] == ": ":
            context, text = text[1:end], text[end + 3 :]
    cells: dict[str, str] = {}
    for part in text.split(PAIR_SEPARATOR):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or len(name) > 120:
            return None
        cells[name.strip()] = value.strip()
    return TableRow(context=context, cells=cells) if cells else None


def _closing_paren(text: str) -> int | None:
    depth = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
    return None


def table_markdown(*, label: str, columns: list[str], rows: list[list[str]]) -> str:
    """A whole table as Markdown: its label line, then a pipe table."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "/") or " " for cell in cells) + " |"

    parts = [label] if label else []
    parts += [line(columns), line(["---"] * len(columns)), *(line(row) for row in rows)]
    return "\n".join(parts)


def markdown_rows(text: str) -> tuple[str, list[dict[str, str]]]:
    """The label and rows (column -> value) of a ``table_markdown`` text; ([], "") if none."""
    label_lines: list[str] = []
    table: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|"):
            table.append([cell.strip() for cell in stripped[1:-1].split("|")])
        elif not table and stripped:
            label_lines.append(stripped)
    if len(table) < 3 or not all(set(cell) <= {"-", ":"} for cell in table[1]):
        return "", []
    header = table[0]
    rows = [{name: value for name, value in zip(header, cells, strict=False) if value and name} for cells in table[2:]]
    return " ".join(label_lines), rows
