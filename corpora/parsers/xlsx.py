"""Spreadsheets (XLSX/XLSM and CSV/TSV): every data row becomes one header-tagged block.

A row reads ``System=BERT LARGE (Ensemble); Dev EM=85.8; Dev F1=91.8`` so that a
retrieved row makes sense on its own. The header is the first row with at least two
non-empty cells; title rows and merged banners above it are skipped.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import openpyxl

from corpora.parsers.base import (
    KIND_ROW,
    Block,
    ParsedDocument,
    ParseError,
    clean_cell,
    decode_text,
    megabytes,
    row_text,
)

logger = logging.getLogger(__name__)

# Zip bomb limits, checked on the archive directory before openpyxl inflates anything.
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
# Highly repetitive but small workbooks compress well legitimately; the ratio rule
# only applies once the inflated size is worth worrying about.
RATIO_CHECK_MIN_BYTES = 10 * 1024 * 1024
MAX_ZIP_ENTRIES = 10_000
# One block per row: a sheet larger than this is a database dump, not a corpus document.
MAX_ROWS = 200_000


def parse_xlsx(*, path: Path, fallback_title: str = "") -> ParsedDocument:
    check_zip_bomb(path=path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, BadZipFile, XML errors, ...
        logger.info("xlsx open failed: %r", exc)
        raise ParseError(
            "This Excel file could not be opened; it looks damaged or is not really an "
            ".xlsx workbook. Save it again from Excel (as .xlsx) and upload it again."
        ) from exc
    blocks: list[Block] = []
    title = ""
    try:
        for sheet in workbook.worksheets:
            rows = _numbered_sheet_rows(sheet)
            sheet_blocks, sheet_title = table_blocks(rows=rows, sheet=sheet.title)
            blocks.extend(sheet_blocks)
            title = title or sheet_title
            if len(blocks) > MAX_ROWS:
                raise ParseError(
                    f"This workbook has more than {MAX_ROWS:,} rows; split it into "
                    "smaller files and upload them separately."
                )
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
    if not blocks:
        raise ParseError("This workbook has no data rows to index; every sheet is empty.")
    return ParsedDocument(title=title or fallback_title, source_type="xlsx", blocks=blocks)


def check_zip_bomb(*, path: Path) -> None:
    """Refuse archives that would inflate to something huge, before anything inflates them.

    zipfile stops reading an entry at its declared size, so the declared sizes
    checked here also bound what openpyxl can read later.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ParseError(
            "This Excel file is damaged or is not really an .xlsx workbook "
            "(an .xlsx file is a zip archive, and this one could not be opened)."
        ) from exc
    if len(entries) > MAX_ZIP_ENTRIES:
        raise ParseError(f"This workbook contains more than {MAX_ZIP_ENTRIES:,} parts; refusing to open it.")
    uncompressed = sum(entry.file_size for entry in entries)
    compressed = sum(entry.compress_size for entry in entries)
    if uncompressed > MAX_UNCOMPRESSED_BYTES:
        raise ParseError(
            f"This workbook would expand to {megabytes(uncompressed)} MB when opened "
            f"(the limit is {megabytes(MAX_UNCOMPRESSED_BYTES)} MB); refusing to open it."
        )
    if uncompressed > RATIO_CHECK_MIN_BYTES and uncompressed > compressed * MAX_COMPRESSION_RATIO:
        raise ParseError(
            "This workbook is compressed suspiciously well (more than "
            f"{MAX_COMPRESSION_RATIO}:1), which is how zip bombs look; refusing to open it."
        )


def _numbered_sheet_rows(sheet: object) -> Iterator[tuple[int, list[object]]]:
    # iter_rows in read-only mode skips rows missing from the XML, so the Excel row
    # number comes from the cells themselves, not from counting.
    for row in sheet.iter_rows():  # type: ignore[attr-defined]
        number = next((cell.row for cell in row if getattr(cell, "row", None)), None)
        if number is None:
            continue
        yield (
            number,
            [clean_cell(cell.value, getattr(cell, "number_format", None)) for cell in row],
        )


def table_blocks(*, rows: Iterable[tuple[int, list[object]]], sheet: str) -> tuple[list[Block], str]:
    """Turn numbered raw rows of one sheet into row blocks; also returns a title row's text."""
    header: list[str] | None = None
    title = ""
    blocks: list[Block] = []
    for number, raw in rows:
        cells = [clean_cell(value) for value in raw]
        filled = [cell for cell in cells if cell]
        if not filled:
            continue
        if header is None:
            if len(filled) >= 2:
                header = cells
            elif not title:
                title = filled[0]
            continue
        if _same_row(cells, header):
            continue  # a repeated header (e.g. a table continued after a page break)
        text = row_text(header=header, cells=cells)
        if text:
            blocks.append(Block(text=text, locator={"sheet": sheet, "row": number}, kind=KIND_ROW))
        if len(blocks) > MAX_ROWS:
            raise ParseError(
                f"The sheet {sheet!r} has more than {MAX_ROWS:,} rows; split it into "
                "smaller files and upload them separately."
            )
    if header is None and title:
        # A one-column list: no header to pair with, but the text still counts.
        blocks.append(Block(text=title, locator={"sheet": sheet, "row": 1}, kind=KIND_ROW))
        title = ""
    return blocks, title


def _same_row(cells: list[str], header: list[str]) -> bool:
    width = max(len(cells), len(header))
    padded_cells = cells + [""] * (width - len(cells))
    padded_header = header + [""] * (width - len(header))
    return padded_cells == padded_header


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
        rows = ((number, list(record)) for number, record in enumerate(reader, start=1))
        blocks, title = table_blocks(rows=rows, sheet=sheet)
    except csv.Error as exc:
        raise ParseError(f"This CSV file could not be read: {exc}.") from exc
    if not blocks:
        raise ParseError("This CSV file has no data rows to index.")
    return ParsedDocument(title=title or filename, source_type="csv", blocks=blocks)


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","
