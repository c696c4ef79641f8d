"""The offline provider's generator: extractive answers and heuristic query rewriting.

No network. ``offline_answer`` picks the context sentences closest to the question (local
embeddings plus a keyword-overlap bonus) and cites their source tags; ``offline_rewrite``
turns a follow-up into a standalone query. Both are deterministic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llm.embeddings import Embedder, cosine

NO_ANSWER = "The provided context does not answer this question."

# Calibrated on all-MiniLM-L6-v2: unrelated question/sentence pairs score below ~0.15,
# a sentence that answers the question typically above 0.4.
RELEVANCE_THRESHOLD = 0.3
KEYWORD_WEIGHT = 0.3
RANK_WEIGHT = 0.08
# Share of the similarity that comes from the history-expanded query (follow-ups only).
HISTORY_WEIGHT = 0.3
# A follow-up should not be answered with what the previous answer already said.
REPEAT_OVERLAP = 0.8
REPEAT_PENALTY = 0.15
# Keep only sentences nearly as good as the best one, so answers stay short.
RELATIVE_CUTOFF = 0.75
MIN_SENTENCE_WORDS = 3

_STOPWORDS_TEXT = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during
    each few for from further had has have having he her here hers herself him himself his
    how i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves tell give show explain describe compare
    compared comparison versus vs please much many us one ones use used using per
    reach reaches reached achieve achieves achieved get gets got obtain obtains obtained
    perform performs performed work works make makes made take takes took need needs
    like well better best good new
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

FOLLOWUP_PRONOUNS = frozenset(
    [
        "it",
        "its",
        "it's",
        "they",
        "them",
        "their",
        "theirs",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "his",
        "her",
        "him",
    ]
)
FOLLOWUP_OPENERS = ("and ", "what about", "how about", "also", "then ", "same ", "why ")
REFERENCE_PHRASE = re.compile(
    r"\b(?:the|this|that|these|those)\s+(?:method|model|approach|paper|system|technique|"
    r"result|results|one|ones|same|dataset|table|benchmark|work|authors?)\b",
    re.IGNORECASE,
)

_ABBREVIATIONS = (
    "e.g.",
    "i.e.",
    "et al.",
    "etc.",
    "vs.",
    "fig.",
    "figs.",
    "eq.",
    "sec.",
    "tab.",
    "no.",
    "p.",
    "pp.",
    "cf.",
    "approx.",
    "dr.",
    "mr.",
    "ms.",
)
_SENTENCE_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ROW_LINE = re.compile(r"^\s*(?:Row\s+\d+\s*:\s*)?[^=;\n]{1,80}=[^;\n]*(?:;\s*[^=;\n]{1,80}=[^;\n]*)+;?\s*$")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-+.%]*[A-Za-z0-9%+]|[A-Za-z0-9]")


@dataclass(frozen=True)
class _Candidate:
    text: str
    tag: str
    order: int
    passage_rank: int = 0  # 0 for the first retrieved passage


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _WORD.findall(text)]


def _content_terms(text: str) -> list[str]:
    """Lower-cased non-stopword terms in order of first appearance, without repeats."""
    seen: dict[str, None] = {}
    for token in _tokens(text):
        if token not in STOPWORDS and (len(token) > 1 or token.isdigit()):
            seen.setdefault(token, None)
    return list(seen)


def split_sentences(text: str) -> list[str]:
    """Split passage text into sentences; a spreadsheet row (``A=1; B=2``) stays one sentence."""
    sentences: list[str] = []
    prose: list[str] = []

    def flush() -> None:
        if prose:
            sentences.extend(_split_prose(" ".join(prose)))
            prose.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
        elif _ROW_LINE.match(stripped):
            flush()
            sentences.append(stripped)
        else:
            prose.append(stripped)
    flush()
    return [s for s in sentences if s]


def _split_prose(text: str) -> list[str]:
    text = re.sub(r"\s+", " ", text).strip()
    # Undo PDF hyphenation at line ends ("fine- tuning" → "fine-tuning").
    text = re.sub(r"(\w)- (\w)", r"\1-\2", text)
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_BOUNDARY.finditer(text):
        candidate = text[start : match.start()].rstrip()
        last_word = candidate.rsplit(" ", 1)[-1].lower()
        if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]\.", last_word):
            continue
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def _format_tag(tag: str) -> str:
    """A citation: "[Sheet: f.xlsx/S1] Row 25:" becomes "[Sheet: f.xlsx/S1 Row 25]"."""
    tag = tag.strip()
    if not tag:
        return ""
    row = re.fullmatch(r"\[(.*)\]\s*(Row \d+):?", tag)
    if row:
        return f"[{row.group(1)} {row.group(2)}]"
    return tag if tag.startswith("[") and tag.endswith("]") else f"[{tag}]"


def _with_stop(sentence: str) -> str:
    sentence = sentence.strip()
    return sentence if sentence[-1:] in ".!?" else sentence + "."


def _stem(token: str) -> str:
    """A crude suffix stripper, enough to match "train" with "training" or "models"."""
    for suffix in ("ing", "ed", "es", "s"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)]
    return token


def _keyword_overlap(query_terms: list[str], sentence_stems: set[str]) -> float:
    if not query_terms:
        return 0.0
    return sum(1 for t in query_terms if t in sentence_stems) / len(query_terms)


def offline_answer(
    *,
    question: str,
    history: list[tuple[str, str]],
    passages: list[tuple[str, str]],
    embedder: Embedder,
    max_sentences: int = 3,
) -> str:
    """Answer from the passages alone: the most relevant sentences, each with its source tag.

    ``passages`` are (source_tag, text). Returns ``NO_ANSWER`` when nothing is relevant.
    """
    candidates: list[_Candidate] = []
    seen: set[str] = set()
    for passage_rank, (tag, text) in enumerate(passages):
        for sentence in split_sentences(text):
            key = re.sub(r"\W+", " ", sentence.lower()).strip()
            if len(sentence.split()) < MIN_SENTENCE_WORDS and "=" not in sentence:
                continue
            if key in seen:
                continue
            seen.add(key)
            candidates.append(_Candidate(sentence, _format_tag(tag), len(candidates), passage_rank))
    if not candidates or not question.strip():
        return NO_ANSWER

    # The question with its references resolved ("it" -> "SAT") leads; the full rewrite,
    # which also carries the previous turn's terms, only nudges, so a follow-up is not
    # answered with the previous answer again.
    resolved = offline_rewrite(history=history, question=question, max_terms=0)
    expanded = offline_rewrite(history=history, question=question)
    # Keywords come from the question as asked: the resolved entity is context, not the ask.
    query_terms = [_stem(t) for t in _content_terms(question)]
    already_said = {_stem(t) for t in _tokens(history[-1][1])} if history else set()
    vectors = embedder.embed([resolved, expanded] + [c.text for c in candidates])
    resolved_vector, expanded_vector, sentence_vectors = vectors[0], vectors[1], vectors[2:]

    def score(candidate: _Candidate, vector: list[float]) -> float:
        similarity = (1 - HISTORY_WEIGHT) * cosine(resolved_vector, vector)
        similarity += HISTORY_WEIGHT * cosine(expanded_vector, vector)
        stems = {_stem(t) for t in _tokens(candidate.text)}
        result = similarity + KEYWORD_WEIGHT * _keyword_overlap(query_terms, stems)
        # Retrieval already fused vector, keyword and table evidence: keep a little of its order.
        result += RANK_WEIGHT / (1 + candidate.passage_rank)
        if already_said and stems and len(stems & already_said) / len(stems) >= REPEAT_OVERLAP:
            result -= REPEAT_PENALTY  # the previous answer already said this
        return result

    scored = sorted(
        ((score(c, vector), c.order, c) for c, vector in zip(candidates, sentence_vectors, strict=True)),
        key=lambda item: (-item[0], item[1]),
    )
    best = scored[0][0]
    if best < RELEVANCE_THRESHOLD:
        return NO_ANSWER
    cutoff = max(RELEVANCE_THRESHOLD, best * RELATIVE_CUTOFF)
    chosen = [c for score, _, c in scored if score >= cutoff][: max(1, max_sentences)]

    parts: list[str] = []
    for index, candidate in enumerate(chosen):
        parts.append(_with_stop(candidate.text))
        following = chosen[index + 1].tag if index + 1 < len(chosen) else None
        # Consecutive sentences from the same source share one citation.
        if candidate.tag and candidate.tag != following:
            parts.append(candidate.tag)
    return " ".join(parts)


def _is_followup(question: str) -> bool:
    lowered = question.lower().strip()
    words = set(_tokens(lowered)) | set(re.findall(r"[a-z']+", lowered))
    if words & FOLLOWUP_PRONOUNS:
        return True
    if REFERENCE_PHRASE.search(question):
        return True
    if lowered.startswith(FOLLOWUP_OPENERS):
        return True
    return len(_content_terms(question)) <= 1


def _is_name(raw: str) -> bool:
    return raw[0].isupper() or any(ch.isupper() or ch.isdigit() for ch in raw[1:])


def _salient_terms(text: str) -> list[str]:
    """Names first (acronyms, CamelCase, capitalised or digit-bearing words), then other terms."""
    names: dict[str, None] = {}
    others: dict[str, None] = {}
    for raw in _WORD.findall(text):
        lowered = raw.lower()
        if lowered in STOPWORDS or len(raw) < 2 or re.fullmatch(r"[\d.,%+-]+", raw):
            continue
        (names if _is_name(raw) else others).setdefault(raw, None)
    return list(names) + [t for t in others if t not in names]


def _main_entity(history: list[tuple[str, str]]) -> str | None:
    """The most recent named thing the conversation was about (question first, then answer)."""
    for earlier_question, earlier_answer in reversed(history):
        for text in (earlier_question, earlier_answer):
            for raw in _WORD.findall(text):
                if raw.lower() in STOPWORDS or len(raw) < 2 or re.fullmatch(r"[\d.,%+-]+", raw):
                    continue
                # A word with an inner capital or digit (LoRA, BERT, GPT-3) is a name even
                # at the start of a sentence; a plain capitalised word only mid-sentence.
                if any(ch.isupper() for ch in raw[1:]) or any(ch.isdigit() for ch in raw):
                    return raw
            for match in re.finditer(r"(?<=[a-z,;:] )([A-Z][a-z]+(?: [A-Z][a-z]+)*)", text):
                if match.group(1).lower() not in STOPWORDS:
                    return match.group(1)
    return None


def offline_rewrite(*, history: list[tuple[str, str]], question: str, max_terms: int = 4) -> str:
    """Make a follow-up question standalone using the conversation so far.

    The first pronoun or short reference ("it", "the method") is replaced by the main
    entity of the earlier turns, and up to ``max_terms`` salient terms of the previous
    turn that the question lacks are appended (few, because keyword search ANDs terms).
    Questions that are not follow-ups, or have no history, come back unchanged.
    """
    question = question.strip()
    if not history or not _is_followup(question):
        return question

    # Citation tags in earlier answers ("[PDF: x.pdf p.3]") are not what the turn was about.
    history = [(q, _CITATION.sub(" ", a)) for q, a in history]
    entity = _main_entity(history)
    rewritten = question
    if entity and entity.lower() not in question.lower():
        rewritten = _replace_first_reference(question, entity)

    present = {t.lower() for t in _tokens(rewritten)}
    last_question, last_answer = history[-1]
    question_terms = _salient_terms(last_question)
    answer_terms = _salient_terms(last_answer)
    # The entity, names from the previous question, names from its answer, plain terms.
    ranked = [entity] if entity else []
    ranked += [t for t in question_terms if _is_name(t)]
    ranked += [t for t in answer_terms if _is_name(t)]
    ranked += [t for t in question_terms + answer_terms if not _is_name(t)]
    extra: list[str] = []
    for term in ranked:
        if term.lower() in present:
            continue
        present.add(term.lower())
        extra.append(term)
        if len(extra) >= max_terms:
            break
    return f"{rewritten} {' '.join(extra)}" if extra else rewritten


_CITATION = re.compile(r"\[[^\[\]]{1,200}\]")

# Longer references first so "this method" is replaced whole, not just "this".
_REFERENCE = re.compile(
    REFERENCE_PHRASE.pattern + r"|\b(?:its|it|their|they|them|this|these|those)\b",
    re.IGNORECASE,
)


def _replace_first_reference(question: str, entity: str) -> str:
    match = _REFERENCE.search(question)
    if match is None:
        return question
    word = match.group(0).lower()
    replacement = f"{entity}'s" if word in {"its", "their"} else entity
    return question[: match.start()] + replacement + question[match.end() :]
