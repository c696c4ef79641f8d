"""What a rationale must say to agree with its rating: no flaw named at the top level, a flaw
named below it, and, for Faithfulness below the top, the claim at fault with its evidence
(the closest context sentence, the context it contradicts, or the figure that differs)."""

from __future__ import annotations

import re

from judging.text import strip_citations

# What the judge's rationales say when something costs the answer its rating.
FLAW_MARKERS: tuple[str, ...] = (
    "not in the context",
    "does not contain",
    "answers wrongly",
    "opposite",
    "negat",
    "denies",
    "leaves out",
    "repeat",
    "filler",
    "stock phrases",
    "cut off",
    "mid-sentence",
    "no information",
    "different subject",
    "hard to follow",
    "no checkable claim",
    "addressed to the evaluator",
    "the figure",
    "leads on no column",
    "where the context gives",
    "but the context gives",
    "calls ",
    "names ",
    "does not support",
    "which the context lacks",
    "not found in the context",
    "does not answer",
    "single claim",
    "misses",
    "none of the retrieved context",
    "loosely tied",
)


_QUOTE_RE = re.compile(r'"([^"]{8,})"')
_FIGURE_RE = re.compile(r"\d")


def rationale_problem(*, criterion: str, label: str, top: str, rationale: str, answer: str) -> str | None:
    """Why the rationale disagrees with its rating, or None when it agrees."""
    lowered = rationale.casefold()
    # Quoted text is the answer's or the context's words, not the judge's.
    flaws = [marker for marker in FLAW_MARKERS if marker in _QUOTE_RE.sub('""', rationale).casefold()]
    if label == top:
        return f"rated {label} but names a flaw ({flaws[0]!r})" if flaws else None
    if not flaws:
        return f"rated {label} but names no flaw"
    if criterion != "faithfulness" or "addressed to the evaluator" in lowered or "no checkable claim" in lowered:
        return None
    quotes = [_flat(q.rstrip("…")) for q in _QUOTE_RE.findall(rationale)]
    if not any(q and q in _flat(strip_citations(answer)) for q in quotes):
        return "a low Faithfulness rating that quotes no claim of the answer"
    outside_quotes = _QUOTE_RE.sub("", rationale)
    if "closest:" not in lowered and len(quotes) < 2 and not _FIGURE_RE.search(outside_quotes):
        return "a low Faithfulness rating that names no context sentence or figure"
    return None


def _flat(text: str) -> str:
    """Markdown emphasis and line breaks left out and a minus sign (U+2212) as a hyphen, as the judge quotes a claim."""
    return " ".join(re.sub(r"[*`_]", "", text).replace("\u2212", "-").split())
