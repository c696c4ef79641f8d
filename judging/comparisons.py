"""Comparisons a claim makes between table rows, checked against the rows' own figures.

"A outperforms B", "A is faster than B", "A has lower latency than B" and "A is the best /
the lowest / the most …" state which way two rows' figures go or which row is extreme.
The context's table gives the figures, so the claim can be checked: on the column the
claim names (or states a figure in, or the question asks about), does A's figure lie on
the side the comparison says? Which side is "better" depends on the metric: lower is
better for errors, losses, latencies, times, costs and sizes, higher otherwise.

Pure functions over :class:`judging.text.TableRow` and lower-cased claim text (see
``offline_judge._name_text``); the offline judge calls them per claim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from judging.text import TableRow, content_words, stem

# Metrics where a smaller figure is the better one: errors and losses, time, money, space.
# General measurement vocabulary, not any one field's.
_LOWER_IS_BETTER_WORDS = frozenset(
    [
        "error",
        "errors",
        "loss",
        "perplexity",
        "latency",
        "delay",
        "time",
        "duration",
        "cost",
        "price",
        "memory",
        "size",
        "overhead",
        "amplification",
        "amp",
        "rmse",
        "mae",
        "mse",
        "wer",
        "cer",
        "p50",
        "p90",
        "p95",
        "p99",
        "drop",
        "drops",
        "jitter",
        "footprint",
        "failures",
        "failure",
        "violations",
    ]
)
# Units of time, money and storage: a column measured in them is lower-is-better unless its
# name says it is a rate (throughput, bandwidth, speed) or a density.
_LOWER_IS_BETTER_UNITS = frozenset(["ms", "us", "µs", "ns", "s", "sec", "h", "min", "usd", "$", "kb", "mb", "gb", "tb"])
_RATE_WORDS = frozenset(["throughput", "bandwidth", "speed", "density", "rate", "per", "capacity", "accuracy"])


def lower_is_better(column: str) -> bool:
    """Whether a smaller figure in ``column`` is the better one ("Read p99 (ms)", "Cost (USD/kWh)")."""
    lowered = column.casefold()
    words = set(re.findall(r"[a-z0-9]+", re.sub(r"\([^)]*\)", " ", lowered)))
    if words & _RATE_WORDS and not words & {"error", "loss", "drop"}:
        return False
    if words & _LOWER_IS_BETTER_WORDS:
        return True
    units = re.findall(r"\(([^)]*)\)", lowered)
    return any(part.strip() in _LOWER_IS_BETTER_UNITS for unit in units for part in unit.split("/")[:1])


# Which extreme a superlative names: "max", "min", "best" or "worst"; others (most adjectives
# in -est: "cheapest", "easiest") name one extreme or the other, not which.
_EXTREME_OF: dict[str, str] = {
    "highest": "max",
    "largest": "max",
    "biggest": "max",
    "greatest": "max",
    "maximum": "max",
    "lowest": "min",
    "smallest": "min",
    "fewest": "min",
    "minimum": "min",
    "best": "best",
    "top": "best",
    "tops": "best",
    "topped": "best",
    "leading": "best",
    "leads": "best",
    "lead": "best",
    "winner": "best",
    "wins": "best",
    "won": "best",
    "strongest": "best",
    "worst": "worst",
    "weakest": "worst",
    "cheapest": "min",
    "fastest": "best",
    "slowest": "worst",
}


def extreme_named(word: str, column: str) -> str | None:
    """ "max" or "min": the end of ``column`` a superlative ``word`` puts its row at (None: either)."""
    extreme = _EXTREME_OF.get(word)
    if extreme in ("best", "worst"):
        better = "min" if lower_is_better(column) else "max"
        return better if extreme == "best" else ("max" if better == "min" else "min")
    return extreme


def at_extreme(row: TableRow, peers: Sequence[TableRow], column: str, extreme: str | None, labels: set[str]) -> bool:
    """``row`` (or a row labelled one of ``labels``) holds the ``extreme`` of ``column`` among
    ``peers`` (either extreme when None)."""
    values = [(v, r) for r in peers if (v := r.value_of(column)) is not None]
    if not values:
        return True
    top, bottom = max(v for v, _ in values), min(v for v, _ in values)
    wanted = {"max": (top,), "min": (bottom,)}.get(extreme or "", (top, bottom))
    return any(v in wanted for v, r in values if r.label in labels or r is row)


# --- bounds: "under 10M parameters", "fewer than 10M", "at least 90" ---------------------

_BOUND_RE = re.compile(
    r"\b(?:(?P<below>fewer than|less than|under|below|at most|up to|no more than|smaller than|lower than|within)|"
    r"(?P<above>more than|over|above|at least|greater than|larger than|higher than|exceeding))\s+"
    r"\$?(?P<n>\d[\d,]*(?:\.\d+)?)"
)


def bounds(text: str) -> list[tuple[str, float]]:
    """("below" | "above", figure) for each bound the text sets."""
    return [
        ("below" if m.group("below") else "above", float(m.group("n").replace(",", "")))
        for m in _BOUND_RE.finditer(text.casefold())
    ]


def leads_within_bounds(
    row: TableRow, peers: Sequence[TableRow], column: str, extreme: str | None, limits: list[tuple[str, float]]
) -> bool:
    """``row`` holds the extreme of ``column`` among the rows that a bound of the question or
    claim lets through on another column ("the best system under 10M parameters")."""
    for side, limit in limits:
        for other, _ in row.cells:
            if other == column:
                continue
            kept = [
                r
                for r in peers
                if (v := r.value_of(other)) is not None and (v < limit if side == "below" else v > limit)
            ]
            if row in kept and len(kept) >= 2 and at_extreme(row, kept, column, extreme, {row.label}):
                return True
    return False


# --- fields the question narrows to: "the highest X among Y", "the best Y method" ------


def fields_asked(asked: str, peers: Sequence[TableRow]) -> list[list[TableRow]]:
    """The sets of a table's rows that the question narrows a superlative to: for each word
    of the question that some rows hold in their name or cells and others do not ("the best
    *adapter* method", "the lowest latency among *leveled* engines"), the rows that hold it.
    Column names narrow nothing, nor a word every row holds; a field has at least three
    rows, so that leading it means something."""
    words = {stem(w) for w in content_words(asked)}
    header = {stem(w) for row in peers for column, _ in row.cells for w in content_words(column)}
    held = [
        {stem(w) for w in content_words(" ".join([row.label, *(value for _, value in row.cells)]))} for row in peers
    ]
    fields: list[list[TableRow]] = []
    for word in sorted(words - header):
        field = [row for row, stems in zip(peers, held, strict=True) if word in stems]
        if 3 <= len(field) < len(peers) and field not in fields:
            fields.append(field)
    return fields


def leads_within_field(
    row: TableRow, peers: Sequence[TableRow], column: str, extreme: str | None, asked: str, labels: set[str]
) -> bool:
    """``row`` holds the extreme of ``column`` within a field the question narrows to."""
    return any(
        any(r is row or r.label in labels for r in field) and at_extreme(row, field, column, extreme, labels)
        for field in fields_asked(asked, peers)
    )


# --- comparatives between two rows -----------------------------------------------------

# The way a comparative puts its first row: +1 above the second, -1 below, on the figure
# itself ("higher") or on the metric's goodness ("better", "outperforms").
_QUANTITY_MORE = ("higher", "larger", "greater", "bigger", "more", "exceeds", "exceed", "exceeding", "above")
_QUANTITY_LESS = ("lower", "smaller", "less", "fewer", "below")
_QUALITY_MORE = ("better", "outperforms", "outperform", "beats", "beat", "surpasses", "ahead", "faster", "stronger")
_QUALITY_LESS = ("worse", "underperforms", "trails", "trail", "lags", "behind", "slower", "weaker")
_COMPARATIVE_RE = re.compile(
    r"\b(?P<word>"
    + "|".join(sorted(_QUANTITY_MORE + _QUANTITY_LESS + _QUALITY_MORE + _QUALITY_LESS, key=len, reverse=True))
    + r")\b"
)


def comparatives(lowered: str) -> list[tuple[int, int, int, bool]]:
    """(start, end, sign, on quality) of each comparative word in the lower-cased text;
    "more than 2" and "less than half" are amounts, not comparisons."""
    found = []
    for match in _COMPARATIVE_RE.finditer(lowered):
        word = match.group("word")
        if word in ("more", "less", "fewer", "above", "below") and re.match(
            r"\s+than\s+[0-9a-z]*\s*(?:[0-9]|half|a |an |twice)", lowered[match.end() :]
        ):
            continue
        sign = 1 if word in _QUANTITY_MORE or word in _QUALITY_MORE else -1
        found.append((match.start(), match.end(), sign, word in _QUALITY_MORE or word in _QUALITY_LESS))
    return found


def comparison_holds(first: TableRow, second: TableRow, column: str, sign: int, on_quality: bool) -> bool | None:
    """Whether ``first`` lies on the ``sign`` side of ``second`` in ``column`` (None: a figure missing)."""
    a, b = first.value_of(column), second.value_of(column)
    if a is None or b is None or a == b:
        return None
    if on_quality and lower_is_better(column):
        sign = -sign
    return (a - b) * sign > 0


def columns_named(text: str, row: TableRow) -> list[str]:
    """The row's numeric columns whose every word (by its first five letters) the text uses."""
    stems = {w[:5] for w in content_words(text)}
    named = []
    for column, _ in row.cells:
        words = content_words(re.sub(r"\([^)]*\)", " ", column)) or content_words(column)
        if words and {w[:5] for w in words} <= stems and row.value_of(column) is not None:
            named.append(column)
    return named


def columns_headed(text: str, row: TableRow) -> list[str]:
    """The row's numeric columns whose head word (the last word of its name, by its first five
    letters) the text uses: "write throughput" for "Write throughput (kops/s)"."""
    stems = {w[:5] for w in content_words(text)}
    headed = []
    for column, _ in row.cells:
        words = content_words(re.sub(r"\([^)]*\)", " ", column)) or content_words(column)
        if words and words[-1][:5] in stems and row.value_of(column) is not None:
            headed.append(column)
    return headed


# --- comparatives between two columns: "A's growth is higher than B's" ------------------


def _stems5(text: str) -> set[str]:
    return {w[:5] for w in content_words(re.sub(r"[-_/]", " ", text))}


def _header(column: str) -> list[str]:
    column = re.sub(r"[-_/]", " ", column)
    return content_words(re.sub(r"\([^)]*\)", " ", column)) or content_words(column)


def column_pair_conflict(
    subject: str, other: str, rows: Sequence[TableRow], sign: int, on_quality: bool, word: str
) -> str | None:
    """A comparison between two things a table keeps in two columns of one metric ("PGO text
    growth (%)", "Tidewater text growth (%)"): ``subject`` (the words before the comparative)
    names one column's own words, ``other`` (the words after "than") the other's, and
    either names the metric they share. When no row of the table has the subject's figure on
    the side the comparison says (on any pair of columns the words may mean), the claim is
    contradicted; the reason cites a row's figures."""
    if not rows:
        return None
    before, after = _stems5(subject), _stems5(other)
    words = before | after  # the metric is named in the comparison's own clause
    columns = [c for c, _ in rows[0].cells if _header(c)]
    found: str | None = None
    for first in columns:
        for second in columns:
            if first == second:
                continue
            a, b = {w[:5] for w in _header(first)}, {w[:5] for w in _header(second)}
            own_a, own_b, metric = a - b, b - a, a & b
            if not own_a or not own_b or not metric or len(metric & words) * 2 < len(metric):
                continue
            if not own_a <= before or not own_b <= after or own_b & before or own_a & after:
                continue
            decided = [
                (r, x, y)
                for r in rows
                if (x := r.value_of(first)) is not None and (y := r.value_of(second)) is not None
            ]
            decided = [(r, x, y) for r, x, y in decided if x != y]
            flip = -1 if on_quality and lower_is_better(first) else 1
            if not decided:
                continue
            if any((x - y) * sign * flip > 0 for _, x, y in decided):
                return None  # a pair of columns the words may mean bears the comparison out
            row, x, y = decided[-1]
            found = found or (
                f'says the {first} is "{word}" than the {second}, but the context gives {x:g} against {y:g}'
                f"{' in every row' if len(decided) > 1 else ''} ({row.label}: {first} {x:g}, {second} {y:g})"
            )
    return found
