"""Split a ``ParsedDocument`` into retrieval chunks, each tagged with its source.

Sizes suit all-MiniLM-L6-v2: it reads at most 256 word pieces, roughly 1,000
characters of English, so longer chunks would be silently truncated when embedded.

Rules:
- text is split on paragraph, then sentence, then word boundaries, and packed up to
  ``max_chars``; consecutive chunks of one section share about ``overlap_chars`` of
  whole sentences so that a fact on a boundary is retrievable from either side;
- a chunk never spans two pages (PDF) or two sections (heading paths differ);
- a row block (spreadsheet or table row) is exactly one chunk, never split or merged;
  so is a table block (a whole table as Markdown), even past ``max_chars``: its label
  and header come first, which is what its embedding needs to see.

Source tags (``ChunkDraft.source_tag``), put before the passage in prompts:
- PDF text and PDF table rows: ``[PDF: lora.pdf p.4]``
- spreadsheet rows: ``[Sheet: results.xlsx/Sheet1] Row 25:``; a CSV has one sheet
  named after the file's stem, as Excel names it: ``[Sheet: results.csv/results] Row 7:``.
  A row of a labelled table has no colon after its number, because its text opens with
  the table's context, so that tag and text read
  ``[Sheet: results.xlsx/Sheet1] Row 25 (Table 2: SQuAD 1.1 results, Ours): System=…``
- whole spreadsheet tables: ``[Sheet: results.xlsx/Sheet1] Rows 3-15:``
- fetched web pages: ``[Web: example.org]``
- HTML files, Markdown and plain text: ``[Doc: notes.md]``
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from corpora.parsers.base import KIND_ROW, KIND_TABLE, Block, ParsedDocument

DEFAULT_MAX_CHARS = 1000
DEFAULT_OVERLAP_CHARS = 150

# A sentence ends at . ! or ? (optionally followed by a closing quote or bracket)
# before whitespace and an opening capital, digit, quote or bracket.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]?\s+(?=[\"'“‘(\[A-Z0-9])")
_ABBREVIATIONS = re.compile(
    r"(?:\b(?:e\.g|i\.e|et al|etc|vs|cf|Fig|Figs|Eq|Eqs|Sec|Tab|No|Dr|Mr|Mrs|Ms|Prof"
    r"|approx|resp|incl|St|Jr|Sr)|\b[A-Z])\.$"
)


@dataclass
class ChunkDraft:
    text: str
    ordinal: int
    locator: dict = field(default_factory=dict)
    heading_path: list[str] = field(default_factory=list)
    source_tag: str = ""


def chunk_document(
    *,
    parsed: ParsedDocument,
    name: str,
    host: str | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    overlap_chars: int = DEFAULT_OVERLAP_CHARS,
) -> list[ChunkDraft]:
    """Chunks in document order with ordinals 0, 1, 2, …; ``name`` is the file name."""
    return list(
        chunk_blocks(
            blocks=parsed.blocks,
            source_type=parsed.source_type,
            name=name,
            host=host,
            max_chars=max_chars,
            overlap_chars=overlap_chars,
        )
    )


def chunk_blocks(
    *,
    blocks: Iterable[Block],
    source_type: str,
    name: str,
    host: str | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    overlap_chars: int = DEFAULT_OVERLAP_CHARS,
) -> Iterator[ChunkDraft]:
    """``chunk_document`` as blocks arrive: a chunk is yielded as soon as its section ends,
    so only one section's blocks are held at a time."""
    if max_chars < 50:
        raise ValueError("max_chars must be at least 50")
    overlap_chars = max(0, min(overlap_chars, max_chars // 2))
    ordinal = 0

    def draft(text: str, block: Block) -> ChunkDraft:
        nonlocal ordinal
        ordinal += 1
        return ChunkDraft(
            text=text,
            ordinal=ordinal - 1,
            locator=dict(block.locator),
            heading_path=list(block.heading_path),
            source_tag=source_tag(
                source_type=source_type,
                name=name,
                host=host,
                locator=block.locator,
                kind=block.kind,
                labelled=bool(block.context),
            ),
        )

    section: list[Block] = []

    def flush_section() -> Iterator[ChunkDraft]:
        if section:
            texts = [block.text for block in section]
            first = section[0]
            section.clear()
            for text in _pack(texts, max_chars=max_chars, overlap_chars=overlap_chars):
                yield draft(text, first)

    for block in blocks:
        if not block.text.strip():
            continue
        if block.kind in (KIND_ROW, KIND_TABLE):
            yield from flush_section()
            yield draft(block.text.strip(), block)
            continue
        if section and _section_key(section[0]) != _section_key(block):
            yield from flush_section()
        section.append(block)
    yield from flush_section()


def source_tag(
    *,
    source_type: str,
    name: str,
    host: str | None = None,
    locator: dict | None = None,
    kind: str = "text",
    labelled: bool = False,
) -> str:
    """The tag that precedes a passage from this source in prompts and reports."""
    locator = locator or {}
    if source_type == "pdf":
        page = locator.get("page")
        return f"[PDF: {name} p.{page}]" if page else f"[PDF: {name}]"
    if source_type in ("xlsx", "csv"):
        sheet = locator.get("sheet") or "Sheet1"
        row = locator.get("row")
        tag = f"[Sheet: {name}/{sheet}]"
        if kind == KIND_TABLE and locator.get("rows"):
            first, last = locator["rows"]
            return f"{tag} Rows {first}-{last}:"
        if not row:
            return tag
        return f"{tag} Row {row}" if labelled else f"{tag} Row {row}:"
    if source_type == "web":
        return f"[Web: {host or _host_of(name)}]"
    return f"[Doc: {name}]"


def chunk_key(*, document_sha256: str, ordinal: int, text: str) -> str:
    """Deterministic chunk id (sha256 hex): re-ingesting a document yields the same keys."""
    text_digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    material = f"{document_sha256}\x1f{ordinal}\x1f{text_digest}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences without a model; abbreviations do not end a sentence."""
    pieces = [piece.strip() for piece in _SENTENCE_END.split(text) if piece.strip()]
    sentences: list[str] = []
    for piece in pieces:
        if sentences and _ABBREVIATIONS.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


def _section_key(block: Block) -> tuple[str, tuple[str, ...]]:
    return json.dumps(block.locator, sort_keys=True), tuple(block.heading_path)


def _host_of(name: str) -> str:
    host = urlsplit(name).hostname if "://" in name else None
    return host or name


@dataclass
class _Unit:
    text: str
    starts_paragraph: bool


def _units(paragraphs: list[str], max_chars: int) -> list[_Unit]:
    """Sentences (or word-split pieces of over-long ones), each at most max_chars."""
    units: list[_Unit] = []
    for paragraph in paragraphs:
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        first = True
        # Sentence units even for short paragraphs, so the overlap is whole sentences.
        for sentence in split_sentences(paragraph):
            for piece in _hard_split(sentence, max_chars):
                units.append(_Unit(text=piece, starts_paragraph=first))
                first = False
    return units


def _hard_split(text: str, max_chars: int) -> list[str]:
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > max_chars:  # a URL or a formula without spaces
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) > max_chars:
            pieces.append(current)
            current = word
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def _join(units: list[_Unit]) -> str:
    text = ""
    for index, unit in enumerate(units):
        if index == 0:
            text = unit.text
        else:
            text += ("\n\n" if unit.starts_paragraph else " ") + unit.text
    return text


def _pack(paragraphs: list[str], *, max_chars: int, overlap_chars: int) -> list[str]:
    units = _units(paragraphs, max_chars)
    chunks: list[str] = []
    current: list[_Unit] = []
    fresh = 0  # units in `current` that are not overlap from the previous chunk
    for unit in units:
        if current and len(_join([*current, unit])) > max_chars:
            if fresh:
                chunks.append(_join(current))
            current = _overlap(current, overlap_chars) if fresh else current
            fresh = 0
            # The overlap gives way when it and the new unit do not fit together.
            while current and len(_join([*current, unit])) > max_chars:
                current = current[1:]
        current.append(unit)
        fresh += 1
    if current and fresh:
        chunks.append(_join(current))
    return chunks


def _overlap(units: list[_Unit], overlap_chars: int) -> list[_Unit]:
    """The trailing whole sentences of a chunk that fit in overlap_chars (never all)."""
    tail: list[_Unit] = []
    for unit in reversed(units[1:]):
        if len(_join([unit, *tail])) > overlap_chars:
            break
        tail.insert(0, unit)
    if tail:
        # Overlap text continues the previous chunk's paragraph; it reads as one.
        tail[0] = _Unit(text=tail[0].text, starts_paragraph=True)
    return tail
