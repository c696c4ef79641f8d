"""Figures in prose: what each figure is a figure *of*, and a claim's figures checked
against the context's figures of the same thing.

A figure in running text sits in a frame: the words around it up to the neighbouring
figures ("SAT reaches a GLUE dev average of **91.9** against 92.0 …"), its unit ("45 KB",
"14-fold", "41%"), a direction word right next to it ("14-fold *lower*") and the names of
its sentence. A table cell's frame is its row's name and its column's name. A claim's
figure whose frame matches a context figure's frame (shared words and names, compatible
units) is a figure of the same thing; when the values differ and the claim's figure is
neither the context's figure rounded nor worked out from the figures at hand (a gap, a
ratio, a relative change of the aligned figures, the claim's own figures or the closest
passages'), the claim states a wrong figure. When the values agree but the direction
words next to them are opposite ("14-fold higher" for "14-fold lower"), the claim
reverses what the figure says.

Pure functions over text and :class:`judging.text.TableRow`; the offline judge calls them
per claim (``offline_judge._Analysis``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from judging.text import (
    QUALITY_DOWN,
    QUALITY_UP,
    QUANTITY_DOWN,
    QUANTITY_UP,
    STOPWORDS,
    TableRow,
    extract_entities,
    extract_numbers,
    normalise_number,
    number_is_derived,
    rounding_tolerance,
    stem,
)

# Units as an answer and a context may write them, in one form each. Two figures with
# different units of this list are not figures of the same thing ("14.2 GB", "14.2 MB").
_UNIT_FORMS: dict[str, str] = {
    "%": "%",
    "percent": "%",
    "pct": "%",
    "x": "x",
    "×": "x",
    "times": "x",
    "fold": "x",
    "pp": "pt",
    "point": "pt",
    "points": "pt",
    "pts": "pt",
    "ms": "ms",
    "millisecond": "ms",
    "milliseconds": "ms",
    "us": "us",
    "µs": "us",
    "μs": "us",
    "microsecond": "us",
    "microseconds": "us",
    "ns": "ns",
    "s": "s",
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "min": "min",
    "minute": "min",
    "minutes": "min",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "day": "d",
    "days": "d",
    "kb": "kb",
    "mb": "mb",
    "gb": "gb",
    "tb": "tb",
    "gbps": "gbps",
    "mbps": "mbps",
    "kops": "kops",
    "m": "m",
    "million": "m",
    "b": "b",
    "billion": "b",
    "k": "k",
    "thousand": "k",
    "usd": "usd",
    "$": "usd",
    "dollars": "usd",
    "steps": "steps",
    "step": "steps",
    "epochs": "epochs",
    "epoch": "epochs",
    "layers": "layers",
    "wh": "wh",
    "kwh": "kwh",
    "ah": "ah",
    "bp": "bp",
    "c": "c",
}

# Words of a frame that say which way the figure goes ("14-fold lower", "rose 3%"): the
# judge's direction words, quantity and quality alike.
_UP = QUANTITY_UP + QUALITY_UP
_DOWN = QUANTITY_DOWN + QUALITY_DOWN

_TOKEN_RE = re.compile(
    r"(?P<cur>[$£€])?(?P<num>(?<![\w.\-@/])(?:\d+(?:\.\d+)?[eE][-+]?\d+|(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?))"
    r"(?P<glued>%|×|[a-zA-Zµμ]{1,4}\b)?"
    r"|(?P<word>[A-Za-zµμ][A-Za-z0-9µμ]*(?:['-][A-Za-z0-9]+)*)|(?P<sym>[%×])|(?P<stop>[;:.!?()])"
)

_LEAD_RE = re.compile(r"^\s*([^.:;!?0-9]{1,60}):\s")
NEAR_WORDS_BEFORE = 6  # content words before a figure that frame it
NEAR_WORDS_AFTER = 4  # ... and after it
MATCH_SHARED = 2  # frame words and names two figures share to be figures of one thing
MATCH_NEAR = 2  # ... at least this many of them words right next to the figure
MISPLACED_MARGIN = (
    2  # a figure the context gives something else is that thing's when its frame shares this many fewer words
)


@dataclass(frozen=True)
class Mention:
    """One figure and its frame."""

    number: str  # normal form ("10000", "2.8")
    value: float
    unit: str  # normal form, "" when none
    near: frozenset[str]  # stems of the content words next to it (up to the neighbouring figures)
    before: frozenset[str]  # of those, the ones before it (what names a figure usually precedes it)
    names: frozenset[str]  # stems of the names of its sentence (a table cell: its row's name)
    direction: int  # +1 / -1: an up or down word next to it; 0: none
    source: str  # the sentence or row it is in


def _direction_word(word: str) -> int:
    word = word.casefold()
    if any(word.startswith(w) if len(w) > 3 else word == w for w in _UP):
        return 1
    if any(word.startswith(w) if len(w) > 3 else word == w for w in _DOWN):
        return -1
    return 0


def _unit(raw: str) -> str:
    return _UNIT_FORMS.get(raw.casefold(), "")


def _parts(words: Sequence[str]) -> list[str]:
    """Words split at hyphens, a possessive left out ("Ripple's" → ripple; "fine-tuning" → fine, tuning)."""
    return [p for w in words for p in re.sub(r"'s$", "", w.casefold()).split("-") if p]


def _stems(words: Sequence[str]) -> frozenset[str]:
    return frozenset(stem(w) for w in _parts(words) if w not in _UNIT_FORMS)


def _content(word: str) -> bool:
    lowered = word.casefold()
    return (
        len(lowered) > 2 and lowered not in STOPWORDS and _direction_word(lowered) == 0 and lowered not in _UNIT_FORMS
    )


@lru_cache(maxsize=16384)
def prose_mentions(sentence: str) -> tuple[Mention, ...]:
    """The figures of one sentence (or claim) with their frames."""
    tokens = [m for m in _TOKEN_RE.finditer(sentence)]
    names = _stems([w for e in extract_entities(sentence) for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", e)])
    # A lead label ("Mask warmup: learning rate 1e-4; …", an answer's table row or list item)
    # is what every figure after it is about.
    lead = _LEAD_RE.match(sentence)
    subject = (
        _stems([w for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", lead.group(1)) if _content(w)]) if lead else frozenset()
    )
    numbers = [i for i, t in enumerate(tokens) if t.group("num")]
    found: list[Mention] = []
    for k, i in enumerate(numbers):
        token = tokens[i]
        raw = token.group("num")
        # Scientific notation ("3e-4") keeps its form: it is compared by value.
        number = raw.casefold() if "e" in raw.casefold() else normalise_number(raw)
        unit = "usd" if token.group("cur") == "$" else _unit(token.group("glued") or "")
        after = i + 1
        # A unit written apart ("45 KB", "14-fold", "3 points").
        if not unit and after < len(tokens):
            following = tokens[after].group("word") or tokens[after].group("sym") or ""
            unit = _unit(following.split("-")[0] if following.startswith("-") else following)
            if unit:
                after += 1
        if not unit and token.group("glued") is None and sentence[token.end() : token.end() + 6].startswith("-fold"):
            unit = "x"
        start = numbers[k - 1] + 1 if k else 0
        end = numbers[k + 1] if k + 1 < len(numbers) else len(tokens)
        before_words = _window(tokens, start, i, reverse=True, limit=NEAR_WORDS_BEFORE)
        after_words = _window(tokens, after, end, reverse=False, limit=NEAR_WORDS_AFTER)
        direction = 0
        # A direction word right next to the figure: two words before it or after its unit.
        for j in [*range(max(start, i - 2), i), *range(after, min(end, after + 2))]:
            word = tokens[j].group("word")
            if word and (d := _direction_word(word)):
                direction = d
                break
        if (token.group("glued") or "").casefold() in ("st", "nd", "rd", "th"):
            continue  # an ordinal ("99th percentile") names a position, not a quantity
        try:
            value = float(number)
        except ValueError:
            continue
        if not unit and "." not in number and 1900 <= value <= 2100:
            continue  # a year
        found.append(
            Mention(
                number=number,
                value=value,
                unit=unit,
                near=_stems([w for w in _parts(before_words + after_words) if _content(w)]) | subject,
                before=_stems([w for w in _parts(before_words) if _content(w)]) | subject,
                names=names,
                direction=direction,
                source=sentence,
            )
        )
    return tuple(found)


def _window(tokens: list[re.Match[str]], start: int, end: int, *, reverse: bool, limit: int) -> list[str]:
    """Words between ``start`` and ``end`` (token indices), from the figure outwards, up to a
    clause mark or ``limit`` content words."""
    indices = range(end - 1, start - 1, -1) if reverse else range(start, end)
    words: list[str] = []
    for j in indices:
        token = tokens[j]
        if token.group("stop") and token.group("stop") in ";.!?":
            break
        word = token.group("word")
        if word:
            words.append(word)
            if sum(_content(w) for w in words) >= limit:
                break
    return words


def row_mentions(row: TableRow) -> tuple[Mention, ...]:
    """A table row's figures: each cell framed by its column's words and the row's name."""
    label_words = re.findall(r"[A-Za-z][A-Za-z0-9]*", row.label)
    names = _stems(label_words)
    found = []
    for column, value in row.cells:
        match = re.search(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?", value)
        if match is None or len(value.strip()) > len(match.group(0)) + 3:
            continue
        number = normalise_number(match.group(0).lstrip("+"))
        unit_match = re.search(r"\(([^)]*)\)", column)
        unit = _unit(unit_match.group(1).split("/")[0].strip()) if unit_match else ""
        words = re.findall(r"[A-Za-z][A-Za-z0-9]*", re.sub(r"\([^)]*\)", " ", column))
        try:
            numeric = float(number)
        except ValueError:
            continue
        found.append(
            Mention(
                number=number,
                value=numeric,
                unit=unit,
                near=_stems([w for w in _parts(words + label_words) if _content(w)]),
                before=_stems([w for w in _parts(words + label_words) if _content(w)]),
                names=names,
                direction=0,
                source=row.text,
            )
        )
    return tuple(found)


# Units of a gap or a ratio ("1.3 points below", "4× smaller"): such a figure is compared
# only with figures stated the same way, never with the absolute figures it is worked out from.
_RELATIVE_UNITS = frozenset(["pt", "x"])


def _units_agree(a: str, b: str) -> bool:
    if a in _RELATIVE_UNITS or b in _RELATIVE_UNITS:
        return a == b
    return not a or not b or a == b


def _frames_match(claim: Mention, other: Mention) -> tuple[bool, int]:
    """Whether two figures are of the same thing (compatible units; at least ``MATCH_SHARED``
    frame words and names shared, ``MATCH_NEAR`` of them next to the figures, or one more
    shared with fewer next to them), and how many they share."""
    if not _units_agree(claim.unit, other.unit):
        return False, 0
    shared, near = _shared(claim, other)
    return (near >= MATCH_NEAR and shared >= MATCH_SHARED) or (near >= 1 and shared >= MATCH_SHARED + 1), shared


def _shared(claim: Mention, other: Mention) -> tuple[int, int]:
    """(frame words and names the two share, of which words next to the figures)."""
    return len((claim.near | claim.names) & (other.near | other.names)), len(claim.near & other.near)


def related(claim: Mention, context: Sequence[Mention]) -> list[Mention]:
    """The context's figures whose frames match ``claim``'s (see :func:`_frames_match`)."""
    return [other for other in context if _frames_match(claim, other)[0]]


def aligned(claim: Mention, context: Sequence[Mention]) -> list[Mention]:
    """The context's figures of the same thing as ``claim``: of those whose frames match, the
    ones that share the most (the one whose preceding words it shares most first)."""
    best, chosen = 0, []
    for other in context:
        match, shared = _frames_match(claim, other)
        if not match:
            continue
        if shared > best:
            best, chosen = shared, [other]
        elif shared == best:
            chosen.append(other)
    # Among equals, the one whose preceding words the claim's figure shares most first.
    return sorted(chosen, key=lambda other: -len(claim.before & other.before))


def _restates(number: str, value: float, hedged: bool, *, scaled: bool = True) -> bool:
    """``number`` is ``value`` as written, rounded, or (hedged) approximately; ``scaled``:
    or ``value`` as a percentage ("41" for 0.41)."""
    try:
        target = float(number)
    except ValueError:
        return False
    if "e" in number:
        return math.isclose(target, value, rel_tol=1e-6)  # "3e-4": a setting, stated exactly
    tolerance = rounding_tolerance(number, target, approximate=hedged)
    return abs(target - value) <= tolerance or (scaled and abs(target - value * 100) <= tolerance)


# Units of one kind and their size in the kind's smallest unit: a figure in one of them is
# the same quantity as a figure in another ("1.4 GB" and "1,420 MB", "24 minutes" and 0.4 h).
_UNIT_SCALES: tuple[dict[str, float], ...] = (
    {"kb": 1.0, "mb": 1e3, "gb": 1e6, "tb": 1e9},
    {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9, "min": 60e9, "h": 3600e9, "d": 86400e9},
    {"k": 1.0, "m": 1e3, "b": 1e6},
    {"mbps": 1.0, "gbps": 1e3},
    {"wh": 1.0, "kwh": 1e3},
)


def _factor(source: str, target: str) -> float | None:
    """How many ``target`` units one ``source`` unit is (None: not units of one kind)."""
    for scales in _UNIT_SCALES:
        if source in scales and target in scales:
            return scales[source] / scales[target]
    return None


def _same_value(claim: Mention, other: Mention) -> bool:
    """The two figures have one value as written or rounded; a fraction ("0.41") is a
    percentage's value ("41%") only when the claim's figure is a percentage and the other
    has no unit."""
    if _restates(claim.number, other.value, False, scaled=False):
        return True
    return claim.unit == "%" and not other.unit and _restates(claim.number, other.value, False)


def _converted(claim: Mention, context: Sequence[Mention], hedged: bool) -> bool:
    """A context figure in another unit of the same kind restates the claim's figure."""
    return any(
        other.unit
        and other.unit != claim.unit
        and (factor := _factor(other.unit, claim.unit)) is not None
        and _restates(claim.number, other.value * factor, hedged, scaled=False)
        for other in context
    )


def _in_other_units(claim: Mention) -> list[str]:
    """The claim's figure written in the other units of its kind ("24" min → "0.4" h)."""
    forms = []
    for scales in _UNIT_SCALES:
        if claim.unit in scales:
            for unit in scales:
                if unit != claim.unit:
                    forms.append(format(claim.value * scales[claim.unit] / scales[unit], ".6g"))
    return [f for f in forms if "e" not in f]


@dataclass(frozen=True)
class FigureConflict:
    stated: Mention  # the claim's figure
    expected: Mention  # the context's figure of the same thing
    reversed: bool = False  # same figure, opposite direction word ("14-fold higher" / "lower")

    def describe(self) -> str:
        said, given = _with_unit(self.stated), _with_unit(self.expected)
        if self.reversed:
            return f'states {said} in the opposite direction of the context: "{_short(self.expected.source)}"'
        return f'states {said} where the context gives {given}: "{_short(self.expected.source)}"'


def _with_unit(mention: Mention) -> str:
    if not mention.unit:
        return mention.number
    return f"{mention.number}%" if mention.unit == "%" else f"{mention.number} {mention.unit}"


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def figure_conflicts(
    claim: str,
    context: Sequence[Mention],
    *,
    context_numbers: set[str],
    pool: Sequence[str],
    hedged: set[str],
    asked: set[str] = frozenset(),
) -> tuple[list[FigureConflict], int]:
    """The claim's figures that differ from the context's figure of the same thing (see the
    module's docstring), and how many of its figures an aligned context figure confirms.

    A figure the context states of something else counts as differing only when the claim's
    frame matches the other figure's clearly better (``MISPLACED_MARGIN`` more shared words),
    or when the context gives that value only in another unit ("14.2 MB" for "14.2 GB").

    ``context_numbers``: every figure the context and question state; ``pool``: further
    figures a derived figure may be worked out from (those of the rows the claim names);
    ``hedged``: the claim's figures stated as approximate; ``asked``: the question's figures."""
    conflicts: list[FigureConflict] = []
    confirmed = 0
    mentions = prose_mentions(claim)
    own = [m.number for m in mentions]
    for mention in mentions:
        if re.fullmatch(r"\d", mention.number) or mention.number in asked:
            continue  # a single digit says little; a figure of the question restates it
        approximate = mention.number in hedged
        holding = [m for m in context if _same_value(mention, m)]
        if (
            mention.unit
            and holding
            and all(m.unit and m.unit != mention.unit and _factor(m.unit, mention.unit) for m in holding)
        ):
            if _converted(mention, context, approximate):
                confirmed += 1  # the context's figure in another unit of the same kind: "1.4 GB" for "1,420 MB"
                continue
            # The context's figure with another unit: "14.2 MB" where it says "14.2 GB".
            conflicts.append(FigureConflict(mention, holding[0]))
            continue
        matches = aligned(mention, context)
        if not matches:
            continue
        same = [m for m in matches if _restates(mention.number, m.value, approximate)]
        if same:
            confirmed += 1
            flipped = [m for m in same if m.direction and mention.direction and m.direction != mention.direction]
            if flipped and len(flipped) == len(same):
                conflicts.append(FigureConflict(mention, flipped[0], reversed=True))
            continue
        if all(m.number in own for m in matches):
            continue  # the claim states the aligned figure too: this one is about something beside it
        # Worked out from the figures at hand: the claim's own, those of the sentences and rows
        # its figure's frame matches, and ``pool`` (the rows the claim names).
        sources = [*own, *pool, *(n for m in related(mention, context) for n in _numbers_of(m.source))]
        if "e" not in mention.number and any(
            number_is_derived(form, [n for n in sources if n != mention.number], approximate=approximate)
            for form in [mention.number, *_in_other_units(mention)]
        ):
            continue  # worked out from the figures at hand, maybe in another unit ("24 minutes" for 0.4 h)
        if _converted(mention, context, approximate):
            continue  # a context figure in another unit of its kind ("1.4 GB" for "1,420 MB")
        if mention.number in context_numbers or holding:
            # The context states the figure, of something else: the claim gives it to the
            # wrong thing only if it is the claim's one figure (with two, "88% versus 61% for
            # LFP", the frames overlap) and its frame matches another figure's clearly better.
            if len([n for n in own if not re.fullmatch(r"\d", n)]) > 1:
                continue
            best = _shared(mention, matches[0])[0]
            elsewhere = max((_shared(mention, m)[0] for m in holding if _units_agree(mention.unit, m.unit)), default=0)
            if best < elsewhere + MISPLACED_MARGIN:
                continue
        conflicts.append(FigureConflict(mention, matches[0]))
    return conflicts, confirmed


@lru_cache(maxsize=16384)
def _numbers_of(source: str) -> tuple[str, ...]:
    return tuple(m.number for m in prose_mentions(source)) if "=" not in source else tuple(extract_numbers(source))
