"""A heuristic judge that needs no network: claims checked against the context, one by one.

The answer is split into claims (sentences and Markdown list items). For each claim the
judge finds its best support among the context's sentences and table rows, by meaning
(cosine similarity of local embeddings, batched once per answer) and by shared words
and figures, and decides:

- **supported**: it restates or paraphrases the context; figures it works out from the
  context (a difference, a ratio, a relative gain) count as the context's;
- **contradicted**: it inverts the sentence it restates (a negation, an opposite
  direction or an antonym), gives a table row's value to another row, states a figure
  that differs from the row it names or from the context's figure of the same thing
  (``judging.figures``), or compares rows, or calls a row the best (or worst), against
  what the table's own rows say (``judging.comparisons``);
- **unsupported**: nothing in the context says it. A claim with figures or names that
  the context lacks is a *specific* unsupported claim; one without is general knowledge,
  which costs less;
- an **abstention** ("the context does not say ...") asserts nothing and costs nothing.

What the claims come to is weighed by a learned combiner (``judging.combiner``): a
logistic model over per-answer features (shares of unsupported, specific and contradicted
claims, absent figures, names and terms, support cosines, lexical coverage, topicality …),
fitted on the calibration set's tune split, gives the probability that the answer is
right. Faithfulness follows that probability, and cannot be "Excellent" with an invented
figure or name, nor above "Fair" with a contradicted claim; Relevance asks whether the
answer answers this question *correctly*: the lower of how on-topic it is and that
probability. Completeness weighs the context facts the question needs. Text addressed to the grader disqualifies
the answer on every criterion. Each rationale cites its evidence, and states flaws only
when they cost the rating something, so a best rating never comes with a flaw.

The judge is deterministic for a deterministic ``embed`` function.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from judging.alignment import relation_flip, vocabulary
from judging.cells import (
    CellConflict,
    column_meant,
    differs,
    gap_between,
    is_relative,
    lead_and_cells,
    measured_against,
    stated_cell,
)
from judging.comparisons import (
    at_extreme,
    bounds,
    column_pair_conflict,
    columns_headed,
    columns_named,
    comparatives,
    comparison_holds,
    extreme_named,
    leads_within_bounds,
    leads_within_field,
)
from judging.figures import FigureConflict, Mention, figure_conflicts, prose_mentions, row_mentions
from judging.mechanisms import MechanismConflict, mechanism_conflict
from judging.rubric import RubricSpec
from judging.tables import (
    column_before,
    column_of,
    columns_asked,
    leads_on,
    row_gap,
    row_name_pattern,
    shared_cores,
    superlatives,
)
from judging.text import (
    _FILLER_RE,
    _WORD_RE,
    INJECTION_EXEMPLARS,
    STOPWORDS,
    TableRow,
    addresses_grader,
    claim_names,
    content_words,
    extract_entities,
    extract_numbers,
    find_injection,
    hedged_numbers,
    is_abstention,
    is_trivial_number,
    name_in_text,
    name_key,
    normalise_number,
    novel_terms,
    number_is_derived,
    numeric_direction_conflict,
    parse_row,
    polarity_conflict,
    split_claims,
    split_paragraphs,
    split_pipe_table,
    split_sentences,
    stem,
    strip_citations,
    strip_source_tag,
    term_stems,
    unwrap_lines,
)

Embed = Callable[[list[str]], np.ndarray]

KNOWN_CRITERIA: dict[str, str] = {
    "relevance": "Does the answer address the question asked?",
    "faithfulness": "Is every claim supported by the given context?",
    "completeness": "Does it cover the major aspects the context supports?",
    "clarity": "Is it well structured and unambiguous?",
    "conciseness": "Is it free of repetition and padding?",
}

# Thresholds on all-MiniLM-L6-v2 cosine similarities (normalised embeddings).
SUPPORT_COSINE = 0.62  # a claim this close to a context unit restates it
SUPPORT_COSINE_WITH_WORDS = 0.45  # closer than this, plus most of its words in the context
SUPPORT_WORDS = 0.6  # share of the claim's content words the context must hold (with the above)
SUPPORT_WORDS_ALONE = 0.85  # this share of its words in the context supports it on its own
SUPPORT_WORDS_WITH_FIGURES = 0.5  # ... or this share, when all its figures come from the context
ALIGN_COSINE = 0.45  # context units this close are compared with the claim for inversions ...
BIND_CHARS = 80  # a figure belongs to a name at most this far before it (same clause)
MISATTRIBUTION_COSINE = 0.6  # a claim this close to a sentence restates it, names included
RELATION_COSINE = 0.45  # a claim this close to its nearest sentence is compared with it as a whole
ALIGN_MARGIN = 0.08  # ... if they are also about as close as the closest one
INJECTION_COSINE = 0.62  # a sentence this close to an injection exemplar addresses the judge

TERMS_UNSUPPORTED = 2  # a claim bringing in this many rare words is not the context's ...
TERMS_IGNORED_COSINE = 0.7  # ... unless it is this close to a context unit
# A rationale names the vocabulary neither everyday English nor the context's when more than
# this share of the answer's words is such (see judging.alignment.vocabulary).
NOVELTY_FREE = 0.05

# Faithfulness and Relevance follow the learned combiner's probability that the answer is
# right (``judging.combiner``); a contradicted claim keeps Faithfulness at most this.
FAITHFUL_CONTRADICTED = 0.55
FAITHFUL_SPECIFIC = 0.78  # a figure or name the context lacks, stated as fact
RELEVANCE_CONTRADICTED = 0.55  # a claim that says the opposite of the context answers wrongly
RESTATED_COSINE = 0.8  # a claim this close to a sentence restates it: a figure it changes contradicts it

# Completeness: context units this far below the question's closest one may hold what it
# needs; their weight halves every COMPLETENESS_FOCUS × ln 2 below it, and a passage this
# close (COMPLETENESS_CLOSE) answers it as well as the closest.
COMPLETENESS_WINDOW = 0.2
COMPLETENESS_FOCUS = 0.05
COMPLETENESS_CLOSE = 0.05
COMPLETENESS_LEXICAL = 0.2  # weight of the question's distinctive words in a unit's relevance

SUPPORTED = "supported"
UNSUPPORTED = "unsupported"
CONTRADICTED = "contradicted"
ABSTENTION = "abstention"

# After a figure: an optional unit and further figures ("0.612 and 0.418"), then "for <name>";
# or "in <name>" right after it ("4.4% in T cells").
_FOR_NAME_RE = re.compile(
    r"(?:\s*(?:%|[a-z@]{1,8})?(?:\s+(?:and|,)\s+[0-9][0-9.,]*)?){0,3}?\s*(?:for|by|of|from)\s(?:the\s)?|\s*%?\s*in\s(?:the\s)?"
)
_ROW_KEY_RE = re.compile(r"(?:^|(?<=; ))[^=;]{1,60}=")
# Words that end the stretch of text a figure can belong to the name before it: another
# clause, or a pronoun that refers to someone else ("..., and it is better on QNLI (94.8)").
_CLAUSE_BREAK_RE = re.compile(
    r"\b(?:while|whereas|but|compared|against|versus|vs|than|however|although|and|it|its|they|their|which|would)\b|;"
)
_OPENING_NAME_RE = re.compile(
    r"^([A-Z][\w\-]*(?: [\w\-=().+]+){0,3}?) (?:has|have|had|is|was|reaches|reached|achieves|achieved|scores|"
    r"scored|uses|used|needs|needed|takes|took|trains|trained|gets|got|records|recorded)\b"
)
_SCIENTIFIC_RE = re.compile(r"\b\d+(?:\.\d+)?e[-+]?\d+\b", re.IGNORECASE)
_DENIAL_RE = re.compile(r"\b(?:does|do|did|is|are|was|were|has|have)(?: not|n t)\b|\b(?:never|neither)\b")
_COMPARING_VERBS = frozenset(["beats", "outperforms", "outperform"])
# A superlative that sets its own field of comparison: "the best among the efficient methods",
# "the lowest except for".
_RESTRICTED_RE = re.compile(r"[^;.]{0,60}?\b(?:among|except|excluding|other than|apart from|besides)\b")
_RANKED_RE = re.compile(r"\b(?:second|third|next|runner)[\s-]*$")  # "the second highest", "the next-best"
_BREAK_RE = re.compile(r"\b(?:while|whereas|but|however|although)\b|;")  # a clause of its own
_NUMBER_SPAN_RE = re.compile(r"(?<![\w.\-@/])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class OfflineVerdict:
    ratings: dict[str, tuple[str, str]]  # criterion key → (label, rationale)
    evidence: dict[str, Any] = field(default_factory=dict)
    raw: str = ""


@dataclass
class Claim:
    text: str
    status: str = SUPPORTED
    support: float = 0.0  # best cosine to a context unit
    reference: str = ""  # the closest context unit
    absent_numbers: list[str] = field(default_factory=list)
    absent_names: list[str] = field(default_factory=list)
    absent_terms: list[str] = field(default_factory=list)  # rare words the context lacks
    why: str = ""  # what the contradiction is
    # Which check found the contradiction: "direction" (the claim's own figures), "row" (a
    # figure another row holds or no row has), "column" (a row's figure under another of its
    # columns), "superlative" (a row crowned that leads on nothing), "misattribution",
    # "polarity" (negation, direction or antonym flip), "relation" (an opposition reversed
    # against the closest sentence), "mechanism" (a thing given the opposite effect of the
    # sentence it is aligned to, or asserted where that sentence rules it out), "figure" (a
    # prose figure of the same thing as a context figure, differing) or "comparison" (a
    # comparison between rows their figures contradict); empty when not contradicted.
    kind: str = ""
    lexical: float = 0.0  # share of the claim's content words (by stem) found in the context
    reversed: tuple[str, str] | None = None  # (claim's word, context's word) of a reversed opposition
    words: int = 0  # words of four letters or more
    unfamiliar: list[str] = field(default_factory=list)  # of those, not everyday English and not in the context
    # Its figures against the context's figures of the same thing (judging.figures): those
    # that differ (or go the other way), and how many an aligned context figure confirms.
    figure_conflicts: list[FigureConflict] = field(default_factory=list)
    figures_confirmed: int = 0
    # Comparisons between table rows ("A outperforms B", "the lowest …") that the rows' figures contradict.
    comparison_conflicts: list[str] = field(default_factory=list)
    # A thing it gives the opposite effect of the sentence it is aligned to, or asserts where
    # that sentence rules it out (judging.mechanisms), and that sentence.
    mechanism: MechanismConflict | None = None
    mechanism_reference: str = ""
    # Figures given a row under a named column that the row's cell contradicts (judging.cells).
    cell_conflicts: list[CellConflict] = field(default_factory=list)

    @property
    def novelty(self) -> float:
        """Share of the claim's words that are neither everyday English nor the context's."""
        return len(self.unfamiliar) / self.words if self.words else 0.0

    @property
    def specific(self) -> bool:
        return bool(self.absent_numbers or self.absent_names)

    @property
    def lacking(self) -> list[str]:
        """The figures, names and terms of art it states that the context lacks."""
        return self.absent_numbers + self.absent_names + self.absent_terms


@dataclass
class Measure:
    """A criterion's score in [0, 1], what lowered it, and what speaks for the answer."""

    score: float
    flaws: list[str]
    strengths: list[str]
    evidence: dict[str, Any]

    def rationale(self, *, best: bool) -> str:
        # Flaws are stated only when they cost the answer its best rating.
        return " ".join(self.strengths if best or not self.flaws else self.flaws)


