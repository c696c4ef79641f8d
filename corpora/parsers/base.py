"""Data types shared by every parser.

Parsers are pure: they read bytes and return a ``ParsedDocument`` or raise
``ParseError`` with a message a person can act on. They never touch the database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

SOURCE_TYPES = frozenset({"pdf", "xlsx", "csv", "html", "markdown", "text", "web"})

# Block kinds. A "row" block is a spreadsheet or table row rendered with its header
# ("System=…; Dev F1=…"); the chunker keeps it whole and never merges it with others.
KIND_TEXT = "text"
KIND_ROW = "row"
# A whole table as Markdown (its label line, then a pipe table): one chunk, never split.
KIND_TABLE = "table"

# Cell values that mean "nothing here" and would only add noise to a row's text.
_NOISE = frozenset({"nan", "none", "null", "#n/a", "#value!", "#ref!", "#div/0!"})


class ParseError(Exception):
    """A document could not be read; ``str(error)`` is shown to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Block:
    text: str
    locator: dict = field(default_factory=dict)
    heading_path: list[str] = field(default_factory=list)
    kind: str = KIND_TEXT
    # A row's table context ("Table 2: SQuAD 1.1 results, Ours"); its text starts with it.
    context: str = ""


@dataclass
class ParsedDocument:
    title: str
    source_type: str
    blocks: list[Block]

    def __post_init__(self) -> None:
        if self.source_type not in SOURCE_TYPES:
            raise ValueError(f"unknown source_type {self.source_type!r}")


@dataclass
class BlockStream:
    """A document parsed while it is read: blocks come one page or sheet at a time.

    Ingestion consumes ``blocks`` once, so a 500-page PDF or a 50,000-row workbook never
    sits in memory whole. ``title`` is final only once ``blocks`` is exhausted (a PDF
    without a title property is named by its first heading). A ``ParseError`` may be raised
    by ``blocks`` part-way through (a damaged page 300).
    """

    source_type: str
    blocks: Iterator[Block]
    title: str = ""

    @classmethod
    def of(cls, parsed: ParsedDocument) -> BlockStream:
        return cls(source_type=parsed.source_type, blocks=iter(parsed.blocks), title=parsed.title)

    def collect(self) -> ParsedDocument:
        blocks = list(self.blocks)
        return ParsedDocument(title=self.title, source_type=self.source_type, blocks=blocks)


_FIXED_FORMAT = re.compile(r"^(?:#,##)?0(?:\.(0+))?(%?)$")


def clean_cell(value: object, number_format: str | None = None) -> str:
    """Render a spreadsheet or table cell naturally: no None/NaN, 85.8 not 85.80000001.

    A fixed-decimals Excel number format ("0.0", "0.00%") is honoured, so a column
    formatted to one decimal reads 88.0 as the sheet shows it, not 88.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if number_format and isinstance(value, int | float) and math.isfinite(value):
        fixed = _FIXED_FORMAT.match(_first_section(number_format))
        if fixed:
            decimals = len(fixed.group(1) or "")
            if fixed.group(2):
                return f"{value * 100:.{decimals}f}%"
            return f"{value:.{decimals}f}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # 12 significant digits hides binary noise (0.1 + 0.2) yet keeps real precision.
        return f"{value:.12g}"
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        # Excel dates arrive as datetimes at midnight; print them as dates.
        return text.removesuffix("T00:00:00")
    text = " ".join(str(value).split())
    if text.lower() in _NOISE:
        return ""
    return text


def _first_section(number_format: str) -> str:
    # "0.0;[Red]-0.0" -> "0.0"; colour/locale codes and quoting are dropped.
    section = number_format.split(";", 1)[0]
    section = re.sub(r"\[[^\]]*\]", "", section)
    return section.replace("\\", "").replace('"', "").replace("_)", "").strip()


def row_text(*, header: list[str], cells: list[str]) -> str:
    """``Method=LoRA; Params=4.7M`` — pairs with an empty value are left out."""
    parts = []
    for index, value in enumerate(cells):
        if not value:
            continue
        name = header[index] if index < len(header) and header[index] else f"Column {index + 1}"
        parts.append(f"{name}={value}")
    return "; ".join(parts)


def megabytes(size: int) -> str:
    """A byte count as megabytes for messages: 50, 2.5, 0.001."""
    value = size / (1024 * 1024)
    return f"{value:,.0f}" if value >= 10 else f"{value:.3g}"


def decode_text(data: bytes) -> str:
    """Decode text files: UTF-8 (with or without BOM), UTF-16 with BOM, else Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Latin-1 maps every byte, so this never fails; cp1252 files lose only a few
        # punctuation marks (smart quotes) this way.
        return data.decode("latin-1")
