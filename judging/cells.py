"""Figures a claim gives one table row under one named column, checked against that cell.

An answer restates a table in two ways: in prose ("RTE: 85.2 for SAT against 86.7 for full
fine-tuning") and as a table of its own, which the claim splitter turns into one claim per
answer row ("Time-based availability: VX-164 97.1%; HT-7.0 96.8%", whichever way the table
is turned). Either way a figure is said of a row (its name near the figure, or in the answer
row's label or column head) under a column (named just before the figure, or by the label).
When the context's row holds another figure in that column, the claim states a wrong
figure, however well it could be worked out from other figures: "the context gives 86.2 for
SAT (ours)'s RTE, the answer 85.2". A figure stated as a gap or a change ("a gap of 1.5
points", "0.6 GB less") is a figure *between* cells, not a cell, and is left to the
derivation checks (``judging.figures``, ``judging.tables.row_gap``).

Pure functions over text and :class:`judging.text.TableRow`; the offline judge binds figures
to rows and calls them per claim (``offline_judge._Analysis._cell_conflicts``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from judging.tables import _is_gap
from judging.text import TableRow, content_words, normalise_number, rounding_tolerance

# "Label: the rest", the label without figures or sentence marks.
_LEAD_RE = re.compile(r"^\s*(?P<lead>[^.:;!?]{1,80}?):\s+(?P<body>\S.*)$", re.S)
# An answer table's cell: a head, then a figure (a sign, a unit) ending the segment.
_CELL_RE = re.compile(
    r"^(?P<head>.*?\S)\s+(?P<sign>[+\-−])?\$?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"\s*(?P<unit>%|[a-zA-Zµμ]{1,4})?\s*$"
)
# Words next to a figure that make it a gap, a ratio or a change, not a cell's figure.
_RELATIVE_BEFORE_RE = re.compile(
    r"\b(?:gap|gaps|difference|differs?|delta|margin|by|within|ahead|behind|up|down|"
    r"saving|savings|save|saves|cut|cuts|gain|gains|drop|drops|lost|loses|costs?|adds?)"
    r"(?:\s+(?:of|to|is|was))?\s*[+\-−]?\$?$"
)
_RELATIVE_AFTER_RE = re.compile(
    r"^\s*(?:%\s*|(?:[a-zµμ/]{1,5}\s+){1,2})?(?:points?|pts?|pp|x|×|times|fold|-fold|percentage|more|less|fewer|higher|lower|above|below|"
    r"ahead|behind|better|worse|faster|slower|smaller|larger|bigger|greater|over|under|up|down|improvement|gain|"
    r"drop|reduction|increase|decrease|relative|of|per|in|on|cheaper|longer|shorter)\b"
)

# Units an answer may put after a cell's figure, in one form each, and their size in the
# smallest unit of their kind (a column in MB holds a figure the answer gives in GB).
_SCALES: dict[str, tuple[str, float]] = {
    "kb": ("bytes", 1.0),
    "mb": ("bytes", 1e3),
    "gb": ("bytes", 1e6),
    "tb": ("bytes", 1e9),
    "ms": ("time", 1e-3),
    "s": ("time", 1.0),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
    "k": ("count", 1e3),
    "m": ("count", 1e6),
    "b": ("count", 1e9),
}


@dataclass(frozen=True)
class CellConflict:
    """A figure the claim gives a row under a column, and the figure the row holds there."""

    row: TableRow
    column: str
    stated: str  # as the claim writes it, unit included
    expected: float

    def describe(self) -> str:
        return (
            f"gives {self.row.label} {self.stated} for {self.column}, but the context gives {self.expected:g} for "
            f'{self.row.label}\'s {self.column}: "{_short(self.row.text)}"'
        )


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def lead_and_cells(claim: str) -> tuple[str, list[str]]:
    """The claim's label and, when it has one, the segments after it ("Train time: LoRA 3.9 h;
    SAT 5.3 h" → "Train time", ["LoRA 3.9 h", "SAT 5.3 h"]); ("", []) without a label."""
    match = _LEAD_RE.match(claim)
    if match is None:
        return "", []
    return match.group("lead").strip(), [s.strip() for s in match.group("body").split(";") if s.strip()]


def stated_cell(segment: str) -> tuple[str, str, str, bool, int] | None:
    """(head, figure, unit, signed, figure's start) of an answer table's cell ("VX-164 (8 MW) 95.9%")."""
    match = _CELL_RE.match(segment)
    if match is None:
        return None
    unit = (match.group("unit") or "").casefold()
    unit = {"hours": "h", "hr": "h", "hrs": "h", "sec": "s", "mins": "min"}.get(unit, unit)
    return (
        match.group("head"),
        normalise_number(match.group("num")),
        unit,
        bool(match.group("sign")),
        match.start("num"),
    )


