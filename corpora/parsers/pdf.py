"""PDF: one block per paragraph (page-located); tables found by pdfplumber's table finder
become row blocks and one Markdown block each, labelled with the "Table N: …" caption
printed next to them. Text inside a table's box is not prose; everything else is."""

from __future__ import annotations

import logging
import re
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pdfplumber
import pypdf
from pdfminer.pdfdocument import PDFPasswordIncorrect

from corpora.parsers.base import (
    KIND_ROW,
    KIND_TABLE,
    KIND_TEXT,
    Block,
    BlockStream,
    ParsedDocument,
    ParseError,
    clean_cell,
)
from corpora.parsers.tables import GridRow, grid_rows, segment

logger = logging.getLogger(__name__)

# A line whose glyphs are this much larger than the body text is taken as a heading.
_HEADING_SIZE_RATIO = 1.15
_PAGE_NUMBER = re.compile(r"^\s*(page\s+)?\d+(\s*(/|of)\s*\d+)?\s*$", re.IGNORECASE)
_HYPHEN_BREAK = re.compile(r"(\w)-$")
_JUNK_TITLES = {"untitled", "microsoft word", "document", "title"}


def parse_pdf(*, path: Path) -> ParsedDocument:
    return stream_pdf(path=path).collect()


def stream_pdf(*, path: Path) -> BlockStream:
    """The PDF's blocks page by page; each page's parsed objects are freed once it is read."""
    _refuse_encrypted(path)
    stream = BlockStream(source_type="pdf", blocks=iter(()))
    stream.blocks = _pdf_blocks(path=path, stream=stream)
    return stream


def _pdf_blocks(*, path: Path, stream: BlockStream) -> Iterator[Block]:
    found_text = False
    try:
        with pdfplumber.open(path) as pdf:
            metadata_title = str((pdf.metadata or {}).get("Title") or "").strip()
            stream.title = _title(metadata_title, [])
            # Headings carry over page breaks: (font size, text), largest first.
            headings: list[tuple[float, str]] = []
            for number, page in enumerate(pdf.pages, start=1):
                blocks = _page_blocks(page, number, headings)
                # pdfplumber keeps every page's characters and layout until closed: a
                # 500-page PDF would otherwise hold them all.
                page.close()
                found_text = found_text or any(block.text.strip() for block in blocks)
                stream.title = stream.title or _title("", blocks)
                yield from blocks
    except ParseError:
        raise
    except PDFPasswordIncorrect as exc:
        raise ParseError(_ENCRYPTED) from exc
    except Exception as exc:  # pdfminer raises many unrelated types on broken files
        logger.info("pdf parse failed: %r", exc)
        raise ParseError(
            "This PDF could not be read; it looks damaged or is not really a PDF. "
            "Re-export or re-download it and upload it again."
        ) from exc

    if not found_text:
        raise ParseError(
            "This PDF contains no extractable text (it is probably a scanned image). "
            "Run OCR on it, or export it with a text layer, and upload it again."
        )


_ENCRYPTED = "This PDF is encrypted; remove the password and upload it again."


def _refuse_encrypted(path: Path) -> None:
    try:
        reader = pypdf.PdfReader(path)
        if not reader.is_encrypted:
            return
        # An owner-password-only PDF opens with the empty user password; that is fine.
        opened = reader.decrypt("")
    except Exception:  # noqa: BLE001 - pdfplumber below gives the corrupt-file verdict
        return
    if not opened:
        raise ParseError(_ENCRYPTED)


def _title(metadata_title: str, blocks: list[Block]) -> str:
    if metadata_title and metadata_title.lower() not in _JUNK_TITLES:
        return metadata_title
    for block in blocks:
        if block.heading_path:
            return block.heading_path[0]
        if block.kind == KIND_TEXT and block.text.strip():
            return block.text.strip().splitlines()[0][:200]
    return ""


def _page_blocks(page: Any, number: int, headings: list[tuple[float, str]]) -> list[Block]:
    tables = page.find_tables()
    boxes = [table.bbox for table in tables]

    def outside_tables(obj: dict) -> bool:
        cx = (obj["x0"] + obj["x1"]) / 2
        cy = (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)

    headings_before = list(headings)
    text_page = page.filter(outside_tables) if boxes else page
    lines = [
        line
        for line in text_page.extract_text_lines(strip=True, return_chars=True)
        if line["text"].strip() and not _PAGE_NUMBER.match(line["text"])
    ]
    # Positioned items: (top, block). Sorted at the end so table rows stay in reading order.
    items: list[tuple[float, int, Block]] = []
    for top, text, heading_path in _paragraphs(lines, headings):
        items.append(
            (
                top,
                len(items),
                Block(text=text, locator={"page": number}, heading_path=heading_path),
            )
        )
    all_lines = page.extract_text_lines(strip=True)
    for table_index, table in enumerate(tables, start=1):
        caption = _caption(all_lines, table.bbox)
        for row_index, block in enumerate(_table_blocks(table, number, table_index, caption)):
            items.append((table.bbox[1] + row_index * 1e-3, len(items), block))
    items.sort(key=lambda item: (item[0], item[1]))
    blocks = [block for _, _, block in items]
    # Table rows belong to the section of the text above them.
    heading_path = [name for _, name in headings_before]
    for block in blocks:
        if block.kind in (KIND_ROW, KIND_TABLE):
            block.heading_path = list(heading_path)
        else:
            heading_path = block.heading_path
    return blocks


