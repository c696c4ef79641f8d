"""Spreadsheets (XLSX/XLSM and CSV/TSV): the tables of each sheet, row by row and whole.

Each sheet is cut into tables (``corpora.parsers.tables``). A data row becomes one block
that makes sense on its own, with its table's title, caption and group:
``(Table 2: SQuAD 1.1 results, Ours): System=BERT LARGE (Ensemble); Dev EM=85.8``; each
table also becomes one Markdown block (one per 200 rows of a longer table). Workbooks are
read sheet by sheet in openpyxl's read-only mode, so a large one is never loaded whole.
The document's title is the workbook's title property or the file name, never a cell.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import openpyxl
from openpyxl.utils.cell import range_boundaries
from openpyxl.xml.functions import iterparse  # defusedxml's when it is installed, as openpyxl reads

from core.file_guards import FileRejected, guard_zip
from corpora.parsers.base import (
    KIND_ROW,
    KIND_TABLE,
    Block,
    BlockStream,
    ParsedDocument,
    ParseError,
    clean_cell,
    decode_text,
)
from corpora.parsers.tables import grid_rows, segment

logger = logging.getLogger(__name__)

# Largest size a workbook may inflate to; the zip-bomb rules themselves are core.file_guards'.
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
# One block per row: a sheet larger than this is a database dump, not a corpus document.
MAX_ROWS = 200_000
# Rows per Markdown block of a table (the whole table when it is shorter).
TABLE_BLOCK_MAX_ROWS = 200


def parse_xlsx(*, path: Path, fallback_title: str = "") -> ParsedDocument:
    return stream_xlsx(path=path, fallback_title=fallback_title).collect()


def stream_xlsx(*, path: Path, fallback_title: str = "") -> BlockStream:
    """The workbook's blocks sheet by sheet, read in openpyxl's streaming (read-only) mode."""
    check_zip_bomb(path=path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, BadZipFile, XML errors, ...
        logger.info("xlsx open failed: %r", exc)
        raise ParseError(
            "This Excel file could not be opened; it looks damaged or is not really an "
            ".xlsx workbook. Save it again from Excel (as .xlsx) and upload it again."
        ) from exc
    title = str(getattr(workbook.properties, "title", "") or "").strip()
    return BlockStream(source_type="xlsx", blocks=_workbook_blocks(workbook), title=title or fallback_title)


def _workbook_blocks(workbook: openpyxl.Workbook) -> Iterator[Block]:
    count = 0
    try:
        for sheet in workbook.worksheets:
            # Read-only mode trusts the <dimension> a writer recorded, which may be wrong.
            sheet.reset_dimensions()
            merges = _merged_ranges(sheet)
            rows = _numbered_sheet_rows(sheet, merges)
            for block in sheet_blocks(rows=rows, sheet=sheet.title, fill_upper_headers=not merges):
                count += 1
                if count > MAX_ROWS:
                    raise ParseError(
                        f"This workbook has more than {MAX_ROWS:,} rows; split it into "
                        "smaller files and upload them separately."
                    )
                yield block
    except ParseError:
        raise
    except Exception as exc:
        logger.info("xlsx read failed: %r", exc)
        raise ParseError(
            "This Excel file could not be read to the end; it looks damaged. "
            "Save it again from Excel and upload it again."
        ) from exc
    finally:
        workbook.close()
    if not count:
        raise ParseError("This workbook has no data rows to index; every sheet is empty.")


def check_zip_bomb(*, path: Path) -> None:
    """Refuse archives that would inflate to something huge, before anything inflates them.

    zipfile stops reading an entry at its declared size, so the declared sizes
    checked here also bound what openpyxl can read later.
    """
    try:
        guard_zip(name="This workbook", source=path, max_uncompressed=MAX_UNCOMPRESSED_BYTES)
    except FileRejected as exc:
        raise ParseError(str(exc)) from exc


def _merged_ranges(sheet: object) -> list[tuple[int, int, int, int]]:
    """(min_row, min_col, max_row, max_col) of the sheet's merged cells.

    Read-only mode does not report them, so the sheet's XML is scanned for its
    ``<mergeCell ref="A1:C1"/>`` elements (after the cells, so the scan reads the whole
    part, clearing each element as it goes).
    """
    ranges = []
    # openpyxl (pinned) opens a read-only sheet's XML part with _get_source().
    with sheet._get_source() as source:  # type: ignore[attr-defined]
        for _, element in iterparse(source):
            if element.tag == _MERGE_CELL and element.get("ref"):
                min_col, min_row, max_col, max_row = range_boundaries(element.get("ref"))
                ranges.append((min_row, min_col, max_row, max_col))
            element.clear()
    return ranges


_MERGE_CELL = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}mergeCell"


def _numbered_sheet_rows(sheet: object, merges: list[tuple[int, int, int, int]]) -> Iterator[tuple[int, list[str]]]:
    # iter_rows in read-only mode skips rows missing from the XML, so the Excel row
    # number comes from the cells themselves, not from counting.
    spans: dict[tuple[int, int], tuple[int, int]] = {}
    widths: dict[int, int] = {}  # row -> last column a merge covers
    for min_row, min_col, max_row, max_col in merges:
        for row in range(min_row, max_row + 1):
            widths[row] = max(widths.get(row, 0), max_col)
            for column in range(min_col, max_col + 1):
                spans[(row, column)] = (min_row, min_col)
    anchors: dict[tuple[int, int], str] = {}
    for row in sheet.iter_rows():  # type: ignore[attr-defined]
        number = next((cell.row for cell in row if getattr(cell, "row", None)), None)
        if number is None:
            continue
        cells = [clean_cell(cell.value, getattr(cell, "number_format", None)) for cell in row]
        if spans:
            # Read-only rows end at their last stored cell; a merge may reach past it.
            cells += [""] * (widths.get(number, 0) - len(cells))
            for column in range(1, len(cells) + 1):
                anchor = spans.get((number, column))
                if anchor is None:
                    continue
                if anchor == (number, column):
                    anchors[anchor] = cells[column - 1]
                else:
                    # A merged cell reads as its top-left value (a spanning header or banner).
                    cells[column - 1] = anchors.get(anchor, "")
        yield number, cells


def table_blocks(*, rows: Iterable[tuple[int, list[str]]], sheet: str, fill_upper_headers: bool = True) -> list[Block]:
    """The blocks of one sheet: a row block per data row, then the Markdown blocks of each table."""
    return list(sheet_blocks(rows=rows, sheet=sheet, fill_upper_headers=fill_upper_headers))


def sheet_blocks(
    *, rows: Iterable[tuple[int, list[str]]], sheet: str, fill_upper_headers: bool = True
) -> Iterator[Block]:
    """``table_blocks`` one at a time: finding the tables needs the sheet's cells, but the
    blocks made from them are handed on as they are made, not collected."""
    grid = grid_rows(rows)
    tables, loose = segment(grid, fill_upper_headers=fill_upper_headers)
    count = 0
    for table in tables:
        for row, group in table.rows:
            text = table.row_text(row, group)
            if text:
                count += 1
                if count > MAX_ROWS:
                    raise ParseError(
                        f"The sheet {sheet!r} has more than {MAX_ROWS:,} rows; split it into "
                        "smaller files and upload them separately."
                    )
                locator = {"sheet": sheet, "row": row.number, "table": table.index}
                yield Block(text=text, locator=locator, kind=KIND_ROW, context=table.context(group))
        # A long table is written in parts: one Markdown block of 50,000 rows would be a
        # chunk of megabytes, of which the model reads the first 256 word pieces, and which a
        # prompt citing it would carry whole (its full-text vector may pass PostgreSQL's 1 MB).
        for start in range(0, len(table.rows), TABLE_BLOCK_MAX_ROWS):
            part = table.rows[start : start + TABLE_BLOCK_MAX_ROWS]
            yield Block(
                text=table.markdown(with_row_numbers=True, rows=part),
                locator={"sheet": sheet, "table": table.index, "rows": [part[0][0].number, part[-1][0].number]},
                kind=KIND_TABLE,
            )
    if not tables:
        # A one-column list: no header to pair with, but the text still counts.
        for index, value in enumerate(loose, start=1):
            yield Block(text=value, locator={"sheet": sheet, "row": index}, kind=KIND_ROW)


def parse_csv(*, data: bytes, filename: str, delimiter: str | None = None) -> ParsedDocument:
    """CSV/TSV. The "sheet" is the file's stem, as a spreadsheet program would name it."""
    text = decode_text(data)
    if not text.strip():
        raise ParseError("This CSV file is empty.")
    if delimiter is None:
        delimiter = _sniff_delimiter(text)
    sheet = Path(filename).stem or "csv"
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        # Record n is spreadsheet row n (a header on line 1 is row 1), as Excel shows it.
        rows = ((number, [clean_cell(value) for value in record]) for number, record in enumerate(reader, start=1))
        blocks = table_blocks(rows=rows, sheet=sheet)
    except csv.Error as exc:
        raise ParseError(f"This CSV file could not be read: {exc}.") from exc
    if not blocks:
        raise ParseError("This CSV file has no data rows to index.")
    return ParsedDocument(title=sheet, source_type="csv", blocks=blocks)


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","