def is_relative(lowered: str, start: int, end: int) -> bool:
    """The figure at ``lowered[start:end]`` is stated as a gap, ratio or change."""
    return bool(_RELATIVE_BEFORE_RE.search(lowered[max(0, start - 24) : start])) or bool(
        _RELATIVE_AFTER_RE.match(lowered[end : end + 24])
    )


def _header_words(column: str) -> list[str]:
    return content_words(re.sub(r"\([^)]*\)", " ", column)) or content_words(column)


def column_meant(text: str, row: TableRow) -> str | None:
    """The one numeric column of ``row`` whose every word (by its first five letters) ``text``
    uses, the row's own name aside; of several, the one with the most words, if it alone has
    that many."""
    words = {w[:5] for w in content_words(text)}
    found = [
        (len(hw), column)
        for column, _ in row.cells
        if (hw := _header_words(column)) and {w[:5] for w in hw} <= words and row.value_of(column) is not None
    ]
    if not found:
        return None
    most = max(n for n, _ in found)
    best = [column for n, column in found if n == most]
    return best[0] if len(best) == 1 else None


def _unit_of(column: str) -> str:
    match = re.search(r"\(([^)]*)\)", column)
    return match.group(1).split("/")[0].strip().casefold() if match else ""


def differs(number: str, unit: str, signed: bool, row: TableRow, column: str, *, hedged: bool) -> float | None:
    """The row's figure in ``column`` when the claim's ``number`` (with ``unit``) does not state
    it, as written, rounded, hedged ("about 86"), as a fraction or percentage of it, or in
    another unit of its kind ("1.4 GB" for 1,420 MB); None when it does, or cannot be told."""
    value = row.value_of(column)
    if value is None:
        return None
    cell = next((v for c, v in row.cells if c == column), "")
    if signed and not re.match(r"\s*[+\-−]", cell):
        return None  # "+0.3" said of a row whose cell is unsigned: a change, not the cell
    try:
        target = float(number)
    except ValueError:
        return None
    tolerance = rounding_tolerance(number, target, approximate=hedged)
    candidates = [abs(value), abs(value) * 100, abs(value) / 100]
    column_unit = _unit_of(column)
    if unit in _SCALES and column_unit in _SCALES and _SCALES[unit][0] == _SCALES[column_unit][0]:
        candidates.append(abs(value) * _SCALES[column_unit][1] / _SCALES[unit][1])
    elif unit and column_unit and unit != column_unit:
        return None  # the figure is in a unit the column is not: not this cell's figure
    if any(abs(c - target) <= tolerance for c in candidates):
        return None
    return value


# After a gap's figure and its words ("0.6 GB more than", "1.4 hours ahead of"): the row it is
# measured against follows.
_AGAINST_RE = re.compile(r"^[^;:.]{0,30}?\b(?:than|over|against|versus|vs|of|behind|below|above|beyond)\s+(?:the\s+)?$")


def measured_against(lowered: str, end: int, name_start: int) -> bool:
    """The words between a figure's end and a row's name say the figure is measured against
    that row ("... 40% faster than <name>", "1.4 hours ahead of <name>")."""
    return 0 <= name_start - end <= 40 and bool(_AGAINST_RE.match(lowered[end:name_start]))


def gap_between(number: str, first: TableRow, second: TableRow, *, hedged: bool) -> bool | None:
    """Whether ``number`` is a gap (difference, ratio, relative change) between the two rows in
    a column both fill, or one's share of the other ("99.9% of B's"), as rounded (approximately
    when ``hedged``; the tables' gap arithmetic);
    None when they share no such column. Any column: a claim may name another column for
    another of its parts ("1.2 points ahead of BitFit, while training only 2.8M parameters")."""
    shared = [
        (a, b)
        for column, _ in first.cells
        if (a := first.value_of(column)) is not None and (b := second.value_of(column)) is not None and a != b
    ]
    if not shared:
        return None
    target = float(number)
    tolerance = rounding_tolerance(number, target, approximate=hedged)
    return any(
        _is_gap(number, a, b, approximate=hedged)
        or any(abs(x / y * 100 - target) <= tolerance for x, y in ((a, b), (b, a)) if y)  # "99.9% of B's"
        for a, b in shared
    )
