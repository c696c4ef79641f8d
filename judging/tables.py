"""How a claim refers to a context table: row names written another way, the column a
figure is stated under, gaps worked out between rows, and superlatives said of a row.

Pure functions over :class:`judging.text.TableRow` and lower-cased claim text (see
``offline_judge._name_text``); the offline judge reads them in its row checks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from wordfreq import zipf_frequency

from judging.text import STOPWORDS, TableRow, content_words, parse_number, rounding_tolerance

# Small words an answer may put between the words of a row's name ("Fenwick with uniform
# filters" for the row "Fenwick, uniform filters"; "RocksDB with leveled compaction").
_NAME_JOINERS = r"(?:(?:with|and|the|of|using|on|in|a|an|at)\s+)*"


def row_name_pattern(name: str) -> str:
    """A regex for a row's lower-case name whose words may be joined by small words."""
    words = name.split()
    return r"(?<![a-z0-9])" + (r"\s+" + _NAME_JOINERS).join(re.escape(w) for w in words) + r"(?![a-z0-9])"


def shared_cores(rows: Sequence[TableRow]) -> dict[str, list[TableRow]]:
    """Names without their parenthetical that belong to rows of different labels
    ("rocksdb" for "RocksDB (leveled)" and "RocksDB (universal)"), with those rows: such a
    name refers to any of them."""
    owners: dict[str, list[TableRow]] = {}
    for row in rows:
        core = re.sub(r"[^a-z0-9]+", " ", re.sub(r"\([^)]*\)", " ", row.label).casefold()).strip()
        owners.setdefault(core, []).append(row)
    return {core: group for core, group in owners.items() if len({r.label for r in group}) > 1}


# --- columns ---------------------------------------------------------------------------


def _header_words(column: str) -> list[str]:
    """A column's name as words, units in parentheses left out ("Train memory (GB)" →
    train, memory)."""
    return content_words(re.sub(r"\([^)]*\)", " ", column)) or content_words(column)


@lru_cache(maxsize=4096)
def _header_regex(column: str) -> re.Pattern[str] | None:
    words = _header_words(column)
    if not words:
        return None
    # Inflections match ("Training memory" for "Train memory"): each word by its first letters.
    parts = [re.escape(w[:5]) + r"[a-z0-9]*" if len(w) > 4 else re.escape(w) for w in words]
    return re.compile(r"(?<![a-z0-9])" + r"\s+".join(parts) + r"(?![a-z0-9])")


def column_before(lowered: str, position: int, row: TableRow, *, floor: int = 0, reach: int = 30) -> str | None:
    """The column of ``row`` named just before ``position`` in the claim ("Unemployment rate
    0.6%"), at most two words before it, with no figure or clause break between. A column
    named right after a figure is that figure's unit ("4.7M trainable parameters reaches
    91.7"), not the next figure's name; ``floor`` is where the row's name ends ("2024:
    Unemployment rate 0.6%": the year is the name, not a figure)."""
    best: tuple[int, str] | None = None
    for column, _ in row.cells:
        regex = _header_regex(column)
        if regex is None:
            continue
        for match in regex.finditer(lowered, max(0, position - reach - 40), position):
            gap = lowered[match.end() : position]
            if len(gap) > reach or re.search(r"[0-9;]", gap) or len(gap.split()) > 2:
                continue
            if re.search(r"[0-9][0-9.,%]*\s*[a-z]{0,2}\s*$", lowered[max(floor, match.start() - 12) : match.start()]):
                continue
            if best is None or match.end() > best[0]:
                best = (match.end(), column)
    return best[1] if best else None


def columns_asked(text: str, row: TableRow) -> list[str]:
    """The row's columns whose every word (by stem) occurs in ``text``."""
    stems = {w[:5] for w in content_words(text)}
    return [column for column, _ in row.cells if (words := _header_words(column)) and {w[:5] for w in words} <= stems]


def column_of(row: TableRow, number: str) -> str | None:
    for column, value in row.cells:
        if parse_number(value) is not None and _same(parse_number(value), number):
            return column
    return None


def _same(value: float | None, number: str) -> bool:
    try:
        return value is not None and abs(value - float(number)) < 1e-9
    except ValueError:
        return False