def _line_size(line: dict) -> float:
    sizes = [char.get("size", 0.0) for char in line.get("chars", []) if char.get("text", "").strip()]
    # Rounded: the same font size comes out as 13.0 or 13.000000000000028.
    return round(statistics.median(sizes), 1) if sizes else 0.0


def _paragraphs(lines: list[dict], headings: list[tuple[float, str]]) -> list[tuple[float, str, list[str]]]:
    """Group lines into paragraphs by vertical gaps; larger-font lines become headings."""
    if not lines:
        return []
    sizes = [_line_size(line) for line in lines]
    body_size = statistics.median(sizes) if sizes else 0.0
    heights = [line["bottom"] - line["top"] for line in lines]
    line_height = statistics.median(heights) if heights else 10.0

    paragraphs: list[tuple[float, str, list[str]]] = []
    last_was_heading = False
    current: list[str] = []
    current_top = 0.0
    previous_bottom: float | None = None

    def flush() -> None:
        if current:
            text = _join_lines(current)
            paragraphs.append((current_top, text, [name for _, name in headings]))
            current.clear()

    for line, size in zip(lines, sizes, strict=True):
        text = line["text"].strip()
        is_heading = (
            body_size > 0
            and size >= body_size * _HEADING_SIZE_RATIO
            and len(text) <= 120
            and not text.endswith((".", ","))
        )
        if is_heading:
            flush()
            if (
                last_was_heading
                and headings
                and headings[-1][0] == size
                and previous_bottom is not None
                and line["top"] - previous_bottom < line_height * 0.6
            ):
                # A heading wrapped onto a second line: extend it.
                headings[-1] = (size, f"{headings[-1][1]} {text}")
            else:
                while headings and headings[-1][0] <= size:
                    headings.pop()
                headings.append((size, text))
            previous_bottom = line["bottom"]
            last_was_heading = True
            continue
        last_was_heading = False
        gap = line["top"] - previous_bottom if previous_bottom is not None else 0.0
        if current and gap > line_height * 0.6:
            flush()
        if not current:
            current_top = line["top"]
        current.append(text)
        previous_bottom = line["bottom"]
    flush()
    return paragraphs


def _join_lines(lines: list[str]) -> str:
    text = ""
    for line in lines:
        if not text:
            text = line
        elif _HYPHEN_BREAK.search(text) and line[:1].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}"
    return text


def _table_blocks(table: Any, page_number: int, table_index: int, caption: str) -> list[Block]:
    """A PDF table's rows (with the table's caption) and the whole table as Markdown."""
    raw = [[clean_cell(cell) for cell in row] for row in table.extract()]
    grid = grid_rows((number, cells) for number, cells in enumerate(raw, start=1))
    if caption:
        # The caption found next to the table labels it, as a title row would in a sheet.
        grid.insert(0, GridRow(number=0, cells=[caption]))
    found, _ = segment(grid)
    blocks = []
    for part in found:
        locator = {"page": page_number, "table": table_index}
        for row, group in part.rows:
            text = part.row_text(row, group)
            if text:
                blocks.append(
                    Block(text=text, locator={**locator, "row": row.number}, kind=KIND_ROW, context=part.context(group))
                )
        blocks.append(Block(text=part.markdown(with_row_numbers=False), locator=locator, kind=KIND_TABLE))
    return blocks


def _caption(lines: list[dict], bbox: tuple[float, float, float, float]) -> str:
    """The "Table N: …" line just below or above a table, with the lines that continue it."""
    x0, top, x1, bottom = bbox
    best: tuple[float, int] | None = None
    for index, line in enumerate(lines):
        if not _CAPTION.match(line["text"]):
            continue
        distance = line["top"] - bottom if line["top"] >= bottom else top - line["bottom"]
        if -2 <= distance <= _CAPTION_DISTANCE and (best is None or distance < best[0]):
            best = (distance, index)
    if best is None:
        return ""
    index = best[1]
    parts = [lines[index]["text"].strip()]
    height = lines[index]["bottom"] - lines[index]["top"]
    for line in lines[index + 1 :]:
        if line["top"] - lines[index]["bottom"] > height * 0.8 or parts[-1].endswith("."):
            break
        parts.append(line["text"].strip())
        index += 1
    return _join_lines(parts)


_CAPTION = re.compile(r"^\s*(?:table|tab\.)\s*\d+\s*[:.]", re.IGNORECASE)
_CAPTION_DISTANCE = 40.0  # points (about 14 mm) between a table's edge and its caption
