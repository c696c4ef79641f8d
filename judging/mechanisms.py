"""Reversed mechanisms: what a claim says an effect does to a thing, against the context.

A fluent reversed mechanism restates the sentence it reverses in the context's own words
and turns one relation round: "lowers the amount of CGRP released" where the context says
"does not reduce the amount of CGRP released", "the mutations widen the substrate pocket"
where they "narrow" it, "stores sodium by intercalation" where the context says "rather
than by intercalation". The whole-sentence checks (``judging.text.polarity_conflict``,
``judging.alignment.relation_flip``) compare sentences as bags of direction and antonym
words, which a long paraphrase defeats both ways: a genuine answer mixes "more" and
"less" about different things, and a fake keeps the sentence's other words.

Here each claim is compared with the context sentence it is aligned to (its closest by
meaning) thing by thing. A *target* is a content word both sentences share; its *effect*
in a sentence is the sign of the effect words right next to it in its clause (promote:
"increases", "enables", "widens", "speeds up"; inhibit: "reduces", "prevents", "limits",
"narrows"; see ``EFFECT_AXES``), acting on the nearest content word after it and before
it in its clause. A negation within three words in front of an effect word makes it a
denied effect ("does not reduce X" denies reducing X; it does not say X rises). A target
that the claim gives one effect and the sentence the opposite one, or the very effect
the sentence denies, each without a mixed reading, is reversed. Besides, a specific thing (a rare word or a
pair of words in a row) that the sentence explicitly denies ("rather than by
intercalation", "avoid double-strand breaks") and the claim states as what happens is
asserted against the context.

Comparatives followed by "than" are left to the figure and comparison checks: "A is
lower than B" and "B is higher than A" say the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from wordfreq import zipf_frequency

from judging.text import NEGATIONS, STOPWORDS, stem

# Effect words on two sides: what raises, allows or brings about the thing next to it, and
# what lowers, blocks or limits it. Entries longer than three letters match as prefixes
# ("increas" → increases, increased); shorter ones match whole words. Phrasal verbs are
# joined before matching ("speed up" → "speed_up").
PROMOTE: tuple[str, ...] = (
    "increas",
    "raise",
    "raises",
    "raised",
    "raising",
    "boost",
    "widen",
    "expand",
    "enlarg",
    "amplif",
    "accelerat",
    "speed_up",
    "speeds_up",
    "sped_up",
    "strengthen",
    "lengthen",
    "enabl",
    "allow",
    "promot",
    "encourag",
    "stimulat",
    "induc",
    "trigger",
    "dilat",
    "higher",
    "larger",
    "wider",
    "greater",
    "faster",
    "longer",
    "more",
    "grow",
    "grew",
    "rise",
    "rose",
    "risen",
)
INHIBIT: tuple[str, ...] = (
    "decreas",
    "reduc",
    "lower",
    "lowers",
    "lowered",
    "lowering",
    "shrink",
    "shrank",
    "narrow",
    "dampen",
    "slow",
    "slows",
    "slowed",
    "weaken",
    "shorten",
    "prevent",
    "block",
    "limit",
    "inhibit",
    "suppress",
    "discourag",
    "restrict",
    "constrict",
    "switch_off",
    "switches_off",
    "switching_off",
    "smaller",
    "fewer",
    "less",
    "shorter",
    "slower",
    "fell",
    "fall",
    "falls",
    "drop",
    "declin",
)
EFFECT_AXES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ((PROMOTE, INHIBIT),)

_PHRASAL_RE = re.compile(r"\b(speed|speeds|sped|switch|switches|switching) (up|off)\b")
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[-_'][a-z0-9]+)*")
_CLAUSE_RE = re.compile(r"[,;:()—–]|\b(?:while|whereas|but|although|though|because|so|which|whereby)\b")
# Words that deny what follows them in their clause, beyond the single negation words.
_DENIAL_PHRASES_RE = re.compile(r"\b(?:rather than|instead of|in place of)\b")
NEGATION_REACH = 3  # a negation this many tokens before an effect word turns it round
TARGET_AFTER = 4  # tokens after an effect word that can be what it acts on ("reduces the amount of CGRP")
TARGET_BEFORE = 2  # ... or before it ("CGRP release is reduced", "latency rose")
DENIAL_REACH = 5  # a denial governs this many tokens after it
RARE_ZIPF = 3.5  # a word this rare in English is specific enough to be asserted or denied on its own
SHARED_STEMS = 2  # content words a claim and its sentence share to be about the same things


@dataclass(frozen=True)
class MechanismConflict:
    """A thing the claim gives one effect (or asserts) and the aligned sentence the other (or denies)."""

    target: str  # the shared word, as the claim writes it
    said: str  # the claim's phrase
    meant: str  # the context's phrase
    denied: bool  # True: the context denies what the claim asserts; False: opposite effects

    def describe(self, reference: str, limit: int = 90) -> str:
        quoted = reference if len(reference) <= limit else reference[: limit - 1].rstrip() + "…"
        if self.denied:
            return f'states "{self.said}" where the context rules out "{self.meant}" (about {self.target}): "{quoted}"'
        return (
            f'reverses the effect on {self.target}: it says "{self.said}" where the context says '
            f'"{self.meant}": "{quoted}"'
        )


@dataclass(frozen=True)
class _Token:
    word: str
    clause: int


def _tokens(text: str) -> list[_Token]:
    lowered = text.casefold().replace("n't", " not").replace("\u2019", "'")
    lowered = _DENIAL_PHRASES_RE.sub(lambda m: " " + m.group(0).replace(" ", "_") + " ", lowered)
    lowered = _PHRASAL_RE.sub(lambda m: f"{m.group(1)}_{m.group(2)}", lowered)
    tokens: list[_Token] = []
    for clause, part in enumerate(_CLAUSE_RE.split(lowered)):
        tokens += [_Token(word, clause) for word in _TOKEN_RE.findall(part or "")]
    return tokens


def _matches(token: str, word: str) -> bool:
    return token.startswith(word) if len(word) > 3 else token == word


@lru_cache(maxsize=65536)
def _effect_side(token: str) -> int:
    """+1 for a promoting effect word, -1 for an inhibiting one, 0 otherwise."""
    if any(_matches(token, w) for w in PROMOTE):
        return 1
    if any(_matches(token, w) for w in INHIBIT):
        return -1
    return 0


def _denier(token: str) -> bool:
    return token in NEGATIONS or token in _RULING_OUT


# What rules out the thing right after it as the way something works ("rather than by
# intercalation", "avoid double-strand breaks"). Bare "no" and "without" are not among
# them: they deny a quantity or qualify a noun ("adds no inference latency", "GPUs without
# sparse kernels"), which a paraphrase restates without them ("latency is unchanged").
_RULING_OUT = frozenset(["rather_than", "instead_of", "in_place_of"])
_RULING_OUT_WORDS = frozenset(["avoid", "avoids", "avoided", "avoiding", "never"]) | _RULING_OUT


@lru_cache(maxsize=65536)
def _target_word(token: str) -> bool:
    """A content word that can be what an effect acts on."""
    return (
        len(token) > 2
        and token.replace("-", "").isalpha()
        and token not in STOPWORDS
        and not _denier(token)
        and _effect_side(token) == 0
    )


@lru_cache(maxsize=65536)
def _rare(token: str) -> bool:
    return all(zipf_frequency(part, "en") < RARE_ZIPF for part in token.split("-") if part)


def _negated(tokens: list[_Token], index: int) -> bool:
    clause = tokens[index].clause
    window = tokens[max(0, index - NEGATION_REACH) : index]
    return any(_denier(t.word) and t.clause == clause for t in window)


def _effects(tokens: list[_Token]) -> dict[str, list[tuple[int, int]]]:
    """Target stem → [(sign, index of the effect word)]: each effect word's sign, +1 or -1,
    or ±2 when a negation denies it ("does not reduce" is -2), for the targets next to it.
    A comparative followed by "than" compares two things and is skipped."""
    found: dict[str, list[tuple[int, int]]] = {}
    for index, token in enumerate(tokens):
        side = _effect_side(token.word)
        if not side:
            continue
        ahead = tokens[index + 1 : index + 1 + TARGET_AFTER]
        if any(t.word == "than" and t.clause == token.clause for t in ahead[:3]):
            continue
        sign = 2 * side if _negated(tokens, index) else side  # ±2: that side denied
        # What it acts on: the nearest content word after it ("lowers the amount"), and the
        # nearest before it ("receptor blockade", "latency rose"), in its clause.
        after = next((t for t in ahead if t.clause == token.clause and _target_word(t.word)), None)
        before = next(
            (
                t
                for t in reversed(tokens[max(0, index - TARGET_BEFORE) : index])
                if t.clause == token.clause and _target_word(t.word)
            ),
            None,
        )
        for other in (after, before):
            if other is not None:
                found.setdefault(stem(other.word), []).append((sign, index))
    return found


def _phrase(tokens: list[_Token], index: int) -> str:
    start = max(0, index - 2)
    return " ".join(t.word.replace("_", " ") for t in tokens[start : index + 4] if t.clause == tokens[index].clause)


def _opposed(said: int, meant: int) -> bool:
    """A stated effect (±1) against the opposite stated effect, or against the context
    denying that very effect (±2: "does not reduce" denies -1)."""
    return abs(said) == 1 and (meant == -said or meant == 2 * said)


def _denied_terms(tokens: list[_Token]) -> dict[str, int]:
    """Specific things a sentence denies: a rare word, or the first of two content words in
    a row, within reach after a denial in its clause ("rather than by intercalation",
    "avoid double-strand breaks"); stem or stem pair → index of the denial."""
    denied: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.word not in _RULING_OUT_WORDS:
            continue
        reach = [
            (i, t)
            for i, t in enumerate(tokens[index + 1 : index + 1 + DENIAL_REACH], start=index + 1)
            if t.clause == token.clause
        ]
        for position, (i, t) in enumerate(reach):
            if _effect_side(t.word):
                break  # "does not reduce X" is an effect denied, read by _effects
            if not _target_word(t.word):
                continue
            if _rare(t.word):
                denied.setdefault(stem(t.word), index)
            if (
                position + 1 < len(reach)
                and reach[position + 1][0] == i + 1
                and _target_word(reach[position + 1][1].word)
            ):
                denied.setdefault(f"{stem(t.word)} {stem(reach[position + 1][1].word)}", index)
    return denied


def _asserted(tokens: list[_Token], key: str) -> int | None:
    """Where the claim states the stem (or stem pair) ``key`` without a denial in front of it."""
    parts = key.split(" ")
    for index in range(len(tokens) - len(parts) + 1):
        window = tokens[index : index + len(parts)]
        if [stem(t.word) for t in window] != parts or len({t.clause for t in window}) != 1:
            continue
        clause = window[0].clause
        before = [t for t in tokens[max(0, index - DENIAL_REACH) : index] if t.clause == clause]
        if not any(_denier(t.word) for t in before):
            return index
    return None


def _contrasted(tokens: list[_Token]) -> set[str]:
    """Content words of a clause that opens with "unlike": what the sentence sets apart."""
    clauses = {t.clause for t in tokens if t.word == "unlike"}
    return {stem(t.word) for t in tokens if t.clause in clauses and _target_word(t.word) and t.word != "unlike"}


def _content_stems(tokens: list[_Token]) -> set[str]:
    return {stem(t.word) for t in tokens if _target_word(t.word)}


def mechanism_conflict(claim: str, reference: str) -> MechanismConflict | None:
    """What the claim reverses or asserts against the sentence it is aligned to, or None."""
    claim_tokens, reference_tokens = _tokens(claim), _tokens(reference)
    if len(_content_stems(claim_tokens) & _content_stems(reference_tokens)) < SHARED_STEMS:
        return None
    # A denial in the claim of something the context also denies agrees with it.
    claim_denials = set(_denied_terms(claim_tokens))
    claim_effects, reference_effects = _effects(claim_tokens), _effects(reference_tokens)
    contrasted = _contrasted(reference_tokens)
    for target in sorted(claim_effects.keys() & reference_effects.keys()):
        said = claim_effects[target]
        meant = reference_effects[target]
        said_signs, meant_signs = {s for s, _ in said}, {s for s, _ in meant}
        if len(said_signs) != 1 or len(meant_signs) != 1:
            continue
        s, m = next(iter(said_signs)), next(iter(meant_signs))
        if not _opposed(s, m):
            continue
        if any(stem(t.word) in contrasted for t in claim_tokens[: said[0][1]]):
            continue  # "Unlike triptans, it does not constrict vessels": triptans constricting agrees
        word = next(t.word for t in claim_tokens if _target_word(t.word) and stem(t.word) == target)
        return MechanismConflict(
            target=word,
            said=_phrase(claim_tokens, said[0][1]),
            meant=_phrase(reference_tokens, meant[0][1]),
            denied=abs(m) == 2,
        )
    for key, denial in _denied_terms(reference_tokens).items():
        if key in claim_denials:
            continue
        where = _asserted(claim_tokens, key)
        if where is None:
            continue
        word = " ".join(t.word for t in claim_tokens[where : where + len(key.split(" "))])
        return MechanismConflict(
            target=word,
            said=_phrase(claim_tokens, where),
            meant=_phrase(reference_tokens, denial),
            denied=True,
        )
    return None
