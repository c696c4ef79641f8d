"""Turn an uploaded file into a ``ParsedDocument`` of located text blocks.

Pure functions, no database: ``corpora`` services call ``parse_file`` and store the
result. Every failure a user can cause is a ``ParseError`` whose message says what
went wrong and what to do.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from corpora.parsers.base import (
    KIND_ROW,
    KIND_TEXT,
    Block,
    BlockStream,
    ParsedDocument,
    ParseError,
    decode_text,
    megabytes,
)
from corpora.parsers.html import parse_html
from corpora.parsers.pdf import stream_pdf
from corpora.parsers.text import parse_markdown, parse_plain_text
from corpora.parsers.xlsx import parse_csv, stream_xlsx

__all__ = [
    "KIND_ROW",
    "KIND_TEXT",
    "SUPPORTED_EXTENSIONS",
    "Block",
    "BlockStream",
    "ParseError",
    "ParsedDocument",
    "parse_file",
    "parse_html",
    "stream_file",
]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

# Extension -> parser kind.
SUPPORTED_EXTENSIONS: dict[str, str] = {
    ".pdf": "pdf",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".csv": "csv",
    ".tsv": "tsv",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}


def parse_file(*, path: Path, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDocument:
    """Parse the file at ``path``; ``filename`` is the user's name for it (for type and title)."""
    return stream_file(path=path, filename=filename, max_bytes=max_bytes).collect()


def stream_file(*, path: Path, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> BlockStream:
    """Like ``parse_file``, but PDFs and workbooks are read page by page and sheet by sheet
    as the blocks are consumed; other types are small enough to parse at once."""
    size = path.stat().st_size
    if size == 0:
        raise ParseError(f"{filename} is empty (0 bytes); there is nothing to index.")
    if size > max_bytes:
        raise ParseError(f"{filename} is {megabytes(size)} MB; the limit is {megabytes(max_bytes)} MB per file.")
    kind = _kind(path=path, filename=filename)
    title = Path(filename).stem or filename
    if kind == "pdf":
        return stream_pdf(path=path)
    if kind == "xlsx":
        return stream_xlsx(path=path, fallback_title=title)
    data = path.read_bytes()
    if kind in ("csv", "tsv"):
        return BlockStream.of(parse_csv(data=data, filename=filename, delimiter="\t" if kind == "tsv" else None))
    if kind == "html":
        parsed = parse_html(html=data)
        parsed.title = parsed.title or title
        return BlockStream.of(parsed)
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ParseError(f"{filename} does not look like a text file (it contains binary data).")
    text = decode_text(data)
    if kind == "markdown":
        return BlockStream.of(parse_markdown(text=text, fallback_title=title))
    return BlockStream.of(parse_plain_text(text=text, fallback_title=title))


def _kind(*, path: Path, filename: str) -> str:
    extension = Path(filename).suffix.lower()
    if extension in SUPPORTED_EXTENSIONS:
        return SUPPORTED_EXTENSIONS[extension]
    if not extension:
        sniffed = _sniff(path)
        if sniffed:
            return sniffed
    supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
    shown = extension or "files without an extension"
    raise ParseError(f"{filename}: {shown} is not a supported type. Supported types: {supported}.")


def _sniff(path: Path) -> str | None:
    """Recognise a file without an extension from its first bytes."""
    with path.open("rb") as handle:
        head = handle.read(2048)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                if "xl/workbook.xml" in archive.namelist():
                    return "xlsx"
        except (zipfile.BadZipFile, OSError):
            return None
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "html"
    return None
