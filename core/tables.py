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


# --- reading a question against a table ------------------------------------------------
# Shared by retrieval's table signal and the offline generator, so both read a question
# ("which method trains fastest") against a table's columns the same way.

_MAX_WORDS = frozenset({"highest", "largest", "biggest", "most", "maximum", "greatest", "longest", "slowest"})
_MIN_WORDS = frozenset({"lowest", "smallest", "fewest", "least", "minimum", "shortest", "fastest", "cheapest"})
_BEST_WORDS = frozenset({"best", "top", "strongest", "leading"})
_WORST_WORDS = frozenset({"worst", "weakest"})
# Columns where less is better, so "best" means the smallest value.
_LOWER_IS_BETTER = frozenset(
    {"memory", "time", "loss", "error", "latency", "checkpoint", "cost", "size", "perplexity", "ppl", "param", "hour"}
)
# Words of a question that name a column by another word, and plain inflections.
_SYNONYMS = {
    "fastest": "time",
    "slowest": "time",
    "quickest": "time",
    "long": "time",
    "hours": "time",
    "parameters": "param",
    "params": "param",
    "parameter": "param",
    "average": "avg",
    "mean": "avg",
    "training": "train",
    "trains": "train",
    "trained": "train",
    "largest": "size",
    "smallest": "size",
}
# Column words too common to identify a column alone ("Train memory" needs "memory").
GENERIC_WORDS = frozenset({"table", "result", "dev", "test", "train", "on", "with", "of", "the", "and"})
_UNIT = re.compile(r"\([^)]*\)")
_WORD = re.compile(r"[a-z0-9][a-z0-9\-+.]*[a-z0-9]|[a-z0-9]")


def words(text: str, *, drop_units: bool = True) -> set[str]:
    """Lower-cased, crudely stemmed words with synonyms mapped: for matching names.

    ``drop_units`` leaves out parentheses ("Memory (GB)" -> memory), as column names want.
    """
    out = set()
    for token in _WORD.findall(_UNIT.sub(" ", text.lower()) if drop_units else text.lower()):
        out.add(stem(_SYNONYMS.get(token, token)))
    return out


def stem(token: str) -> str:
    """A crude suffix stripper, enough to match "train" with "training" or "takes" with "take"."""
    for suffix in ("ing", "ed"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)]
    if token.endswith("es") and token[:-2].endswith(("s", "x", "ch", "sh")) and len(token) >= 6:
        return token[:-2]
    if token.endswith("s") and not token.endswith("ss") and len(token) >= 5:
        return token[:-1]
    return token


def superlative(question: str) -> str | None:
    """ "max", "min", "best" or "worst" for a superlative question; None otherwise."""
    found = set(re.findall(r"[a-z]+", question.lower()))
    for direction, vocabulary in (
        ("max", _MAX_WORDS),
        ("min", _MIN_WORDS),
        ("best", _BEST_WORDS),
        ("worst", _WORST_WORDS),
    ):
        if found & vocabulary:
            return direction
    return None


def descending(direction: str, column: str) -> bool:
    """Whether the answer to ``direction`` over ``column`` is its largest value."""
    lower_better = bool(words(column) & _LOWER_IS_BETTER)
    return direction == "max" or (direction == "best" and not lower_better) or (direction == "worst" and lower_better)


def column_match(question_words: set[str], columns: list[str]) -> tuple[str | None, float]:
    """The column the question names best: most of its words, at least one of them specific.

    Returns the column and a score (share of its words matched, plus a little per word).
    """
    best: tuple[float, int, str] | None = None
    for name in columns:
        name_words = words(name)
        if not name_words:
            continue
        matched = len(name_words & question_words)
        share = matched / len(name_words)
        specific = bool((name_words - GENERIC_WORDS) & question_words)
        if specific and share >= 0.5 and (best is None or (share, matched) > best[:2]):
            best = (share, matched, name)
    return (best[2], best[0] + 0.1 * best[1]) if best else (None, 0.0)
