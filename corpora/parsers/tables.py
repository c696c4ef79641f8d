"""Find the tables in a grid of cells (a worksheet, a CSV file, a table found in a PDF).

A sheet may hold several tables stacked with or without blank rows between them, offset
from column A. Each table is made of, in order: label rows above it (a title such as
``Table 2`` and a caption), one or two header rows (a task name over ``Dev``/``Test``
columns is joined into ``SQuAD Dev``), data rows, group label rows among them (``Published``,
``Ours``: a row with one value followed by data rows), and caption rows below it.

Rows are classified by their cells:
- *label*: one distinct value (a title, a caption, a group; a merged banner repeats one value);
- *text*: two or more cells, none a number or a placeholder: a header, or a row of a
  table that holds only text;
- *data*: two or more cells, at least one of them a number or a placeholder (``-``).

A text row starts a new table when no table is open, when it follows a blank row, or when
the open table holds numbers and the next row is data (a stacked table without a gap).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.tables import ROW_COLUMN, cell_number, is_placeholder, row_format, table_markdown

# "Table 2", "Tab. 3", "TABLE IV": a label that opens a table rather than closing one.
_TABLE_LABEL = re.compile(r"^\s*(?:table|tab\.)\s*(?:\d+|[ivxlc]+)\b", re.IGNORECASE)
# How much of a long caption each row chunk repeats.
MAX_CONTEXT_CHARS = 240


@dataclass
class GridRow:
    number: int  # the spreadsheet row number (1-based), or the row's position in a PDF table
    cells: list[str]
    blank_before: bool = False

    @property
    def filled(self) -> list[tuple[int, str]]:
        return [(index, cell) for index, cell in enumerate(self.cells) if cell]

    @property
    def kind(self) -> str:
        filled = self.filled
        if len({cell for _, cell in filled}) <= 1:
            return "label"
        if any(cell_number(cell) is not None or is_placeholder(cell) for _, cell in filled):
            return "data"
        return "text"

    @property
    def first_column(self) -> int:
        return self.filled[0][0]


@dataclass
class Table:
    index: int
    labels: list[str] = field(default_factory=list)  # above the header: title, caption
    captions: list[str] = field(default_factory=list)  # below the data
    columns: list[str] = field(default_factory=list)
    header_cells: list[list[str]] = field(default_factory=list)
    rows: list[tuple[GridRow, str]] = field(default_factory=list)  # (row, group label)
    first_column: int = 0

    @property
    def title(self) -> str:
        return self.labels[0] if self.labels else ""

    @property
    def caption(self) -> str:
        return " ".join(self.labels[1:] + self.captions)

    @property
    def label(self) -> str:
        """``Table 2: SQuAD 1.1 results``: the title and the caption, without repeating one in the other."""
        title, caption = self.title, self.caption
        if not title:
            return caption
        if not caption:
            return title
        if caption.lower().startswith(title.lower().rstrip(".:")):
            return caption
        return f"{title.rstrip(' .:')}: {caption}"

    def context(self, group: str) -> str:
        label = self.label
        if len(label) > MAX_CONTEXT_CHARS:
            label = label[: MAX_CONTEXT_CHARS - 1].rsplit(" ", 1)[0] + "…"
        return ", ".join(part for part in (label, group) if part)

    def has_numbers(self) -> bool:
        return any(row.kind == "data" for row, _ in self.rows)

    def column_name(self, index: int) -> str:
        name = self.columns[index] if index < len(self.columns) else ""
        return name or f"Column {index + 1 - self.first_column}"

    def row_text(self, row: GridRow, group: str) -> str:
        pairs = [(self.column_name(index), cell) for index, cell in row.filled]
        return row_format(context=self.context(group), pairs=pairs)

    def markdown(self, *, with_row_numbers: bool, rows: list[tuple[GridRow, str]] | None = None) -> str:
        """The table (or ``rows``, a run of its rows) as Markdown under the table's label."""
        rows = self.rows if rows is None else rows
        used = sorted({index for row, _ in rows for index, _ in row.filled})
        columns = [self.column_name(index) for index in used]
        groups = any(group for _, group in rows)
        head = ([ROW_COLUMN] if with_row_numbers else []) + (["Group"] if groups else []) + columns
        body = []
        for row, group in rows:
            cells = [row.cells[index] if index < len(row.cells) else "" for index in used]
            body.append(([str(row.number)] if with_row_numbers else []) + ([group] if groups else []) + cells)
        return table_markdown(label=self.label, columns=head, rows=body)


def grid_rows(rows: Iterable[tuple[int, list[str]]]) -> list[GridRow]:
    """Non-empty rows, each marked when a blank row (or a gap in the numbering) precedes it."""
    out: list[GridRow] = []
    previous: int | None = None
    blank = False
    for number, cells in rows:
        if not any(cells):
            blank = True
            previous = number
            continue
        gap = previous is not None and number > previous + 1
        out.append(GridRow(number=number, cells=list(cells), blank_before=blank or gap))
        blank = False
        previous = number
    return out


