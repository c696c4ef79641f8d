"""How a claim's relation compares with the context sentence it restates.

A reversed mechanism restates the right sentence with the relation turned round: "kept
separate" where the context says "merged", "the smallest gradients" where it says "the
largest". The clause-level check in :func:`judging.text.polarity_conflict` needs the
claim's clause to share most of its words with one clause of the context; a fluent
reversal rewords too much for that. Here the whole claim is compared with the one context
sentence closest to it in meaning: when both are about the same things (shared content
words) and the claim states only one side of an opposition where the sentence states only
the other, the claim reverses it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from wordfreq import zipf_frequency

from judging.text import (
    _WORD_RE,
    ANTONYM_AXES,
    NEGATIONS,
    STOPWORDS,
    _aligning_stems,
    word_tokens,
)

RELATION_SHARED_STEMS = 2  # content words a claim and its sentence share to be about the same things


def relation_flip(claim: str, reference: str) -> tuple[str, str] | None:
    """(the claim's word, the reference's word) of an opposition the claim reverses, or None.

    A side that a negation governs (within three words before it) is left to the
    clause-level check, where a negation and an antonym may cancel ("not merged" restates
    "kept separate").
    """
    claim_tokens, reference_tokens = word_tokens(claim), word_tokens(reference)
    if len(_aligning_stems(claim_tokens) & _aligning_stems(reference_tokens)) < RELATION_SHARED_STEMS:
        return None
    claim_sides, reference_sides = _sides(claim_tokens), _sides(reference_tokens)
    for axis in sorted(claim_sides):
        said, meant = claim_sides[axis], reference_sides.get(axis, {})
        if len(said) != 1 or len(meant) != 1 or said.keys() == meant.keys():
            continue
        said_at, meant_at = next(iter(said.values())), next(iter(meant.values()))
        if _negated(claim_tokens, said_at) or _negated(reference_tokens, meant_at):
            continue
        return claim_tokens[said_at], reference_tokens[meant_at]
    return None


def _sides(tokens: list[str]) -> dict[int, dict[int, int]]:
    """Antonym axis → side (0 or 1) → the first token on that side."""
    sides: dict[int, dict[int, int]] = {}
    for index, token in enumerate(tokens):
        for axis, side in _token_sides(token):
            sides.setdefault(axis, {}).setdefault(side, index)
    return sides


@lru_cache(maxsize=65536)
def _token_sides(token: str) -> tuple[tuple[int, int], ...]:
    return tuple(
        (axis, side)
        for axis, pair in enumerate(ANTONYM_AXES)
        for side, words in enumerate(pair)
        if any(token.startswith(w) if len(w) > 3 else token == w for w in words)
    )


def _negated(tokens: list[str], index: int) -> bool:
    return any(t in NEGATIONS for t in tokens[max(0, index - 3) : index])


# --- vocabulary the context lacks --------------------------------------------------------

# Below this Zipf frequency (wordfreq's English list) a word is not everyday English: a
# fluent answer that brings in many such words the context lacks in any inflection speaks
# another field's language or describes parts the context does not have ("sensing",
# "allocator"), where a paraphrase reuses the context's own terms and adds common words.
UNFAMILIAR_ZIPF = 4.5


@lru_cache(maxsize=65536)
def _unfamiliar(word: str) -> bool:
    return zipf_frequency(word, "en") < UNFAMILIAR_ZIPF


def _base(word: str) -> str:
    """The word without an inflection's ending, cut to five letters ("fuses", "fused" → "fus")."""
    for ending in ("ing", "ed", "es", "s", "e", "d"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            word = word[: -len(ending)]
            break
    return word[:5]


def vocabulary(claim: str, reference_stems: set[str]) -> tuple[int, list[str]]:
    """(how many words of four letters or more the claim has, those of them that are not
    everyday English and that the reference lacks in any inflection)."""
    words = 0
    found: list[str] = []
    # Inflections are the same word: "fuses" is the context's "fused".
    prefixes = {_base(stem) for stem in reference_stems}
    for word in _WORD_RE.findall(claim.casefold()):
        word = re.sub(r"'s$", "", word)
        for part in word.split("-"):
            if len(part) < 4 or not part.isalpha() or part in STOPWORDS:
                continue
            words += 1
            if _base(part) not in prefixes and _unfamiliar(part) and part not in found:
                found.append(part)
    return words, found