# --- gaps between rows -----------------------------------------------------------------


def row_gap(number: str, row: TableRow, peers: Sequence[TableRow], *, approximate: bool = False) -> bool:
    """``number`` is the gap (difference, ratio or relative change) between ``row`` and
    another row of its table in one column: "beats LoRA by 0.2", "14 kops/s (7%) behind"."""
    for column, value in row.cells:
        mine = parse_number(value)
        if mine is None:
            continue
        for other in peers:
            if other is row or other.label == row.label:
                continue
            theirs = other.value_of(column)
            if theirs is None or theirs == mine:
                continue
            if _is_gap(number, mine, theirs, approximate=approximate):
                return True
    return False


def _is_gap(number: str, a: float, b: float, *, approximate: bool) -> bool:
    """``number`` is a − b, a / b or the relative change between a and b, as rounded."""
    try:
        target = float(number)
    except ValueError:
        return False
    tolerance = rounding_tolerance(number, target, approximate=approximate)
    candidates = [abs(a - b)]
    for x, y in ((a, b), (b, a)):
        if y:
            candidates += [x / y, abs(x - y) / abs(y) * 100]
    return any(abs(c - target) <= tolerance for c in candidates)


# --- superlatives ----------------------------------------------------------------------

_SUPERLATIVE_WORDS = frozenset(
    [
        "best",
        "worst",
        "top",
        "leading",
        "leads",
        "lead",
        "tops",
        "topped",
        "winner",
        "wins",
        "won",
        "highest",
        "lowest",
        "most",
        "least",
        "fewest",
        "outperforms",
        "outperform",
        "beats",
    ]
)
# Words ending in -est that are not superlatives.
_NOT_SUPERLATIVE = frozenset(
    [
        "interest",
        "forest",
        "honest",
        "modest",
        "request",
        "suggest",
        "protest",
        "contest",
        "harvest",
        "invest",
        "digest",
        "arrest",
        "manifest",
        "conquest",
        "guest",
        "nest",
        "rest",
        "west",
        "chest",
        "quest",
        "test",
        "latest",
        "earnest",
        "pest",
        "vest",
        "attest",
    ]
)


@lru_cache(maxsize=8192)
def is_superlative(word: str) -> bool:
    """A superlative or a word that crowns one row ("cheapest", "fastest", "tops", "winner")."""
    if word in _SUPERLATIVE_WORDS:
        return True
    if len(word) < 6 or not word.endswith("est") or word in _NOT_SUPERLATIVE:
        return False
    stem = word[:-3]
    bases = {stem, stem + "e"}
    if stem.endswith("i"):
        bases.add(stem[:-1] + "y")  # easiest, earliest
    if len(stem) >= 3 and stem[-1] == stem[-2]:
        bases.add(stem[:-1])  # biggest, hottest
    return max(zipf_frequency(b, "en") for b in bases) >= 3.0


_WORD_SPAN_RE = re.compile(r"[a-z]+")


def superlatives(lowered: str) -> list[tuple[int, int, str]]:
    """(start, end, word) of each superlative in the lower-cased text ("most" and "least"
    only before an adjective: "most efficient", not "most of")."""
    found = []
    for match in _WORD_SPAN_RE.finditer(lowered):
        word = match.group(0)
        if not is_superlative(word):
            continue
        if word in ("most", "least"):
            following = _WORD_SPAN_RE.match(lowered, match.end() + 1)
            if following is None or following.group(0) in STOPWORDS:
                continue
        found.append((match.start(), match.end(), word))
    return found


def leads_on(row: TableRow, peers: Sequence[TableRow], columns: Sequence[str], *, labels: set[str]) -> bool:
    """``row`` is the largest or the smallest of its table in one of ``columns`` (rows whose
    label is one of ``labels`` count as it)."""
    for column in columns:
        values = [(v, r) for r in peers if (v := r.value_of(column)) is not None]
        if len(values) < 3:
            continue
        extremes = (max(v for v, _ in values), min(v for v, _ in values))
        if any(v in extremes for v, r in values if r.label in labels):
            return True
    return False