def segment(rows: list[GridRow], *, fill_upper_headers: bool = True) -> tuple[list[Table], list[str]]:
    """The tables of a grid, and the label rows that belong to no table (a lone list)."""
    tables: list[Table] = []
    pending: list[GridRow] = []  # label rows waiting for the next table's header
    current: Table | None = None
    group = ""
    i = 0
    while i < len(rows):
        row = rows[i]
        kind = row.kind
        if kind == "label":
            run_end = i
            while run_end < len(rows) and rows[run_end].kind == "label":
                run_end += 1
            run = rows[i:run_end]
            following = rows[run_end] if run_end < len(rows) else None
            if current is None:
                pending.extend(run)
            elif following is None:
                current.captions += [_value(r) for r in run]
            elif _starts_table(rows, run_end, current):
                before, after = _split_labels(run, current)
                current.captions += [_value(r) for r in before]
                pending, group = after, ""
                current = None if pending else current
            else:
                # Followed by more rows of the same table: a group label (the last one counts).
                current.captions += [_value(r) for r in run[:-1]]
                group = _value(run[-1])
            i = run_end
            continue
        if current is None or _starts_table(rows, i, current) or (kind == "text" and row.blank_before):
            current, i = _open_table(rows, i, pending, index=len(tables) + 1, fill=fill_upper_headers)
            tables.append(current)
            pending, group = [], ""
            continue
        if not _same_as_header(row, current):
            current.rows.append((row, group))
        i += 1
    tables = [table for table in tables if table.rows]
    loose = [_value(r) for r in pending]
    return tables, loose


def _value(row: GridRow) -> str:
    return row.filled[0][1]


def _starts_table(rows: list[GridRow], i: int, current: Table | None) -> bool:
    if i >= len(rows):
        return False
    row = rows[i]
    if row.kind != "text" or (current is not None and _same_as_header(row, current)):
        return False
    if current is None:
        return True
    following = _next_unlabelled(rows, i + 1)
    if following is None:
        return False
    if following.kind == "text":
        following = _next_unlabelled(rows, rows.index(following, i + 1) + 1)  # a two-level header
    return current.has_numbers() and following is not None and following.kind == "data"


def _next_unlabelled(rows: list[GridRow], start: int) -> GridRow | None:
    """The next row that is not a label row (group labels may sit between header and data)."""
    for row in rows[start:]:
        if row.kind != "label":
            return row
    return None


def _split_labels(run: list[GridRow], current: Table) -> tuple[list[GridRow], list[GridRow]]:
    """Label rows between two tables: captions of the one above, then labels of the next."""
    for index, row in enumerate(run):
        if _TABLE_LABEL.match(_value(row)):
            return run[:index], run[index:]
    if len(run) >= 2:
        return run[:1], run[1:]
    # One row: a title if the tables of this sheet have titles above them, else a caption.
    return ([], run) if current.labels else (run, [])


def _same_as_header(row: GridRow, table: Table) -> bool:
    return any(_strip(row.cells) == _strip(header) for header in table.header_cells)


def _strip(cells: list[str]) -> list[str]:
    out = list(cells)
    while out and not out[-1]:
        out.pop()
    return out


def _open_table(rows: list[GridRow], i: int, pending: list[GridRow], *, index: int, fill: bool) -> tuple[Table, int]:
    table = Table(index=index)
    header = rows[i]
    upper: GridRow | None = None
    labels = list(pending)
    # A label row that starts right of the header's first column is an upper header
    # level (a task name centred or merged over its columns), not a title.
    if header.kind == "text" and labels and labels[-1].first_column > header.first_column:
        upper = labels.pop()
    elif (
        header.kind == "text"
        and i + 1 < len(rows)
        and rows[i + 1].kind == "text"
        and getattr(_next_unlabelled(rows, i + 2), "kind", "") == "data"
        and _spans(rows[i], rows[i + 1])
    ):
        upper, header = rows[i], rows[i + 1]
        i += 1
    table.labels = [_value(r) for r in labels]
    if header.kind != "text":
        # No header row at all: columns are numbered, and this row is data.
        table.first_column = header.first_column
        return table, i
    table.first_column = min(header.first_column, upper.first_column if upper else header.first_column)
    width = max(len(header.cells), len(upper.cells) if upper else 0)
    lower_cells = header.cells + [""] * (width - len(header.cells))
    upper_cells = (upper.cells + [""] * (width - len(upper.cells))) if upper else [""] * width
    if upper and fill:
        upper_cells = _fill_right(upper_cells, lower_cells)
    table.columns = [_join(up, low) for up, low in zip(upper_cells, lower_cells, strict=True)]
    table.header_cells = [header.cells] + ([upper.cells] if upper else [])
    return table, i + 1


def _spans(upper: GridRow, lower: GridRow) -> bool:
    """Is ``upper`` a level above ``lower`` (gaps over filled columns, or a merged value repeated)?"""
    up = dict(upper.filled)
    low = dict(lower.filled)
    if any(column not in up for column in low) and any(column in low for column in up):
        return True
    values = [up[column] for column in sorted(up)]
    return any(a == b for a, b in zip(values, values[1:], strict=False))


def _fill_right(upper: list[str], lower: list[str]) -> list[str]:
    """An unmerged upper header names the columns to its right until the next upper value."""
    out = list(upper)
    current = ""
    for index, value in enumerate(out):
        if value:
            current = value
        elif current and lower[index]:
            out[index] = current
        else:
            current = ""
    return out


def _join(upper: str, lower: str) -> str:
    if upper and lower and upper != lower:
        return f"{upper} {lower}"
    return upper or lower
