"""The offline provider's generator: extractive answers and heuristic query rewriting.

No network, deterministic. ``offline_answer`` answers first, then supports:
- a lookup or superlative over a table ("which system has the best Dev F1", "what is the
  Test F1 of SAT") is computed from the table rows among the passages and said with the
  numbers and the row they come from;
- a definitional question ("what is X") opens with the sentence that defines X;
- otherwise the sentences closest to the question (local embeddings plus keyword overlap)
  are quoted;
- when no passage covers what the question asks, it says "The documents do not say …".
Every sentence keeps its source tag. A follow-up's "it", "its", "this model" is resolved
from the history first (``offline_rewrite``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.tables import (
    GENERIC_WORDS,
    TableRow,
    cell_number,
    column_match,
    descending,
    markdown_rows,
    row_parse,
    stem,
    superlative,
    words,
)
from llm.embeddings import Embedder, cosine

NO_ANSWER = "The documents do not say."

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
    posed: str = ""  # a question the text asks just before this sentence, which it answers


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
    """Answer from the passages alone; every sentence carries its source tag.

    ``passages`` are (source_tag, text), best first. Returns a "The documents do not
    say …" sentence when no passage supports an answer.
    """
    if not question.strip():
        return NO_ANSWER
    # The question with its references resolved ("its" -> "SAT's") is what is answered.
    resolved = offline_rewrite(history=history, question=question, max_terms=0)
    table = _table_answer(question=resolved, passages=passages)
    if table:
        return table
    candidates = _candidates(passages)
    if not candidates:
        return not_said(resolved)

    # Keywords come from the question as asked: a resolved "it" (the conversation's
    # subject) is in every candidate and would favour sentences that only name it.
    query_terms = [stem(t) for t in _content_terms(question)]
    already_said = {stem(t) for t in _tokens(history[-1][1])} if history else set()
    subject = _definition_subject(resolved)
    posed = sorted({c.posed for c in candidates if c.posed})
    vectors = embedder.embed([resolved] + [c.text for c in candidates] + posed)
    question_vector, sentence_vectors = vectors[0], vectors[1 : 1 + len(candidates)]
    # How close each question the text poses is to the user's question.
    posed_match = {
        text: cosine(question_vector, vector)
        for text, vector in zip(posed, vectors[1 + len(candidates) :], strict=True)
    }

    def score(candidate: _Candidate, vector: list[float]) -> float:
        stems = {stem(t) for t in _tokens(candidate.text)}
        result = cosine(question_vector, vector) + KEYWORD_WEIGHT * _keyword_overlap(query_terms, stems)
        # Retrieval already fused vector, keyword and table evidence: keep a little of its order.
        result += RANK_WEIGHT / (1 + candidate.passage_rank)
        if subject:
            result += DEFINITION_BONUS * _definition_strength(candidate.text, subject)
        if candidate.posed and posed_match[candidate.posed] >= POSED_MATCH:
            result += POSED_BONUS  # the text asks the user's question and answers it here
        if already_said and stems and len(stems & already_said) / len(stems) >= REPEAT_OVERLAP:
            result -= REPEAT_PENALTY  # the previous answer already said this
        return result

    scored = sorted(
        ((score(c, vector), c.order, c) for c, vector in zip(candidates, sentence_vectors, strict=True)),
        key=lambda item: (-item[0], item[1]),
    )
    missing = _missing_names(resolved, passages)
    # What is asked is judged on the question as asked ("does it slow down inference"):
    # the resolved subject's full name ("Sparse Adapter Tuning") is rarely how a passage says it.
    asked = question if _content_terms(question) else resolved
    supported = [item for item in scored if _supports(asked, item[2].text)]
    if missing or not supported or supported[0][0] < RELEVANCE_THRESHOLD:
        return not_said(resolved)
    best = supported[0][0]
    cutoff = max(RELEVANCE_THRESHOLD, best * RELATIVE_CUTOFF)
    first = supported[0][2]
    if subject:
        # "What is X" opens with the sentence that defines X, however short the others are.
        first = next((item[2] for item in supported if _definition_strength(item[2].text, subject) == 1.0), first)
    chosen = [first]
    for value, _, candidate in scored:
        if len(chosen) >= max(1, max_sentences) or value < cutoff:
            break
        if candidate in chosen:
            continue
        if _keyword_overlap(query_terms, {stem(t) for t in _tokens(candidate.text)}) > 0:
            chosen.append(candidate)  # support must share a term with the question, not just its topic
    return _cite(chosen)


def _candidates(passages: list[tuple[str, str]]) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    seen: set[str] = set()
    for passage_rank, (tag, text) in enumerate(passages):
        if markdown_rows(text)[1]:
            continue  # a whole table: its rows are read by the table answer, not quoted
        posed = ""
        for sentence in split_sentences(text):
            key = re.sub(r"\W+", " ", sentence.lower()).strip()
            if len(sentence.split()) < MIN_SENTENCE_WORDS and "=" not in sentence:
                continue
            if sentence.rstrip().endswith("?"):
                # A question in the text ("Where do the selected weights live?") answers
                # nothing itself; the sentence after it is its answer.
                posed = sentence
                continue
            if key in seen:
                continue
            seen.add(key)
            candidates.append(_Candidate(sentence, _format_tag(tag), len(candidates), passage_rank, posed))
            posed = ""
    return candidates


def _cite(chosen: list[_Candidate]) -> str:
    parts: list[str] = []
    for index, candidate in enumerate(chosen):
        parts.append(_with_stop(candidate.text))
        following = chosen[index + 1].tag if index + 1 < len(chosen) else None
        # Consecutive sentences from the same source share one citation.
        if candidate.tag and candidate.tag != following:
            parts.append(candidate.tag)
    return " ".join(parts)


# --- saying that the documents do not answer ------------------------------------------

DEFINITION_BONUS = 0.35
# A question posed by the text this close to the user's marks the next sentence as the answer.
POSED_MATCH = 0.75
POSED_BONUS = 0.3
_ASK = re.compile(
    r"^\s*(?:how many|how much|which|what|whose)\s+(?P<ask>.+?)\s+"
    r"(?:does|do|did|is|are|was|were|can|could|should|would|has|have|had|will)\b",
    re.IGNORECASE,
)
_INVERTED = re.compile(
    r"^\s*(?P<wh>how many|how much|how|what|which|who|when|where|why|whose)(?P<mid>(?:\s+\S+)*?)\s+"
    r"(?P<aux>does|do|did|is|are|was|were|can|could|should|would|has|have|will)\s+(?P<rest>.+?)\s*\??\s*$",
    re.IGNORECASE,
)


def not_said(question: str) -> str:
    """``The documents do not say how many attention heads SAT uses.``"""
    question = " ".join(question.split()).rstrip("?. ")
    match = _INVERTED.match(question)
    if not match:
        return f"The documents do not say: {question}?" if question else NO_ANSWER
    wh, mid, aux, rest = (match.group(name) for name in ("wh", "mid", "aux", "rest"))
    aux_lower = aux.lower()
    if aux_lower in ("does", "do", "did"):
        parts = rest.split()
        # "does SAT use" -> "SAT uses": the verb is the last word before any object.
        if aux_lower == "does" and len(parts) >= 2:
            verb_index = _main_verb_index(parts)
            verb = parts[verb_index]
            suffix = "es" if verb.endswith(("s", "sh", "ch", "x", "o")) else "s"
            parts[verb_index] = _IRREGULAR.get(verb) or verb + suffix
        clause = " ".join(parts)
    else:
        clause = f"{rest} {aux_lower}"
    return f"The documents do not say {wh.lower()}{mid} {clause}."


_IRREGULAR = {"have": "has", "be": "is"}


def _main_verb_index(words: list[str]) -> int:
    # The subject is a name or a short noun phrase; the verb follows it: take the first
    # lower-case word after the first word.
    for index, word in enumerate(words[1:], start=1):
        if word.islower() and word not in ("the", "a", "an", "of"):
            return index
    return len(words) - 1


def _supports(question: str, sentence: str) -> bool:
    """Does the sentence speak of what the question asks for, not merely of its subject?"""
    said = words(sentence, drop_units=False)  # stemmed, with synonyms: "how long" meets "hours"
    match = _ASK.match(question)
    if match:
        asked = [stem(t) for t in _content_terms(match.group("ask"))]
        if asked:
            # The head noun of the asked phrase ("attention heads", "learning rate").
            return bool(words(asked[-1]) & said)
    terms = [words(t) for t in _content_terms(question)]
    if not terms:
        return True
    matched = sum(1 for term in terms if term & said)
    return matched / len(terms) >= SUPPORT_COVERAGE and (matched >= 2 or len(terms) <= 2)


# Share of the question's content terms that the best sentence must contain.
SUPPORT_COVERAGE = 0.34


def _missing_names(question: str, passages: list[tuple[str, str]]) -> list[str]:
    """Names in the question (ImageNet, T5) that no passage mentions: then nothing answers it."""
    text = " ".join(text for _, text in passages).lower()
    names = []
    for index, raw in enumerate(_WORD.findall(question)):
        inner = any(ch.isupper() for ch in raw[1:]) or (
            any(ch.isdigit() for ch in raw) and any(ch.isalpha() for ch in raw)
        )
        if (inner or (index > 0 and raw[0].isupper())) and raw.lower() not in STOPWORDS and raw.lower() not in text:
            names.append(raw)
    return names


# --- definitions ------------------------------------------------------------------------

_DEFINITION_QUESTION = re.compile(
    r"^\s*(?:what|who)\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?(?P<x>[^?]+?)\s*\??\s*$"
    r"|^\s*(?:define|explain|describe)\s+(?:an?\s+|the\s+)?(?P<y>[^?]+?)\s*\??\s*$"
    r"|^\s*what\s+does\s+(?P<z>[^?]+?)\s+(?:mean|stand for|do)\s*\??\s*$",
    re.IGNORECASE,
)


def _definition_subject(question: str) -> str | None:
    match = _DEFINITION_QUESTION.match(question)
    if not match:
        return None
    subject = next(group for group in match.groups() if group)
    # "What is the learning rate of SAT" asks for a value, not a definition.
    return None if re.search(r"\b(?:of|for|in|on|between)\b", subject) else subject


def _definition_strength(sentence: str, subject: str) -> float:
    """1 when the sentence defines ``subject`` ("X is a …", "we introduce X, a …"), 0.5 when
    it says what X does ("X adds low-rank matrices"), else 0."""
    name = re.escape(subject.strip())
    head = sentence[:160]
    at_start = rf"(?:^(?:[A-Z][\w-]*\s+){{0,2}}?|[,;:]\s+(?:and\s+)?){name}(?:\s*\([^)]*\))?\s+"
    defining = (
        at_start + r"(?:(?:is|are)\s+(?:an?|the|one)\b|refers to|means|stands for)",
        rf"\b(?:introduce|introduces|propose|proposes|present|presents)\s+(?:[\w-]+\s+){{0,4}}?"
        rf"(?:{name}|\([^)]*{name}[^)]*\))",
        rf"{name}(?:\s*\([^)]*\))?,\s+(?:an?|the)\s+\w+",
        rf"\(\s*{name}\s*\)(?:,\s+(?:an?|the)\s+|\s+(?:is|are)\s+(?:an?|the)\b)",
    )
    if any(re.search(pattern, head, re.IGNORECASE) for pattern in defining):
        return 1.0
    doing = at_start + r"(?:lets|learns|freezes|adds|inserts|trains|updates|uses|keeps)\b"
    return 0.5 if re.search(doing, head, re.IGNORECASE) else 0.0


# --- tables -------------------------------------------------------------------------------

_UNIT = re.compile(r"\([^)]*\)")
_FILTER = re.compile(
    r"\b(?P<op>fewer than|less than|under|below|more than|over|above|at least|at most)\s+"
    r"(?P<value>\d[\d,.]*)\s*[a-zA-Z%]*\s+(?P<what>[a-z][a-z ]{2,40})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Row:
    table: tuple[str, str]
    cells: dict[str, str]
    tag: str  # the citation
    label: str  # the row's name: its first cell
    group: str = ""


def _table_rows(passages: list[tuple[str, str]]) -> list[_Row]:
    """Every table row among the passages: row chunks and the rows of whole-table chunks."""
    rows: list[_Row] = []
    seen: set[tuple] = set()

    def add(row: _Row) -> None:
        key = (row.table[0], tuple(sorted(row.cells.items())))
        if key not in seen and row.label:
            seen.add(key)
            rows.append(row)

    for tag, text in passages:
        base, number = _tag_parts(tag)
        label, table = markdown_rows(text)
        if table:
            for cells in table:
                row_number = cells.pop("Row", "")
                group = cells.pop("Group", "")
                cite = _format_tag(f"{base} Row {row_number}") if row_number else _format_tag(base)
                add(_Row((base, _table_key(label)), cells, cite, _first_value(cells), group))
            continue
        for line in text.splitlines():
            line_number, line = _strip_row_prefix(line, number)
            parsed: TableRow | None = row_parse(line)
            if parsed is None or len(parsed.cells) < 2:
                continue
            cite = _format_tag(f"{base} Row {line_number}") if line_number else _format_tag(base)
            add(_Row((base, _table_key(parsed.context)), dict(parsed.cells), cite, _first_value(parsed.cells)))
    return rows


def _tag_parts(tag: str) -> tuple[str, str]:
    """("[Sheet: f.xlsx/S]", "25") from "[Sheet: f.xlsx/S] Row 25:"; rows of a table chunk have no number."""
    tag = tag.strip()
    match = re.fullmatch(r"(\[.*\])\s*Rows?\s+([\d-]+):?", tag)
    if match:
        number = match.group(2)
        return match.group(1), "" if "-" in number else number
    return (tag if tag.startswith("[") else f"[{tag}]"), ""


def _strip_row_prefix(line: str, number: str) -> tuple[str, str]:
    match = re.match(r"^\s*Row\s+(\d+)\s*:?\s*", line)
    if match:
        return match.group(1), line[match.end() :]
    return number, line


def _table_key(context: str) -> str:
    # A row's context is its table's label plus ", <group>"; rows of one table share the label.
    return context.rsplit(", ", 1)[0] if ", " in context else context


def _first_value(cells: dict[str, str]) -> str:
    return next(iter(cells.values()), "")


def _table_answer(*, question: str, passages: list[tuple[str, str]]) -> str | None:
    rows = _table_rows(passages)
    if not rows:
        return None
    # A condition ("with fewer than 10M parameters") names the filter's column, not the ranked one.
    q_words = words(_FILTER.sub(" ", question))
    direction = superlative(question)
    tables: dict[tuple[str, str], list[_Row]] = {}
    for row in rows:
        tables.setdefault(row.table, []).append(row)
    best: tuple[float, tuple[str, str], str] | None = None
    for key, table_rows in tables.items():
        column, column_score = column_match(q_words, _numeric_columns(table_rows))
        if column is None:
            continue
        # A table whose label the question names ("on SQuAD") wins over one that only has the column.
        score = column_score + 0.3 * len((words(key[1]) - GENERIC_WORDS) & q_words) + 0.01 * len(table_rows)
        # "Which method …" fits the table whose rows are methods (its first column's name).
        first_column = next(iter(table_rows[0].cells), "")
        score += 0.5 * bool(words(first_column) & q_words)
        if best is None or score > best[0]:
            best = (score, key, column)
    if best is None:
        return None
    _, key, column = best
    table_rows = tables[key]
    named = _named_rows(question, table_rows)
    if direction is not None and not named:
        return _superlative(question, table_rows, column, direction)
    if named:
        return " ".join(_lookup_sentence(row, column) for row in named[:3])
    return None


def _numeric_columns(rows: list[_Row]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows:
        for name, value in list(row.cells.items())[1:]:  # the first column names the row
            if cell_number(value) is not None:
                columns.setdefault(name, None)
    return list(columns)


def _named_rows(question: str, rows: list[_Row]) -> list[_Row]:
    """Rows whose name the question mentions (all of the name's words, ignoring "(ours)")."""
    lowered = question.lower()
    asked = set(_tokens(lowered))
    found: list[tuple[int, _Row]] = []
    for row in rows:
        core = _UNIT.sub(" ", row.label).lower().strip()
        name_words = set(_tokens(core))
        if not name_words:
            continue
        if core in lowered or name_words <= asked:
            found.append((len(core), row))
    if not found:
        return []
    # "SAT" also names "SAT-Lite" only if that is written out; keep the longest matches.
    found.sort(key=lambda item: -item[0])
    kept: list[_Row] = []
    for _, row in found:
        core = _UNIT.sub(" ", row.label).lower().strip()
        if any(core in _UNIT.sub(" ", other.label).lower() for other in kept):
            continue
        kept.append(row)
    return kept


def _lookup_sentence(row: _Row, column: str) -> str:
    value = row.cells.get(column, "")
    if not value or cell_number(value) is None:
        return f"{row.label} has no {column} reported ({value or 'empty'}). {row.tag}"
    return f"{row.label} has a {column} of {value}. {row.tag}"


def _superlative(question: str, rows: list[_Row], column: str, direction: str) -> str | None:
    pool = _filtered(question, rows)
    scored = [(value, row) for row in pool if (value := cell_number(row.cells.get(column, ""))) is not None]
    if not scored:
        return None
    largest = descending(direction, column)
    scored.sort(key=lambda item: -item[0] if largest else item[0])
    top_value = scored[0][0]
    winners = [row for value, row in scored if value == top_value]
    adjective = direction if direction in ("best", "worst") else ("highest" if largest else "lowest")
    value_text = winners[0].cells[column]
    names = " and ".join(row.label for row in winners)
    verb = "share" if len(winners) > 1 else "has"
    tags = " ".join(dict.fromkeys(row.tag for row in winners))
    sentence = f"{names} {verb} the {adjective} {column}, {value_text}. {tags}"
    runner = next(((value, row) for value, row in scored if value != top_value), None)
    if runner is not None:
        sentence += f" Next is {runner[1].label} with {runner[1].cells[column]}. {runner[1].tag}"
    return sentence


def _within(value: float | None, limit: float, below: bool, strict: bool) -> bool:
    if value is None:
        return False
    if below:
        return value < limit if strict else value <= limit
    return value > limit if strict else value >= limit


def _filtered(question: str, rows: list[_Row]) -> list[_Row]:
    """Rows left after the question's conditions: "single" (no ensembles), "fewer than 10M …"."""
    lowered = question.lower()
    pool = rows
    if re.search(r"\b(?:single|non-ensemble)\b", lowered):
        pool = [row for row in pool if "ensemble" not in row.label.lower()]
    for match in _FILTER.finditer(lowered):
        limit = cell_number(match.group("value"))
        what = words(match.group("what"))
        columns = [name for name in (pool[0].cells if pool else {}) if words(name) & what]
        if limit is None or not columns:
            continue
        name, op = columns[0], match.group("op")
        below = op in ("fewer than", "less than", "under", "below", "at most")
        strict = op not in ("at least", "at most")

        pool = [row for row in pool if _within(cell_number(row.cells.get(name, "")), limit, below, strict)]
    return pool


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


_METRIC = re.compile(r"^(?:[A-Za-z]\d|EM|F1|GB|MB|GPU|CPU|ROUGE(?:-L)?|Dev|Test)$")
# "SAT + Full FT (Ensemble) has the best Dev F1, 95.1." -> the subject before the verb.
_ANSWER_SUBJECT = re.compile(r"^(?P<subject>[^.\[\]]{2,80}?)\s+(?:has|have|share|is|are|reaches|reach)\b")


_WHICH = re.compile(r"^\s*(?:which|who|what)\s+(?:system|model|method|variant|one)s?\b", re.IGNORECASE)


def _main_entity(history: list[tuple[str, str]]) -> str | None:
    """The most recent named thing the conversation was about (question first, then answer).

    After "which system …?" the thing is the answer's subject, not a word of the question.
    """
    for earlier_question, earlier_answer in reversed(history):
        if _REFERENCE.search(earlier_question) and _is_followup(earlier_question):
            continue  # that turn was about what came before it ("How does it compare …?")
        if _WHICH.match(earlier_question):
            match = _ANSWER_SUBJECT.match(earlier_answer.strip())
            if match and not match.group("subject").lower().startswith(("the ", "it ", "this ")):
                return match.group("subject").strip()
        for text in (earlier_question, earlier_answer):
            for raw in _WORD.findall(text):
                if raw.lower() in STOPWORDS or len(raw) < 2 or re.fullmatch(r"[\d.,%+-]+", raw) or _METRIC.match(raw):
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
        if len(extra) >= max_terms:
            break
        if term.lower() in present:
            continue
        present.add(term.lower())
        extra.append(term)
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
