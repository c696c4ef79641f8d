"""Guards every file a user gives Assay passes before any parser sees it.

Documents (at ingestion) and question files (web form, API, ``evaluate``) go through
``guard_file``: a size limit, the file's first bytes checked against its extension (a
program or a PDF renamed ``.csv``/``.html`` is refused, a ``.pdf`` must be a PDF, an
``.xlsx`` a zip archive), and for zip containers the zip-bomb limits, read from the
archive's directory before anything is inflated. ``strip_nul`` removes the NUL
characters PostgreSQL refuses in text and JSON, from every string Assay stores.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

ZIP_EXTENSIONS = frozenset({".xlsx", ".xlsm"})
TEXT_EXTENSIONS = frozenset({".csv", ".tsv", ".txt", ".md", ".markdown", ".html", ".htm", ".json", ""})
PDF_EXTENSIONS = frozenset({".pdf"})
SNIFF_BYTES = 8192

# Zip-bomb limits: the archive's declared sizes bound what a reader can inflate.
MAX_ZIP_ENTRIES = 10_000
MAX_COMPRESSION_RATIO = 100
# Small but repetitive workbooks compress well legitimately; the ratio only counts above this.
RATIO_CHECK_MIN_BYTES = 10 * 1024 * 1024

# First bytes of formats that are never text. A text file starting with one of these is
# a binary under a text extension.
_BINARY_MAGIC = (
    (b"%PDF-", "a PDF"),
    (b"PK\x03\x04", "a zip archive (or Office file)"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"\xcf\xfa\xed\xfe", "a program (Mach-O executable)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (.xls/.doc)"),
    (b"SQLite format 3", "an SQLite database"),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Bytes that do not occur in text: C0 controls other than tab, newline, form feed, return.
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


def megabytes(size: int) -> str:
    """A byte count as megabytes for messages: 50, 2.5, 0.001."""
    value = size / (1024 * 1024)
    return f"{value:,.0f}" if value >= 10 else f"{value:.3g}"


class FileRejected(ValueError):
    """A file refused before parsing; ``str(error)`` says why, naming the file."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def guard_file(
    *,
    name: str,
    max_bytes: int,
    path: Path | None = None,
    data: bytes | None = None,
    max_uncompressed: int = 200 * 1024 * 1024,
) -> None:
    """Raise ``FileRejected`` unless the file (at ``path`` or in ``data``) may be parsed."""
    if (path is None) == (data is None):
        raise TypeError("give exactly one of path and data")
    size = path.stat().st_size if path is not None else len(data)
    if size == 0:
        raise FileRejected(f"{name} is empty (0 bytes).")
    if size > max_bytes:
        raise FileRejected(f"{name} is {megabytes(size)} MB; the limit is {megabytes(max_bytes)} MB per file.")
    if path is not None:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    else:
        head = data[:SNIFF_BYTES]
    extension = Path(name).suffix.lower()
    if extension in PDF_EXTENSIONS:
        if b"%PDF-" not in head[:1024]:
            raise FileRejected(f"{name} could not be read: it does not start like a PDF (damaged or not a PDF).")
    elif extension in ZIP_EXTENSIONS:
        if not head.startswith(b"PK\x03\x04"):
            raise FileRejected(f"{name} is not an Excel workbook (an .xlsx file is a zip archive; this one is not).")
        guard_zip(name=name, source=path if path is not None else _BytesSource(data), max_uncompressed=max_uncompressed)
    elif extension in TEXT_EXTENSIONS:
        guard_text(name=name, head=head)


def guard_text(*, name: str, head: bytes) -> None:
    """Refuse binary data under a text extension (checked on the first bytes)."""
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise FileRejected(f"{name} is {what}, not a text file; upload it with its real extension.")
    if head.startswith(_UTF16_BOMS):
        return
    controls = sum(head.count(bytes([b])) for b in _CONTROL)
    if b"\x00" in head or controls > max(8, len(head) // 100):
        raise FileRejected(f"{name} does not look like a text file (it contains binary data).")


class _BytesSource:
    def __init__(self, data: bytes) -> None:
        self.data = data


def guard_zip(*, name: str, source: Path | _BytesSource, max_uncompressed: int) -> None:
    """Refuse archives that would inflate to something huge, before anything inflates them."""
    import io

    opened = io.BytesIO(source.data) if isinstance(source, _BytesSource) else source
    try:
        with zipfile.ZipFile(opened) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected(
            f"{name} is damaged or is not really an Excel workbook (the zip archive is unreadable)."
        ) from exc
    if len(entries) > MAX_ZIP_ENTRIES:
        raise FileRejected(f"{name} contains more than {MAX_ZIP_ENTRIES:,} parts; refusing to open it.")
    uncompressed = sum(entry.file_size for entry in entries)
    compressed = sum(entry.compress_size for entry in entries)
    if uncompressed > max_uncompressed:
        raise FileRejected(
            f"{name} would expand to {megabytes(uncompressed)} MB when opened "
            f"(the limit is {megabytes(max_uncompressed)} MB); refusing to open it."
        )
    if uncompressed > RATIO_CHECK_MIN_BYTES and uncompressed > compressed * MAX_COMPRESSION_RATIO:
        raise FileRejected(
            f"{name} is compressed suspiciously well (more than {MAX_COMPRESSION_RATIO}:1), "
            "which is how zip bombs look; refusing to open it."
        )


def strip_nul(value: Any) -> Any:
    """``value`` without NUL characters, in strings nested in lists, tuples and dicts too."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list | tuple):
        return type(value)(strip_nul(item) for item in value)
    if isinstance(value, dict):
        return {strip_nul(key): strip_nul(item) for key, item in value.items()}
    return value