def _clip(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


def _ramp(value: float, low: float, high: float) -> float:
    return _clip((value - low) / (high - low))


def score_to_label(*, score: float, rubric: RubricSpec) -> str:
    """Map a score in [0, 1] onto the scale: equal bands, best label for high scores."""
    levels = rubric.levels_best_first()
    count = len(levels)
    for index, level in enumerate(levels):
        if score >= 1 - (index + 1) / count - 1e-9:
            return level.label
    return levels[-1].label


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _fmt_list(values: Sequence[str], limit: int = 4) -> str:
    shown = [str(v) for v in values[:limit]]
    if len(values) > limit:
        shown.append(f"{len(values) - limit} more")
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _prose_units(passage: str) -> list[str]:
    """Sentences of a passage; a run-in heading ("Mask warmup.") joins the sentence after it."""
    units: list[str] = []
    carry = ""
    for sentence in split_sentences(passage):
        if len(sentence.split()) <= 3:
            carry = f"{carry} {sentence}".strip()
            continue
        units.append(f"{carry} {sentence}".strip())
        carry = ""
    if carry:
        units.append(carry)
    return units


def _row_names(label: str) -> list[str]:
    """A row's name as an answer may write it: in full, and without a parenthetical
    ("SAT (ours)" → "sat ours", "sat"), in lower-case words."""
    names = [re.sub(r"[^a-z0-9]+", " ", label.casefold()).strip()]
    core = re.sub(r"[^a-z0-9]+", " ", re.sub(r"\([^)]*\)", " ", label).casefold()).strip()
    if core and core not in names:
        names.append(core)
    return [name for name in names if len(name) >= 2]


def _checkable(claim: str) -> bool:
    """A claim says enough to be checked: three content words, or a figure or name said of
    something ("SAT has a Checkpoint (MB) of 11.4.", "Next is SAT with 5.3.")."""
    words = content_words(claim)
    if len(words) >= 3:
        return True
    specific = any(not is_trivial_number(n) for n in extract_numbers(claim)) or bool(claim_names(claim))
    return bool(words) and specific


def _without_row_keys(text: str) -> str:
    """A table row's "Column=" keys left out; other text as it is ("LoRA r=8 adds …" keeps "r=")."""
    return _ROW_KEY_RE.sub("", text) if text.count("=") >= 2 and "; " in text else text


def _name_text(text: str) -> str:
    """Lower-case words, figures kept whole: where row names and their figures are looked up."""
    lowered = re.sub(r"[^a-z0-9.,%;]+", " ", text.casefold())
    return re.sub(r" +", " ", re.sub(r"(?<![0-9])[.,]|[.,](?![0-9])", " ", lowered))


def _column_words(text: str) -> set[str]:
    """Stemmed words of a column name or question, short measure names included ("F1",
    "EM", "p95"), so "Dev F1" and "Dev EM" differ."""
    return {stem(w) for w in re.findall(r"[a-z][a-z0-9]*|[0-9]+[a-z][a-z0-9]*", text.casefold()) if w not in STOPWORDS}


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


class _Analysis:
    """Everything measured once per answer; criteria read from it."""

    def __init__(
        self,
        *,
        question: str,
        history: list[tuple[str, str]],
        context: list[str],
        answer: str,
        embed: Embed,
    ) -> None:
        self.question = question
        self.history = history
        self.answer = answer
        self.passages = [strip_source_tag(p) for p in context]
        self.rows: list[TableRow] = []
        # Context units: a table row is one unit, whether its passage is the row alone or a
        # whole Markdown table; prose is split into sentences.
        self.units: list[str] = []
        self.unit_rows: list[TableRow | None] = []  # the table row each unit is, if any
        for passage, raw in zip(self.passages, context, strict=True):
            if (row := parse_row(raw)) is not None:
                self._add_row_unit(passage, row)
                continue
            prose, table_rows = split_pipe_table(raw)
            units = _prose_units(strip_source_tag(prose) if table_rows else passage)
            self.units += units
            self.unit_rows += [None] * len(units)
            caption = units[0] if table_rows and units else ""
            for table_row in table_rows:
                self._add_row_unit(f"({caption}) {table_row.text}" if caption else table_row.text, table_row)
        # A name that several rows share ("RocksDB" for its leveled and universal rows) names
        # any of them: one stand-in row per such name, and the rows it stands for.
        self.members: dict[int, list[TableRow]] = {}
        self.core_rows: list[tuple[str, TableRow]] = []
        for core, group in shared_cores(self.rows).items():
            alias = TableRow(table=group[0].table, label=core, cells=group[0].cells, text=group[0].text)
            self.members[id(alias)] = group
            self.core_rows.append((core, alias))
        self.shared = {core for core, _ in self.core_rows}
        # Per-answer counts of the table checks that fired (features for a learned combiner).
        self.column_swaps = 0
        self.superlative_misses = 0
        history_units = [s for q, a in history for s in split_sentences("\n".join(unwrap_lines(a)))]
        self.answer_sentences = split_sentences("\n".join(unwrap_lines(answer)))
        self.claim_texts = [c for c in split_claims(answer) if _checkable(c)]
        self.resolved_question = f"{history[-1][0]} {question}" if history else question
        self.asked = "\n".join([question, *(q for q, _ in history)])
        self.reference_text = "\n".join([question, *self.passages, *(q + "\n" + a for q, a in history)])
        # Names are looked up in the source tags too ("[Sheet: results.xlsx/SQuAD]").
        self.reference_key = name_key(self.reference_text + "\n" + "\n".join(context))
        self.reference_stems = term_stems(self.reference_text + "\n" + "\n".join(context))

        texts = [question, self.resolved_question, answer or " "]
        texts += self.claim_texts + self.answer_sentences + self.units + history_units + list(INJECTION_EXEMPLARS)
        vectors = _normalised(embed(texts))
        self.q_vec, self.rq_vec, self.a_vec = vectors[0], vectors[1], vectors[2]
        offset = 3
        sizes = [len(self.claim_texts), len(self.answer_sentences), len(self.units), len(history_units)]
        blocks = []
        for size in sizes:
            blocks.append(vectors[offset : offset + size])
            offset += size
        self.claim_vecs, self.sent_vecs, self.unit_vecs, history_vecs = blocks
        self.inj_vecs = vectors[offset:]
        # Claims are compared with the context and the conversation's earlier answers.
        self.support_units = self.units + history_units
        # Every figure of the context, the earlier answers and the questions, with what it is a
        # figure of (an answer may restate the question's "under 10M parameters").
        self.mentions: list[Mention] = [
            m
            for unit, row in zip(self.support_units, self.unit_rows + [None] * len(history_units), strict=True)
            for m in (row_mentions(row) if row is not None else prose_mentions(unit))
        ] + [m for sentence in split_sentences(self.asked) for m in prose_mentions(sentence)]
        support_vecs = np.vstack([self.unit_vecs, history_vecs]) if history_units else self.unit_vecs
        self.claim_support = (
            self.claim_vecs @ support_vecs.T
            if len(self.claim_texts) and len(self.support_units)
            else np.zeros((len(self.claim_texts), len(self.support_units)))
        )
        self.sent_unit = (
            self.sent_vecs @ self.unit_vecs.T
            if len(self.answer_sentences) and len(self.units)
            else np.zeros((len(self.answer_sentences), len(self.units)))
        )
        self._measure_injection()
        # The figures the answer quotes from the context, anywhere in it: a figure a claim works
        # out from them ("+0.21 points" from the 3.63% it quotes and the control's 3.42% it
        # quoted a line before) is the context's too.
        context_numbers = set(extract_numbers(self.reference_text))
        self.quoted_numbers = sorted(
            {n for n in extract_numbers(answer) if n in context_numbers and not is_trivial_number(n)}
        )
        self.claims = [self._check_claim(index) for index in range(len(self.claim_texts))]
        # The answer's share of words that are neither everyday English nor the context's.
        asserted = [c for c in self.claims if c.status != ABSTENTION]
        words = sum(c.words for c in asserted)
        self.novelty = sum(len(c.unfamiliar) for c in asserted) / words if words else 0.0

    def _add_row_unit(self, text: str, row: TableRow) -> None:
        self.rows.append(row)
        self.units.append(text)
        self.unit_rows.append(row)

    # --- manipulation ---

    def _measure_injection(self) -> None:
        snippets = find_injection(self.answer)
        for sentence in self.answer_sentences:
            if addresses_grader(sentence) and not any(s in sentence for s in snippets):
                snippets.append(sentence)
        if len(self.sent_vecs):
            closeness = (self.sent_vecs @ self.inj_vecs.T).max(axis=1)
            for sentence, value in zip(self.answer_sentences, closeness, strict=True):
                if value >= INJECTION_COSINE and not any(s in sentence for s in snippets):
                    snippets.append(sentence)
        self.injection = snippets

    # --- claims ---

    def _check_claim(self, index: int) -> Claim:
        text = self.claim_texts[index]
        claim = Claim(text=text)
        if is_abstention(text):
            claim.status = ABSTENTION
            return claim
        similarities = self.claim_support[index]
        order = np.argsort(-similarities) if len(similarities) else np.array([], dtype=int)
        if len(order):
            claim.support = float(similarities[order[0]])
            claim.reference = self.support_units[int(order[0])]
        nearby = [self.support_units[int(i)] for i in order[:3]]
        nearby_numbers = [n for unit in nearby for n in extract_numbers(unit)] + extract_numbers(self.asked)
        context_numbers = set(extract_numbers(self.reference_text))
        own_numbers = [n for n in extract_numbers(text) if not is_trivial_number(n)]
        grounded_numbers = [n for n in own_numbers if n in context_numbers]
        hedged = hedged_numbers(text)
        claim.absent_numbers = [
            n
            for n in own_numbers
            if n not in context_numbers
            and not number_is_derived(
                n, nearby_numbers + grounded_numbers + self.quoted_numbers, approximate=n in hedged
            )
            and not (n in hedged and number_is_derived(n, sorted(context_numbers), approximate=True))
        ]
        # Figures in scientific notation ("3e-7") are figures too; extract_numbers reads only their digits.
        context_scientific = {float(x) for x in _SCIENTIFIC_RE.findall(self.reference_text)}
        claim.absent_numbers += [x for x in _SCIENTIFIC_RE.findall(text) if float(x) not in context_scientific]
        claim.absent_names = [e for e in claim_names(text) if not name_in_text(e, self.reference_key)]
        named = {name_key(e) for e in claim.absent_names}
        claim.absent_terms = [t for t in novel_terms(text, self.reference_stems) if t not in named]
        claim.words, unfamiliar = vocabulary(text, self.reference_stems)
        claim.unfamiliar = [w for w in unfamiliar if w not in named]
        claim.figure_conflicts, claim.figures_confirmed = figure_conflicts(
            text,
            self.mentions,
            context_numbers=context_numbers,
            pool=[n for _, _, row in self._rows_named(_name_text(text)) for n in row.numbers()],
            hedged=hedged,
            asked=set(extract_numbers(self.asked)),
        )
        # A relative figure may be worked out from a named row and another row of its table
        # ("+6.1% relative" to the control row): not a figure that differs.
        named_rows = [row for _, _, row in self._rows_named(_name_text(text))]
        claim.figure_conflicts = [
            f
            for f in claim.figure_conflicts
            if f.reversed
            or not any(
                row_gap(f.stated.number, row, [r for r in self.rows if r.table == row.table], approximate=True)
                for row in named_rows
            )
        ]
        claim.comparison_conflicts = self._comparison_conflicts(text)
        # Inversions are judged against what the claim restates: its closest units only.
        aligned = [
            self.support_units[int(i)]
            for i in order[:3]
            if similarities[int(i)] >= max(ALIGN_COSINE, claim.support - ALIGN_MARGIN)
        ]
        for unit in aligned:
            if (found := mechanism_conflict(text, unit)) is not None:
                claim.mechanism, claim.mechanism_reference = found, unit
                break
        claim.cell_conflicts = self._cell_conflicts(text)

        # Contradictions: the claim's own figures, table rows, then the sentence it restates.
        why = numeric_direction_conflict(text)
        claim.kind = "direction" if why else ""
        if why is None:
            swaps, misses = self.column_swaps, self.superlative_misses
            why = self._row_conflict(text)
            if why is not None:
                claim.kind = (
                    "column"
                    if self.column_swaps > swaps
                    else "superlative"
                    if self.superlative_misses > misses
                    else "row"
                )
        if why is None and len(order):
            why = self._misattribution(text, self.support_units[int(order[0])], claim.support)
            claim.kind = "misattribution" if why else ""
        if why is None:
            if found := polarity_conflict(text, aligned):
                why = f'{found[0]} the context: "{_short(found[1])}"'
                claim.reference = found[1]
                claim.kind = "polarity"
            elif claim.support >= RELATION_COSINE and (flip := relation_flip(text, claim.reference)):
                # The whole claim against the sentence it restates: one side of an opposition
                # where the sentence has the other ("separate" for "merged").
                claim.reversed = flip
                why = (
                    f'states the opposite of the context ("{flip[0]}" where it says "{flip[1]}"): '
                    f'"{_short(claim.reference)}"'
                )
                claim.kind = "relation"
            elif claim.mechanism is not None:
                # A thing given the opposite effect ("lowers X" where the context says it
                # "does not reduce X"), or asserted where the context rules it out.
                why = claim.mechanism.describe(claim.mechanism_reference)
                claim.reference = claim.mechanism_reference
                claim.kind = "mechanism"
            elif claim.figure_conflicts:
                # A figure of the same thing as a context figure, with another value or the
                # other direction ("4-fold lower" where the context says "14-fold lower").
                why = claim.figure_conflicts[0].describe()
                claim.kind = "figure"
            elif claim.comparison_conflicts:
                # "A is faster than B", "the lowest …" against the rows' own figures.
                why = claim.comparison_conflicts[0]
                claim.kind = "comparison"
            elif claim.cell_conflicts:
                # A figure given a row under a named column, where the row's cell differs.
                why = claim.cell_conflicts[0].describe()
                claim.kind = "cell"
        if why is not None:
            claim.status = CONTRADICTED
            claim.why = why
            return claim

        words = {stem(w) for w in content_words(text)}
        context_words = {stem(w) for w in content_words(self.reference_text + "\n" + "\n".join(nearby))}
        lexical = len(words & context_words) / len(words) if words else 0.0
        claim.lexical = lexical
        # Figures are the strongest evidence: a claim whose figures all come from the context
        # (or are worked out from it), in the context's words, restates it.
        figures_grounded = bool(own_numbers) and not claim.absent_numbers and bool(grounded_numbers)
        grounded = (
            claim.support >= SUPPORT_COSINE
            or (claim.support >= SUPPORT_COSINE_WITH_WORDS and lexical >= SUPPORT_WORDS)
            or lexical >= SUPPORT_WORDS_ALONE
            or (figures_grounded and lexical >= SUPPORT_WORDS_WITH_FIGURES)
        )
        # Terms of art the context lacks: another field's vocabulary or invented parts, unless
        # the claim restates a context sentence closely or rests on several of its figures.
        foreign_terms = (
            len(claim.absent_terms) >= TERMS_UNSUPPORTED
            and claim.support < TERMS_IGNORED_COSINE
            and not (figures_grounded and len(grounded_numbers) >= 2)
        )
        if not grounded or claim.specific or foreign_terms:
            claim.status = UNSUPPORTED
        return claim

    def _cell_conflicts(self, text: str) -> list[CellConflict]:
        """Figures the claim gives a row under a named column that the row's cell contradicts
        (``judging.cells``): an answer table's cells ("Train time: LoRA r=8 3.9 h; SAT 5.3 h",
        the row and column named by the label and the cell's head, either way round), and
        prose figures bound to a row ("RTE: 85.2 for SAT"), under the column named just
        before the figure or by the claim's label."""
        if not self.rows:
            return []
        hedged = hedged_numbers(text)
        lead, segments = lead_and_cells(text)
        cells = [stated_cell(segment) for segment in segments]
        found: list[CellConflict] = []
        if segments and all(c is not None and len(c[0].split()) <= 8 for c in cells):
            for head, number, unit, signed, _ in [c for c in cells if c is not None]:
                named = f"{lead} {head}"
                rows = list({r.label: r for _, _, r in self._rows_named(_name_text(named))}.values())
                if len(rows) != 1 or id(rows[0]) in self.members or is_trivial_number(number):
                    continue
                column = column_meant(named, rows[0])
                if (
                    column is not None
                    and (expected := differs(number, unit, signed, rows[0], column, hedged=number in hedged))
                    is not None
                ):
                    found.append(
                        CellConflict(
                            rows[0], column, f"{number}{unit if unit == '%' else ' ' + unit}".strip(), expected
                        )
                    )
            return found
        lowered = _name_text(text.replace("×", " x "))  # "3.6× LoRA's": a ratio
        mentions = self._rows_named(lowered)
        for number, row, position in self._bind_figures(lowered, mentions):
            names = set(_row_names(row.label))
            if id(row) in self.members or is_trivial_number(number):
                continue
            if any(number in other.numbers() for other in self.rows if names & set(_row_names(other.label))):
                continue  # the row's figure, or that of a row of the same name in another table
            end = position + len(_NUMBER_SPAN_RE.match(lowered, position).group(1))
            if is_relative(lowered, position, end) or lowered[max(0, position - 1) : position] in ("+", "-"):
                continue
            if re.match(r"\s*(?:to\s+)?\d", lowered[end:]) or re.search(r"\d[%a-z]*\s+(?:to\s+)?$", lowered[:position]):
                continue  # a range ("0.27–0.3M", "12 to 14")
            floor = max((e for _, e, r in mentions if r is row and e <= position), default=0)
            after = re.match(r"\s*(%|[a-z]{1,3}\b)?\s*((?:[a-z0-9@]+\s*){0,3})", lowered[end:])
            unit = after.group(1) or ""
            # The column named just before the figure, as its noun right after it ("0.9M
            # parameters"), or by the claim's label.
            column = (
                column_before(lowered, position, row, floor=floor)
                or column_meant(after.group(2), row)
                or (column_meant(lead, row) if lead else None)
            )
            if (
                column is not None
                and (expected := differs(number, unit, False, row, column, hedged=number in hedged)) is not None
            ):
                found.append(CellConflict(row, column, number + ("%" if unit == "%" else ""), expected))
        return found

    def _rows_named(self, lowered: str) -> list[tuple[int, int, TableRow]]:
        """(start, end, row) for each table row whose name the text (lower-cased, see
        ``_row_conflict``) mentions, longest names first."""
        found: list[tuple[int, int, TableRow]] = []
        taken: list[tuple[int, int]] = []
        names = sorted(
            [(name, row) for row in self.rows for name in _row_names(row.label) if name not in self.shared]
            + self.core_rows,
            key=lambda p: -len(p[0]),
        )
        for label, row in names:
            for match in re.finditer(row_name_pattern(label), lowered):
                span = (match.start(), match.end())
                if any(s < span[1] and span[0] < e for s, e in taken):
                    continue
                taken.append(span)
                found.append((span[0], span[1], row))
        return sorted(found, key=lambda item: item[0])

    def _row_conflict(self, text: str) -> str | None:
        """A figure given to the wrong row, a figure the named row does not hold, or a
        superlative that the table's rows contradict."""
        if not self.rows:
            return None
        lowered = _name_text(text)
        mentions = self._rows_named(lowered)
        if not mentions:
            return self._figure_of_another_row(text)
        context_numbers = set(extract_numbers(self.reference_text))
        hedged = hedged_numbers(text)
        # A gap or ratio is computed from the rows the claim compares, not from any two cells.
        compared = [n for _, _, named in mentions for n in named.numbers()] + extract_numbers(text)
        for number, row, position in self._bind_figures(lowered, mentions):
            group = self.members.get(id(row), [row])
            own = {n for member in group for n in member.numbers()}
            if number in own and self._denied(lowered, row, number):
                return f'denies that {row.label} has {number}, but its row reads: "{_short(row.text)}"'
            if number in own and not is_trivial_number(number):
                # The figure is the row's, but the claim may state it under another column
                # ("2024: Unemployment rate 0.6%" where 0.6 is the row's GDP growth).
                floor = max((e for _, e, r in mentions if r is row and e <= position), default=0)
                named = column_before(lowered, position, row, floor=floor)
                holds = {c for member in group if (c := column_of(member, number)) is not None}
                if named is not None and holds and named not in holds:
                    self.column_swaps += 1
                    return (
                        f"gives {row.label} the figure {number} as its {named}, but {number} is its "
                        f'{_fmt_list(sorted(holds))}: "{_short(row.text)}"'
                    )
            if is_trivial_number(number) or number in own or not own:
                continue
            others = [n for n in compared if n != number]
            if number_is_derived(number, others, approximate=number in hedged):
                continue
            # A gap between the row and another row of its table in one column.
            peers = [r for r in self.rows if r.table == row.table]
            if any(row_gap(number, member, peers, approximate=number in hedged) for member in group):
                continue
            # Who holds the figure: a row of the same table, else a differently named row of
            # another table ("LoRA r=64 needs 13.6 GB" where the cost table gives 13.6 to LoRA r=8).
            names = set(_row_names(row.label))
            holder = next((o for o in self.rows if o.table == row.table and number in o.numbers()), None) or next(
                (o for o in self.rows if number in o.numbers() and not names & set(_row_names(o.label))), None
            )
            if holder is not None:
                return f"gives {row.label} the figure {number}, which the context gives {holder.label}"
            if number not in context_numbers:
                return f'gives {row.label} the figure {number}, but its row reads: "{_short(row.text)}"'
        return self._superlative_conflict(text, mentions)

    def _comparison_conflicts(self, text: str) -> list[str]:
        """Superlatives and comparatives said of table rows that the rows' figures contradict,
        on the columns the claim states figures in or names (else the question names); a
        comparison whose metric neither names is not judged. Which end is "best" follows the
        metric (lower for latency, cost, error …); a bound the question or claim sets ("under
        10M parameters") restricts the rows compared."""
        if not self.rows:
            return []
        lowered = _name_text(text)
        mentions = self._rows_named(lowered)
        if not mentions:
            return self._column_comparisons(lowered)
        found: list[str] = self._gap_conflicts(text, lowered, mentions)
        bound = self._bind_figures(lowered, mentions)
        limits = bounds(f"{self.asked}\n{text}")
        for start, end, word in superlatives(lowered):
            if word in _COMPARING_VERBS or _RESTRICTED_RE.match(lowered, end) or _RANKED_RE.search(lowered[:start]):
                continue  # "A beats B" is a comparison; "the best among the efficient ones" sets its own field
            row = self._subject_of(lowered, start, end, mentions)
            if row is None:
                continue
            peers = [r for r in self.rows if r.table == row.table]
            group = self.members.get(id(row), [row])
            labels = {m.label for m in group}
            # The metric: the one the superlative names ("the top write throughput"); a noun that
            # names no column ("the smallest footprint") leaves it undecided; else the column of
            # the figure the claim gives the row, else the one the question asks about.
            following = re.match(r"\s*([a-z0-9 ]*)", lowered[end:]).group(1).split()[:3]
            columns = columns_headed(" ".join(following), group[0])
            # A noun for the rows themselves ("the cheapest chemistry" where the rows are
            # chemistries) names no metric either.
            row_noun = {stem(w) for w in content_words(group[0].table.rsplit("|", 1)[-1])}
            following = (
                [w for w in following if stem(w) not in row_noun]
                if row_noun & {stem(w) for w in following[:2]}
                else following
            )
            if not columns:
                if following and following[0] not in STOPWORDS and not following[0][0].isdigit():
                    continue
                stated = [c for n, r, _ in bound if r is row for m in group if (c := column_of(m, n)) is not None]
                columns = stated or columns_named(self.asked, group[0])
            columns = [c for c in dict.fromkeys(columns) if sum(r.value_of(c) is not None for r in peers) >= 3]
            if not columns or any(
                at_extreme(m, peers, c, extreme_named(word, c), labels)
                or leads_within_bounds(m, peers, c, extreme_named(word, c), limits)
                or leads_within_field(m, peers, c, extreme_named(word, c), self.asked, labels)
                for c in columns
                for m in group
            ):
                continue
            column = columns[0]
            extreme = extreme_named(word, column)
            ranked = sorted((r for r in peers if r.value_of(column) is not None), key=lambda r: r.value_of(column))
            holder = ranked[0] if extreme == "min" else ranked[-1]
            found.append(
                f'calls {group[0].label} "{word}" on {column}, but {holder.label} has {holder.value_of(column):g} '
                f"against its {group[0].value_of(column):g}"
            )
        for start, end, sign, on_quality in comparatives(lowered):
            # The row compared is the clause's subject: no other comparison or "and" between them.
            before = [
                r
                for s, e, r in mentions
                if e <= start
                and start - e <= 60
                and not _BREAK_RE.search(lowered[e:start])
                and not re.search(r"\band\b", lowered[e:start])
                and not any(e <= s2 < start for s2, _, _, _ in comparatives(lowered))
            ]
            after = [r for s, e, r in mentions if s >= end and s - end <= 40 and not _BREAK_RE.search(lowered[end:s])]
            if not before or not after:
                continue
            first, second = before[-1], after[0]
            if first.table != second.table or first.label == second.label or id(first) in self.members:
                continue
            if id(second) in self.members:
                continue
            stated = [c for n, r, _ in bound if r is first if (c := column_of(first, n)) is not None]
            columns = stated or columns_named(text, first) or columns_named(self.asked, first)
            verdicts = {c: comparison_holds(first, second, c, sign, on_quality) for c in dict.fromkeys(columns)}
            decided = {c: v for c, v in verdicts.items() if v is not None}
            if decided and not any(decided.values()):
                column = next(iter(decided))
                word = lowered[start:end]
                found.append(
                    f'says {first.label} is "{word}" than {second.label} on {column}, but the context gives '
                    f"{first.label} {first.value_of(column):g} and {second.label} {second.value_of(column):g}"
                )
        return found

    def _gap_conflicts(self, text: str, lowered: str, mentions: list[tuple[int, int, TableRow]]) -> list[str]:
        """ "A improved over B by N points", "A finishes 40% faster than B": a gap the claim
        states between the row it is about (the first it names) and the row the figure is
        measured against, that is no gap between the two rows' figures in any column they share."""
        found: list[str] = []
        start, _, subject = mentions[0]
        if start > 20:
            return found  # the claim does not open with the row it is about ("That is 1.3 points below …")
        for match in _NUMBER_SPAN_RE.finditer(lowered):
            number = normalise_number(match.group(1))
            if is_trivial_number(number) or not is_relative(lowered, match.start(), match.end()):
                continue
            other = next(
                (r for s, _, r in mentions if s >= match.end() and measured_against(lowered, match.end(), s)), None
            )
            if other is None or other is subject or other.table != subject.table or other.label == subject.label:
                continue
            if id(subject) in self.members or id(other) in self.members:
                continue
            if number in extract_numbers(text.split(match.group(1))[0]):
                continue  # a figure the claim stated before: "from 21.4 to 9.8, a cut of 9.8" is not a gap
            if gap_between(number, subject, other, hedged=number in hedged_numbers(text)) is False:
                columns = columns_named(text, subject)
                column = columns[0] if columns else None
                shown = (
                    f"{subject.label} {subject.value_of(column):g} and {other.label} "
                    f"{other.value_of(column):g} on {column}"
                    if column is not None
                    and subject.value_of(column) is not None
                    and other.value_of(column) is not None
                    else f'{subject.label} "{_short(subject.text, 60)}" and {other.label} "{_short(other.text, 60)}"'
                )
                found.append(
                    f"states a gap of {number} between {subject.label} and {other.label}, but the context gives {shown}"
                )
        return found

    def _column_comparisons(self, lowered: str) -> list[str]:
        """ "A's growth is higher than B's" where a table keeps A's and B's figures in two
        columns of one metric (``comparisons.column_pair_conflict``), judged over its rows."""
        found: list[str] = []
        for start, end, sign, on_quality in comparatives(lowered):
            than = re.match(r"\s+than\s+", lowered[end:])
            if than is None:
                continue
            subject = _BREAK_RE.split(lowered[max(0, start - 60) : start])[-1]
            other = _BREAK_RE.split(lowered[end + than.end() : end + than.end() + 40])[0]
            for table in dict.fromkeys(r.table for r in self.rows):
                rows = [r for r in self.rows if r.table == table]
                if why := column_pair_conflict(subject, other, rows, sign, on_quality, lowered[start:end]):
                    found.append(why)
                    break
        return found

    @staticmethod
    def _subject_of(lowered: str, start: int, end: int, mentions: list[tuple[int, int, TableRow]]) -> TableRow | None:
        """The row a superlative is said of: the closest name before it in its clause, or a
        name right after it with no figure between ("the winner is X")."""
        right_after = [r for s, _, r in mentions if end <= s <= end + 8]  # "best in K562", "winner is X"
        if right_after:
            return right_after[0]
        before = [(start - e, r) for s, e, r in mentions if e <= start and start - e <= 60]
        before = [(gap, r) for gap, r in before if not _BREAK_RE.search(lowered[start - gap : start])]
        if before:
            return min(before, key=lambda pair: pair[0])[1]
        after = [
            (s - end, r)
            for s, e, r in mentions
            if s >= end and s - end <= 25 and not re.search(r"[0-9]", lowered[end:s])
        ]
        return min(after, key=lambda pair: pair[0])[1] if after else None

    def _figure_of_another_row(self, text: str) -> str | None:
        """A claim that opens with a name no row of the context has, and gives it a figure
        that one row holds under a column the claim names: "LoRA r=8 has a Checkpoint (MB)
        of 11.4" where only SAT's row reads "Checkpoint (MB)=11.4"."""
        names = claim_names(text)
        opening = _OPENING_NAME_RE.match(text)
        if names and text.startswith(names[0]):
            subject = names[0]
        elif opening and opening.group(1).split()[0].casefold() not in STOPWORDS:
            subject = opening.group(1)  # "Prompt tuning has …": a name that opens the sentence
        else:
            return None
        names = [subject]
        claim_words = {stem(w) for w in content_words(text)}
        for number in extract_numbers(text):
            if is_trivial_number(number):
                continue
            holders = [
                (row, key)
                for row in self.rows
                for key, value in row.cells
                if number in extract_numbers(value) and {stem(w) for w in content_words(key)} <= claim_words
            ]
            if len({id(row) for row, _ in holders}) == 1:
                row, key = holders[0]
                return (
                    f"gives {names[0]} the figure {number} ({key}), which the context gives {row.label}: "
                    f'"{_short(row.text)}"'
                )
        return None

    def _denied(self, lowered: str, row: TableRow, number: str) -> bool:
        """The claim negates that the named row holds the figure: "X does not have a Test F1
        of 95.3", "Next is not X with 5.3" (negation next to the name or between it and the figure)."""
        for name in _row_names(row.label):
            for match in re.finditer(r"(?<![a-z0-9])" + re.escape(name) + r"(?![a-z0-9])", lowered):
                after = lowered[match.end() :]
                position = after.find(number)
                between = after[:position] if 0 <= position <= 80 else ""
                before = lowered[max(0, match.start() - 12) : match.start()]
                if _DENIAL_RE.search(between) and not _CLAUSE_BREAK_RE.search(between):
                    return True
                if re.search(r"\b(?:is|are|was|were) not $", before) and 0 <= position <= 80:
                    return True
        return False

    def _misattribution(self, text: str, reference: str, similarity: float) -> str | None:
        """The claim restates one context sentence, figures and all, but names someone else:
        every name may occur somewhere in the context, yet not in the sentence it restates."""
        if similarity < MISATTRIBUTION_COSINE:
            return None
        # Figures, learning rates ("3e-4") included, all restated from the reference.
        figures = [n for n in extract_numbers(text) if not is_trivial_number(n)] + _SCIENTIFIC_RE.findall(text)
        if any(n not in extract_numbers(reference) + _SCIENTIFIC_RE.findall(reference) for n in figures):
            return None
        if not figures:
            # Without figures, only a sentence restated nearly word for word around the name.
            names_words = {w for e in claim_names(text) + extract_entities(reference) for w in content_words(e)}
            words = {stem(w) for w in content_words(text) if w not in names_words}
            kept = {stem(w) for w in content_words(reference)}
            if similarity < MISATTRIBUTION_COSINE + 0.1 or not words or len(words & kept) / len(words) < 0.85:
                return None
        body = _without_row_keys(reference)
        foreign = [e for e in claim_names(_without_row_keys(text)) if not name_in_text(e, name_key(reference))]
        missing = [e for e in extract_entities(body) if not name_in_text(e, name_key(text))]
        if foreign and missing:
            return (
                f"names {_fmt_list(foreign)} where the context it restates names {_fmt_list(missing)}: "
                f'"{_short(reference)}"'
            )
        return None

    @staticmethod
    def _bind_figures(lowered: str, mentions: list[tuple[int, int, TableRow]]) -> list[tuple[str, TableRow, int]]:
        """(figure, row, position) for the figures the claim attributes to a named row: a
        figure followed by "for <name>" belongs to that name ("0.612 for BM25"); otherwise to
        the closest name before it in the same clause ("BM25 reaches 0.612"), unless that name
        owns a figure written before it ("8.2% in HEK293T down to 4.4% in T cells": the claim
        names its rows after their figures, and 4.4 belongs to a name it did not match)."""
        bound: list[tuple[str, TableRow, int]] = []
        trailing: set[int] = set()  # starts of names that own a figure written before them
        for match in _NUMBER_SPAN_RE.finditer(lowered):
            number = normalise_number(match.group(1))
            after = lowered[match.end() : match.end() + 40]
            forward = _FOR_NAME_RE.match(after)
            owner = None
            if forward is not None:
                start = match.end() + forward.end()
                owner = next((row for s, _, row in mentions if s == start), None)
                if owner is not None:
                    trailing.add(start)
            if owner is None:
                before = [(s, e, row) for s, e, row in mentions if e <= match.start()]
                if before and before[-1][0] not in trailing:
                    between = lowered[before[-1][1] : match.start()]
                    if not _CLAUSE_BREAK_RE.search(between) and len(between) <= BIND_CHARS:
                        owner = before[-1][2]
            if owner is not None:
                bound.append((number, owner, match.start()))
        return bound

    def _superlative_conflict(self, text: str, mentions: list[tuple[int, int, TableRow]]) -> str | None:
        """A superlative said of a row ("Ripple tops ... at 94.6", "cheapest", "the winner is
        X") that is neither the largest nor the smallest of its table in the column the claim
        gives its figure in (else the columns the question or claim names, else any column)."""
        lowered = _name_text(text)
        bound = self._bind_figures(lowered, mentions)
        for start, end, word in superlatives(lowered):
            row = self._crowned(lowered, start, end, mentions)
            if row is None:
                continue
            peers = [r for r in self.rows if r.table == row.table]
            if len(peers) < 3:
                continue
            group = self.members.get(id(row), [row])
            numeric = [key for key, _ in row.cells if row.value_of(key) is not None]
            stated = [c for n, r, _ in bound if r is row for m in group if (c := column_of(m, n)) is not None]
            columns = stated or [c for c in columns_asked(f"{text}\n{self.asked}", row) if c in numeric] or numeric
            labels = {m.label for m in group}
            if (
                leads_on(row, peers, columns, labels=labels)
                or any(self._leads_filtered(text, m, peers, numeric) for m in group)
                or any(leads_within_field(m, peers, c, None, self.asked, labels) for c in columns for m in group)
            ):
                continue
            column = next(
                (
                    c
                    for c in columns
                    if row.value_of(c) is not None and sum(r.value_of(c) is not None for r in peers) >= 3
                ),
                None,
            )
            if column is None:
                continue
            ranked = sorted((r for r in peers if r.value_of(column) is not None), key=lambda r: r.value_of(column))
            self.superlative_misses += 1
            return (
                f'calls {row.label} "{word}", but among the {len(peers)} rows of its table it leads on no column '
                f"it is compared on: on {column} it has {row.value_of(column):g}, between {ranked[0].label} "
                f"({ranked[0].value_of(column):g}) and {ranked[-1].label} ({ranked[-1].value_of(column):g})"
            )
        return None

    @staticmethod
    def _crowned(lowered: str, start: int, end: int, mentions: list[tuple[int, int, TableRow]]) -> TableRow | None:
        """The row a superlative is said of: the closest name in its clause, before or after."""
        best: tuple[int, TableRow] | None = None
        for s, e, row in mentions:
            if e <= start:
                gap, between, reach = start - e, lowered[e:start], 60
            elif s >= end:
                gap, between, reach = s - end, lowered[end:s], 25
            else:
                continue
            clause_break = re.search(r"\b(?:while|whereas|but|however|although)\b|;", between)
            if gap <= reach and not clause_break and (best is None or gap < best[0]):
                best = (gap, row)
        return best[1] if best else None

    def _leads_filtered(self, text: str, row: TableRow, peers: list[TableRow], columns: list[str]) -> bool:
        """ "The best system under 10M parameters": when the question or claim sets a bound,
        leading among the rows on one side of another column counts."""
        filtered = bool(extract_numbers(self.asked)) or bool(
            [n for n in extract_numbers(text) if n not in row.numbers() and not is_trivial_number(n)]
        )
        if not filtered:
            return False
        for column in columns:
            values = [(v, r) for r in peers if (v := r.value_of(column)) is not None]
            mine = row.value_of(column)
            for other in columns:
                if other == column or (pivot := row.value_of(other)) is None:
                    continue
                for side in (1, -1):
                    subset = [
                        v for v, r in values if (ov := r.value_of(other)) is not None and side * (ov - pivot) <= 0
                    ]
                    if len(subset) >= 2 and mine in (max(subset), min(subset)):
                        return True
        return False

    # --- criteria ---

    @property
    def checked(self) -> list[Claim]:
        return [c for c in self.claims if c.status != ABSTENTION]

    def key_claims(self) -> list[Claim]:
        """The claims that answer the question: the ones closest to it in meaning."""
        if not self.claims:
            return []
        closeness = np.maximum(self.claim_vecs @ self.q_vec, self.claim_vecs @ self.rq_vec)
        top = float(closeness.max())
        keep = max(2, len(self.claims) // 3)
        ranked = [int(i) for i in np.argsort(-closeness)[:keep] if closeness[int(i)] >= top - 0.15]
        return [self.claims[i] for i in sorted(ranked)]

    def topicality(self) -> float:
        """Cosine of the answer to the question; a list answer embeds poorly as a whole, so
        its two closest claims speak for it when they are closer."""
        topical = max(float(self.a_vec @ self.q_vec), float(self.a_vec @ self.rq_vec))
        if len(self.claim_vecs):
            closest = np.sort(np.maximum(self.claim_vecs @ self.q_vec, self.claim_vecs @ self.rq_vec))[::-1]
            topical = max(topical, float(closest[:2].mean()))
        return topical

    def question_overlap(self) -> float:
        """Share of the question's content words (stemmed) that the answer uses."""
        question_words = {stem(w) for w in content_words(self.question)}
        answer_words = {stem(w) for w in content_words(self.answer)}
        return len(question_words & answer_words) / len(question_words) if question_words else 1.0

    @cached_property
    def right(self) -> tuple[float, dict[str, float]]:
        """The learned combiner's probability that the answer is right, and what each
        feature contributed to it (``judging.combiner``)."""
        from judging.combiner import probability_right  # it reads this class's measurements

        return probability_right(self)

    def strongest_evidence_against(self, claims: Sequence[Claim]) -> str | None:
        """The one finding that speaks most against the answer, citing its evidence: a
        contradicted claim and what it contradicts, an invented figure or name with the
        closest context sentence, an unsupported claim, or else the claim the context
        supports least."""
        checked = [c for c in claims if c.status != ABSTENTION]
        if not checked:
            return None
        if contradicted := [c for c in checked if c.status == CONTRADICTED]:
            return f'"{_short(contradicted[0].text)}" {contradicted[0].why}.'
        unsupported = sorted(
            (c for c in checked if c.status == UNSUPPORTED),
            key=lambda c: (not c.specific, -len(c.lacking), c.support, c.text),
        )
        if unsupported:
            claim = unsupported[0]
            if claim.lacking:
                return (
                    f'"{_short(claim.text)}" states {_fmt_list(claim.lacking)}, which the context does not contain '
                    f'(closest: "{_short(claim.reference)}").'
                )
            return f'"{_short(claim.text)}" is not in the context (closest: "{_short(claim.reference)}").'
        weakest = min(checked, key=lambda c: (c.support, c.text))
        return (
            f'The context does not support "{_short(weakest.text)}" closely '
            f'(closest: "{_short(weakest.reference)}", similarity {weakest.support:.2f}).'
        )

    def relevance(self) -> Measure:
        topical = self.topicality()
        overlap = self.question_overlap()
        on_topic = 0.85 * _ramp(topical, 0.05, 0.3) + 0.15 * _ramp(overlap, 0.0, 0.5)
        p_right, _ = self.right
        # Relevance asks for a correct answer to this question: on topic, and right.
        score = min(on_topic, p_right)
        flaws: list[str] = []
        strengths = [f"It addresses the question (similarity {topical:.2f}, {round(overlap * 100)}% of its key terms)."]
        if topical < 0.25:
            flaws.append(f"It is about a different subject than the question (similarity {topical:.2f}).")
        checked = self.checked
        contradicted = [c for c in checked if c.status == CONTRADICTED]
        key_contradicted = [c for c in self.key_claims() if c.status == CONTRADICTED]
        if contradicted:
            score = min(score, RELEVANCE_CONTRADICTED)
            first = (key_contradicted or contradicted)[0]
            flaws.append(f'It answers wrongly: "{_short(first.text)}" {first.why}.')
        elif checked and p_right < on_topic:
            evidence_against = self.strongest_evidence_against(self.key_claims() or checked)
            if evidence_against:
                flaws.append(f"The evidence puts the chance that it is right at {p_right:.0%}: {evidence_against}")
        abstentions = [c for c in self.claims if c.status == ABSTENTION]
        if abstentions and not [c for c in checked if c.status == SUPPORTED]:
            score = min(score, 0.78)
            flaws.append(f'It says the context does not answer the question: "{_short(abstentions[0].text)}"')
        if not self.claims:
            score = min(score, 0.3)
            flaws.append("It makes no claim that answers the question.")
        if score < 0.8 and not flaws:
            # Below the top band with nothing else wrong: say what kept it there.
            flaws.append(
                f"It is only loosely tied to the question (similarity {topical:.2f}, "
                f"{round(overlap * 100)}% of its key terms)."
            )
        evidence = {
            "similarity_to_question": round(topical, 3),
            "question_term_overlap": round(overlap, 3),
            "probability_right": round(p_right, 3),
            "key_claims": len(self.key_claims()),
            "contradicted_claims": len(contradicted),
        }
        return Measure(score, flaws, strengths, evidence)

    def faithfulness(self) -> Measure:
        checked = self.checked
        n = len(checked)
        abstained = len(self.claims) - n
        if not n:
            if abstained:
                # Saying what the context lacks is not unfaithful.
                return Measure(
                    0.9, [], ["It asserts nothing the context could contradict; it says what the context lacks."], {}
                )
            return Measure(0.2, ["The answer makes no checkable claim."], [], {"claims": 0})
        counts = Counter(c.status for c in checked)
        p_right, contributions = self.right
        score = p_right
        specific = [c for c in checked if c.status == UNSUPPORTED and c.specific]
        general = [c for c in checked if c.status == UNSUPPORTED and not c.specific]
        contradicted = [c for c in checked if c.status == CONTRADICTED]
        # A claim that restates a sentence with one of its figures replaced by another.
        altered = [
            c
            for c in specific
            if c.absent_numbers
            and c.support >= RESTATED_COSINE
            and set(extract_numbers(c.reference)) - set(extract_numbers(c.text))
        ]
        if contradicted or altered:
            # A claim that says the opposite of the context: not every claim is supported.
            score = min(score, FAITHFUL_CONTRADICTED)
        elif specific:
            score = min(score, FAITHFUL_SPECIFIC)
        flaws: list[str] = [f"The evidence puts the chance that the answer is right at {p_right:.0%}."]
        # Vocabulary the context lacks: another field's language or parts it does not have.
        if self.novelty > NOVELTY_FREE:
            example = max(checked, key=lambda c: (len(c.unfamiliar), c.novelty))
            flaws.append(
                f"{round(self.novelty * 100)}% of its words are not in the context and not everyday English, "
                f'e.g. {_fmt_list(example.unfamiliar)} in "{_short(example.text)}" '
                f'(closest: "{_short(example.reference)}").'
            )
        for claim in contradicted[:2]:
            flaws.append(f'"{_short(claim.text)}" {claim.why}.')
        for claim in specific[:2]:
            missing = _fmt_list(claim.absent_numbers + claim.absent_names)
            flaws.append(
                f'"{_short(claim.text)}" states {missing}, which the context does not contain '
                f'(closest: "{_short(claim.reference)}").'
            )
        if general:
            flaws.append(
                f'{len(general)} claim(s) are not in the context, e.g. "{_short(general[0].text)}" '
                f'(closest: "{_short(general[0].reference)}").'
            )
        if len(flaws) == 1:
            flaws.append(self.strongest_evidence_against(checked) or "")
        supported = counts[SUPPORTED]
        best = max((c for c in checked if c.status == SUPPORTED), key=lambda c: c.support, default=None)
        strengths = [f"{supported} of {n} claims are supported by the context"]
        if best is not None:
            strengths[0] += f', e.g. "{_short(best.text, 70)}" restates "{_short(best.reference, 70)}"'
        strengths[0] += "."
        evidence = {
            "claims": n,
            "supported_claims": supported,
            "unsupported_claims": counts[UNSUPPORTED],
            "unsupported_specific_claims": len(specific),
            "contradicted_claims": len(contradicted),
            "abstentions": abstained,
            "absent_numbers": sorted({x for c in checked for x in c.absent_numbers}),
            "absent_entities": sorted({x for c in checked for x in c.absent_names}),
            "contradictions": [c.why for c in contradicted],
            "novelty": round(self.novelty, 3),
            "probability_right": round(p_right, 3),
            "feature_contributions": {k: round(v, 3) for k, v in contributions.items()},
        }
        return Measure(score, flaws, strengths, evidence)

    def completeness(self) -> Measure:
        if not len(self.unit_vecs):
            return Measure(0.5, ["No context was retrieved, so coverage cannot be measured."], [], {})
        # A follow-up's own words carry its focus; the resolved question its subject. The
        # question's words that few passages share ("learning rate" among passages that
        # all name the method) single out the passages that answer it.
        relevance_to_question = (
            0.6 * (self.unit_vecs @ self.q_vec)
            + 0.4 * (self.unit_vecs @ self.rq_vec)
            + COMPLETENESS_LEXICAL * self._question_focus()
        )
        top = float(relevance_to_question.max())
        key = [i for i, value in enumerate(relevance_to_question) if value >= max(0.2, top - COMPLETENESS_WINDOW)]
        if not key:
            return Measure(0.3, ["None of the retrieved context is relevant to the question."], [], {})
        # A table without the columns the question asks about ("Dev F1") is not needed when
        # another table has them, though it names the same rows.
        asked = self._asked_stems()
        tables_with_asked = {
            self.unit_rows[i].table
            for i in key
            if self.unit_rows[i] is not None and self._asked_columns(self.unit_rows[i], asked)
        }
        if tables_with_asked:
            key = [i for i in key if self.unit_rows[i] is None or self.unit_rows[i].table in tables_with_asked]
        covered_by = self.sent_unit[:, key].max(axis=0) if len(self.sent_vecs) else np.zeros(len(key))
        answer_stems = {stem(w) for w in content_words(self.answer)}
        answer_numbers = set(extract_numbers(self.answer))
        # The rows of a table answer a question together ("which method trains fastest"):
        # the answer covers the table when it names one of its rows with that row's figure.
        # A row may be in the context twice (its own passage and its whole table's).
        named_labels = {row.label for _, _, row in self._rows_named(_name_text(self.answer))}
        named_rows = {id(row): row for row in self.rows if row.label in named_labels}
        stated_tables = {row.table for row in named_rows.values() if answer_numbers & set(row.numbers())}
        coverage_each = []
        for i, cosine in zip(key, covered_by, strict=True):
            if (row := self.unit_rows[i]) is not None and row.table in stated_tables:
                coverage_each.append(1.0)
                continue
            # Table rows and terse passages match poorly by embedding; shared words count too.
            stems = {stem(w) for w in content_words(self.units[i])}
            lexical = len(stems & answer_stems) / len(stems) if stems else 0.0
            coverage_each.append(max(_ramp(float(cosine), 0.45, 0.8), _ramp(lexical, 0.3, 0.8)))
        # The closest passages weigh most: a question on one detail needs that detail, not
        # everything else the retriever brought about the same subject.
        weights = [float(np.exp((relevance_to_question[i] - top) / COMPLETENESS_FOCUS)) for i in key]
        coverage = sum(c * w for c, w in zip(coverage_each, weights, strict=True)) / sum(weights)
        covered = sum(c >= 0.5 for c in coverage_each)
        # Key facts: the question needs the figures of a passage that answers it; several may
        # (two tables, a table and a sentence), and an answer drawn from any one of them is
        # complete. A prose passage's source is its figures; a table's, the figures of the
        # rows the answer names (else its most relevant row) in the columns the question asks
        # about, when some table has such columns.
        stated_in_question = set(extract_numbers(self.asked))
        sources: list[tuple[float, set[str]]] = []
        seen_tables: set[str] = set()
        for i in sorted(key, key=lambda i: -float(relevance_to_question[i])):
            row = self.unit_rows[i]
            if row is None:
                figures = set(extract_numbers(self.units[i]))
            elif row.table in seen_tables:
                continue
            else:
                seen_tables.add(row.table)
                rows = [r for r in named_rows.values() if r.table == row.table] or [row]
                figures = {n for r in rows for n in self._asked_figures(r, asked)}
            figures = {n for n in figures if not is_trivial_number(n)} - stated_in_question
            if figures:
                sources.append((float(relevance_to_question[i]), figures))
        # A lookup: the answer gives a row's figure in a column the question names.
        for table in stated_tables - seen_tables:
            rows = [r for r in named_rows.values() if r.table == table]
            figures = {n for r in rows for v in self._asked_columns(r, asked) for n in extract_numbers(v)}
            if figures & answer_numbers:
                sources.append((top, figures - stated_in_question))
        best_source: set[str] = set()
        fact_share = coverage
        if sources:
            near = top - COMPLETENESS_CLOSE
            ranked = [
                (len(figures & answer_numbers) / len(figures) * (1.0 if rel >= near else 0.7), figures)
                for rel, figures in sources
            ]
            fact_share, best_source = max(ranked, key=lambda pair: pair[0])
            if fact_share == 0:
                best_source = sources[0][1]  # nothing drawn on: the closest passage's figures are missing
        key_facts = best_source
        mentioned = key_facts & answer_numbers
        score = 0.6 * _ramp(coverage, 0.1, 0.9) + 0.4 * _ramp(fact_share, 0.1, 0.85)
        abstained = any(c.status == ABSTENTION for c in self.claims)
        if abstained and not any(c.status == SUPPORTED for c in self.claims):
            score = max(score, 0.6)
        flaws: list[str] = []
        strengths = [
            f"It covers {covered} of the {len(key)} context passages relevant to the question"
            + (f" and {len(mentioned)} of the {len(key_facts)} key figures it draws on." if key_facts else ".")
        ]
        missing = sorted(key_facts - mentioned)
        if missing and fact_share < 0.85:
            flaws.append(f"It leaves out {_fmt_list(missing)}.")
        if coverage < 0.9:
            flaws.append(
                f"It misses part of the context relevant to the question: it covers {covered} of {len(key)} passages."
            )
        cut_off = bool(self.answer.strip()) and not re.search(r"[.!?)\]\"'`*]\s*$", self.answer)
        if cut_off:
            score -= 0.3
            flaws.append("The answer stops mid-sentence.")
        close = [i for i in key if relevance_to_question[i] >= top - COMPLETENESS_CLOSE]
        groups = {self.unit_rows[i].table if self.unit_rows[i] is not None else i for i in close}
        if len(self.claims) <= 1 and len(groups) >= 2 and not abstained and not stated_tables:
            score = min(score, 0.55)
            flaws.append("It makes a single claim where the question needs more.")
        evidence = {
            "relevant_sentences": len(key),
            "covered_sentences": covered,
            "weighted_coverage": round(coverage, 3),
            "key_facts": len(key_facts),
            "key_facts_mentioned": len(mentioned),
            "stops_mid_sentence": cut_off,
        }
        return Measure(score, flaws, strengths, evidence)

    def _question_focus(self) -> np.ndarray:
        """Per context unit, the share of the question's words it holds, each word weighted
        by how few units hold it (inverse document frequency over the context)."""
        unit_stems = [{stem(w) for w in content_words(unit)} for unit in self.units]
        words = [w for w in {stem(w) for w in content_words(self.question)} if any(w in u for u in unit_stems)]
        if not words:
            return np.zeros(len(self.units))
        idf = {w: float(np.log(1 + len(unit_stems) / sum(w in u for u in unit_stems))) for w in words}
        total = sum(idf.values())
        return np.array([sum(idf[w] for w in words if w in u) / total for u in unit_stems])

    def _asked_stems(self) -> set[str]:
        """The words of the question that name what it asks for: its own, or for a follow-up
        that names no table column ("and on the test set?"), the earlier questions' too."""
        own = _column_words(self.question)
        if any(self._asked_columns(row, own) for row in self.rows):
            return own
        return _column_words(self.asked)

    @staticmethod
    def _asked_columns(row: TableRow, asked: set[str]) -> list[str]:
        """The row's values in the columns the question names best: those with the largest
        share of their words in the question ("Dev F1" over "Dev EM" for "the Dev F1")."""
        shares = []
        for key, value in row.cells:
            stems = _column_words(key)
            shares.append((len(stems & asked) / len(stems) if stems else 0.0, value))
        best = max((share for share, _ in shares), default=0.0)
        return [value for share, value in shares if share > 0 and share == best]

    def _asked_figures(self, row: TableRow, asked: set[str]) -> list[str]:
        """The row's figures in the columns the question names (all of them if it names none)."""
        columns = self._asked_columns(row, asked)
        return [n for value in (columns or [v for _, v in row.cells]) for n in extract_numbers(value)]

    def _repetition(self) -> dict[str, Any]:
        normalised = [" ".join(_WORD_RE.findall(s.casefold())) for s in self.answer_sentences]
        counts = Counter(normalised)
        duplicate_sentences = sum(c - 1 for c in counts.values() if c > 1)
        paragraphs = [" ".join(_WORD_RE.findall(p.casefold())) for p in split_paragraphs(self.answer)]
        paragraph_counts = Counter(paragraphs)
        repeated_paragraphs = sum(c - 1 for c in paragraph_counts.values() if c > 1)
        words = _WORD_RE.findall(self.answer.casefold())
        grams = [tuple(words[i : i + 5]) for i in range(max(0, len(words) - 4))]
        gram_counts = Counter(grams)
        repeated_grams = sum(c - 1 for c in gram_counts.values() if c > 1)
        fillers = [m.group(0) for m in _FILLER_RE.finditer(self.answer)]
        return {
            "sentences": len(self.answer_sentences),
            "duplicate_sentences": duplicate_sentences,
            "repeated_paragraphs": repeated_paragraphs,
            "repeated_5gram_share": round(repeated_grams / len(grams), 3) if grams else 0.0,
            "filler_phrases": fillers,
            "words": len(words),
        }

    def clarity(self) -> Measure:
        rep = self._repetition()
        score = 1.0
        flaws: list[str] = []
        if rep["repeated_paragraphs"]:
            score -= min(0.5, 0.25 * rep["repeated_paragraphs"])
            flaws.append(f"{rep['repeated_paragraphs']} paragraph(s) are repeated verbatim.")
        elif rep["duplicate_sentences"]:
            score -= min(0.4, 0.15 * rep["duplicate_sentences"])
            flaws.append(f"{rep['duplicate_sentences']} sentence(s) are repeated.")
        if len(rep["filler_phrases"]) >= 2:
            score -= min(0.3, 0.1 * len(rep["filler_phrases"]))
            flaws.append(f'It leans on stock phrases such as "{rep["filler_phrases"][0]}".')
        lengths = [len(s.split()) for s in self.answer_sentences] or [0]
        mean_length = sum(lengths) / len(lengths)
        if mean_length > 40:
            score -= 0.2
            flaws.append(f"Sentences average {mean_length:.0f} words, which is hard to follow.")
        if max(lengths) > 70:
            score -= 0.1
            flaws.append(f"One sentence runs to {max(lengths)} words.")
        if self.answer.strip() and not re.search(r"[.!?)\]\"'`*]\s*$", self.answer):
            score -= 0.2
            flaws.append("The last sentence is cut off.")
        if not self.answer_sentences:
            score = 0.0
            flaws.append("The answer is empty.")
        strengths = [
            f"{len(self.answer_sentences)} well-formed sentence(s) averaging {mean_length:.0f} words, in a clear order."
        ]
        evidence = {"mean_sentence_words": round(mean_length, 1), **rep}
        return Measure(score, flaws, strengths, evidence)

    def conciseness(self) -> Measure:
        rep = self._repetition()
        n = max(1, rep["sentences"])
        score = 1.0
        flaws: list[str] = []
        if rep["duplicate_sentences"]:
            score -= min(0.6, 0.2 + 0.6 * rep["duplicate_sentences"] / n)
            flaws.append(f"{rep['duplicate_sentences']} of {n} sentences repeat earlier ones.")
        elif rep["repeated_5gram_share"] > 0.15:
            score -= min(0.4, rep["repeated_5gram_share"])
            flaws.append(f"{round(rep['repeated_5gram_share'] * 100)}% of its phrases are repeated.")
        if len(rep["filler_phrases"]) >= 2:
            score -= min(0.4, 0.12 * len(rep["filler_phrases"]))
            flaws.append(f"{len(rep['filler_phrases'])} filler phrases add no information.")
        # Padding: sentences that match neither the question nor the context.
        padding = 0
        if len(self.sent_vecs):
            to_question = self.sent_vecs @ self.rq_vec
            to_context = self.sent_unit.max(axis=1) if self.sent_unit.shape[1] else np.zeros(len(self.sent_vecs))
            padding = int(((to_question < 0.3) & (to_context < 0.4)).sum())
        if padding >= 2 or (padding and n <= 3):
            score -= min(0.4, 0.5 * padding / n)
            flaws.append(f"{padding} of {n} sentences carry no information about the question.")
        strengths = [f"{rep['words']} words in {n} sentence(s), without repetition or padding."]
        evidence = {"padding_sentences": padding, **rep}
        return Measure(score, flaws, strengths, evidence)


def _map_custom_criteria(rubric: RubricSpec, embed: Embed) -> dict[str, str]:
    """Criterion key → the known criterion whose description is closest in meaning."""
    mapping = {c.key: c.key for c in rubric.criteria if c.key in KNOWN_CRITERIA}
    custom = [c for c in rubric.criteria if c.key not in KNOWN_CRITERIA]
    if custom:
        known = list(KNOWN_CRITERIA)
        vectors = _normalised(
            embed([f"{k}: {KNOWN_CRITERIA[k]}" for k in known] + [f"{c.name}: {c.description}" for c in custom])
        )
        similarity = vectors[len(known) :] @ vectors[: len(known)].T
        for criterion, row in zip(custom, similarity, strict=True):
            mapping[criterion.key] = known[int(row.argmax())]
    return mapping


def analyse(
    *, question: str, history: list[tuple[str, str]], context: list[str], answer: str, embed: Embed
) -> _Analysis:
    """Everything the judge measures about one answer (``judging.combiner`` reads its features)."""
    # Citations such as "[PDF: paper.pdf p.3]" point at the context; they are not claims.
    answer = strip_citations(answer).replace("\u2212", "-")  # a typographic minus is a minus
    return _Analysis(question=question, history=history, context=context, answer=answer, embed=embed)


def offline_judge(
    *,
    rubric: RubricSpec,
    question: str,
    history: list[tuple[str, str]],
    context: list[str],
    answer: str,
    embed: Embed,
) -> OfflineVerdict:
    """Rate ``answer`` on every criterion of ``rubric`` from measured evidence."""
    analysis = analyse(question=question, history=history, context=context, answer=answer, embed=embed)
    return verdict_of(analysis=analysis, rubric=rubric, embed=embed)


def verdict_of(*, analysis: _Analysis, rubric: RubricSpec, embed: Embed) -> OfflineVerdict:
    """The ratings, rationales and evidence for an analysed answer."""
    measures = {
        "relevance": analysis.relevance(),
        "faithfulness": analysis.faithfulness(),
        "completeness": analysis.completeness(),
        "clarity": analysis.clarity(),
        "conciseness": analysis.conciseness(),
    }
    mapping = _map_custom_criteria(rubric, embed)
    best_label = rubric.levels_best_first()[0].label
    ratings: dict[str, tuple[str, str]] = {}
    evidence: dict[str, Any] = {
        "injection": analysis.injection,
        "claims": [
            {
                "claim": c.text,
                "status": c.status,
                "support": round(c.support, 3),
                "kind": c.kind,
                "novelty": round(c.novelty, 3),
            }
            for c in analysis.claims
        ],
    }
    for criterion in rubric.criteria:
        measured_as = mapping[criterion.key]
        measure = measures[measured_as]
        score = _clip(measure.score)
        label = score_to_label(score=score, rubric=rubric)
        rationale = measure.rationale(best=label == best_label)
        if analysis.injection:
            # An answer that tries to steer its own grade is disqualified on every
            # criterion: the manipulation is itself the defect.
            score = 0.0
            label = score_to_label(score=score, rubric=rubric)
            rationale = (
                f'The answer contains text addressed to the evaluator ("{_short(analysis.injection[0], 120)}"), '
                "an attempt to manipulate the rating; it is ignored and penalised."
            )
        if measured_as != criterion.key:
            rationale = f"Measured as {measured_as}: {rationale}"
        ratings[criterion.key] = (label, rationale)
        evidence[criterion.key] = {
            "score": round(score, 3),
            "measured_as": measured_as,
            "flaws": measure.flaws if label != best_label else [],
            **measure.evidence,
        }
    raw = json.dumps(
        {
            "verdicts": [
                {
                    "criterion": criterion.name,
                    "rating": ratings[criterion.key][0],
                    "rationale": ratings[criterion.key][1],
                }
                for criterion in rubric.criteria
            ]
        },
        ensure_ascii=False,
    )
    return OfflineVerdict(ratings=ratings, evidence=evidence, raw=raw)


__all__ = [
    "KNOWN_CRITERIA",
    "OfflineVerdict",
    "extract_entities",
    "extract_numbers",
    "find_injection",
    "offline_judge",
    "score_to_label",
    "split_sentences",
    "strip_citations",
    "strip_source_tag",
]
