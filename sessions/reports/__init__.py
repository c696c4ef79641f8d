"""Session reports as files: PDF (the report templates through xhtml2pdf) and XLSX (openpyxl)."""

from __future__ import annotations

from pathlib import Path

from core.errors import InvalidInput
from sessions.reports.pdf import render_pdf
from sessions.reports.xlsx import XLSX_CONTENT_TYPE, render_xlsx
from sessions.selectors import SessionReport

__all__ = ["XLSX_CONTENT_TYPE", "render_pdf", "render_xlsx", "write_report"]

RENDERERS = {".pdf": render_pdf, ".xlsx": render_xlsx}


def write_report(*, report: SessionReport, path: str | Path) -> Path:
    """Write the report to ``path``; the suffix (.pdf or .xlsx) chooses the format."""
    path = Path(path)
    renderer = RENDERERS.get(path.suffix.lower())
    if renderer is None:
        raise InvalidInput(f"{path.name}: reports are .pdf or .xlsx.")
    path.write_bytes(renderer(report))
    return path
