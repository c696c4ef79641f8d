"""The offline judge's learned combiner: per-answer features and a logistic model over them.

The offline judge (``judging.offline_judge``) measures each answer claim by claim. This
module turns those measurements into a few interpretable numbers per answer — one named
function each, registered in ``FEATURES`` — and combines them with a regularised logistic
regression fitted on the calibration set's ``tune`` split (``benchmarks/fit_offline_judge.py``,
stored in ``judging/data/offline_judge_model.json``). The model's output is the probability
that the answer is right; at run time it is a dot product, no fitting library is needed.

To add a signal: write a function of the analysis below, register it in ``FEATURES``, refit
(``python benchmarks/fit_offline_judge.py``) and commit the new model file. A test checks
that refitting reproduces the stored model, so a changed feature without a refit fails.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from judging.text import content_words, stem

if TYPE_CHECKING:
    from judging.offline_judge import Claim, _Analysis

MODEL_PATH = Path(__file__).parent / "data" / "offline_judge_model.json"

# Claim statuses, as ``judging.offline_judge`` sets them.
_SUPPORTED, _UNSUPPORTED, _CONTRADICTED, _ABSTENTION = "supported", "unsupported", "contradicted", "abstention"

# Which way each feature's evidence points: the fit keeps every coefficient on its side, so
# that, say, more unsupported claims can never make an answer more likely to be right.
FOR, AGAINST, EITHER = 1, -1, 0


@dataclass(frozen=True)
class Feature:
    measure: Callable[[_Analysis], float]
    direction: int  # FOR, AGAINST or EITHER
    doc: str


FEATURES: dict[str, Feature] = {}  # name → feature, in the order they are defined


def feature(direction: int) -> Callable[[Callable[[_Analysis], float]], Callable[[_Analysis], float]]:
    """Register a function of the analysis as a feature whose evidence points ``direction``."""

    def register(measure: Callable[[_Analysis], float]) -> Callable[[_Analysis], float]:
        FEATURES[measure.__name__] = Feature(measure, direction, " ".join((measure.__doc__ or "").split()))
        return measure

    return register


def _checked(a: _Analysis) -> list[Claim]:
    return [c for c in a.claims if c.status != _ABSTENTION]


def _share(a: _Analysis, keep: Callable[[Claim], bool]) -> float:
    checked = _checked(a)
    return sum(1 for c in checked if keep(c)) / len(checked) if checked else 0.0


def _supports(a: _Analysis) -> np.ndarray:
    return np.array([c.support for c in _checked(a)], dtype=np.float64)


# --- claim statuses ---


@feature(AGAINST)
def share_contradicted(a: _Analysis) -> float:
    """Share of checked claims that contradict the context (an inversion, a row's value
    given to another row, a wrong figure or superlative)."""
    return _share(a, lambda c: c.status == _CONTRADICTED)


@feature(AGAINST)
def share_unsupported(a: _Analysis) -> float:
    """Share of checked claims nothing in the context says."""
    return _share(a, lambda c: c.status == _UNSUPPORTED)


@feature(AGAINST)
def share_unsupported_specific(a: _Analysis) -> float:
    """Share of checked claims that are unsupported and state a figure or name the context lacks."""
    return _share(a, lambda c: c.status == _UNSUPPORTED and c.specific)


# --- what the claims bring in that the context lacks ---


@feature(AGAINST)
def absent_numbers(a: _Analysis) -> float:
    """log(1 + figures the claims state that the context neither holds nor yields)."""
    return math.log1p(len({n for c in _checked(a) for n in c.absent_numbers}))


@feature(AGAINST)
def absent_names(a: _Analysis) -> float:
    """log(1 + names the claims state that the context lacks)."""
    return math.log1p(len({n for c in _checked(a) for n in c.absent_names}))


@feature(AGAINST)
def absent_terms_per_claim(a: _Analysis) -> float:
    """Rare words (terms of art) the context lacks, per checked claim."""
    checked = _checked(a)
    return sum(len(c.absent_terms) for c in checked) / len(checked) if checked else 0.0


@feature(AGAINST)
def novelty(a: _Analysis) -> float:
    """Share of the answer's words (four letters or more) that are neither everyday English nor
    in the context in any inflection: another field's vocabulary, invented parts."""
    return a.novelty


# --- how closely the claims restate the context ---


@feature(FOR)
def support_min(a: _Analysis) -> float:
    """The weakest claim's cosine to its closest context sentence."""
    values = _supports(a)
    return float(values.min()) if len(values) else 0.0


@feature(FOR)
def support_mean(a: _Analysis) -> float:
    """Mean cosine of each claim to its closest context sentence."""
    values = _supports(a)
    return float(values.mean()) if len(values) else 0.0


@feature(FOR)
def lexical_coverage(a: _Analysis) -> float:
    """Share of the answer's content words (stemmed) that the question, context or history hold."""
    words = {stem(w) for w in content_words(a.answer)}
    reference = {stem(w) for w in content_words(a.reference_text)}
    return len(words & reference) / len(words) if words else 0.0


@feature(AGAINST)
def key_share_flawed(a: _Analysis) -> float:
    """Share of the key claims that are unsupported or contradicted."""
    key = [c for c in a.key_claims() if c.status != _ABSTENTION]
    return sum(c.status in (_UNSUPPORTED, _CONTRADICTED) for c in key) / len(key) if key else 0.0


# --- topic ---


@feature(FOR)
def question_similarity(a: _Analysis) -> float:
    """Cosine of the answer (or its two closest claims) to the question."""
    return a.topicality()


@feature(FOR)
def context_similarity(a: _Analysis) -> float:
    """Cosine of the whole answer to its closest context sentence."""
    return float((a.unit_vecs @ a.a_vec).max()) if len(a.unit_vecs) else 0.0


@feature(FOR)
def question_term_overlap(a: _Analysis) -> float:
    """Share of the question's content words that the answer uses."""
    return a.question_overlap()


# --- form ---


@feature(FOR)
def share_abstentions(a: _Analysis) -> float:
    """Share of the claims that say what the context does not hold ("the documents don't say ...")."""
    return sum(c.status == _ABSTENTION for c in a.claims) / len(a.claims) if a.claims else 0.0


@feature(EITHER)
def log_claims(a: _Analysis) -> float:
    """log(1 + checked claims): how much the answer asserts."""
    return math.log1p(len(_checked(a)))


# --- figures against the context's figures of the same thing (judging.figures) ---


def _figure_conflicts(a: _Analysis, *, reversed_: bool) -> int:
    return sum(1 for c in _checked(a) for f in c.figure_conflicts if f.reversed == reversed_)


def _cell_conflicts(a: _Analysis) -> int:
    return sum(len(c.cell_conflicts) for c in _checked(a))


@feature(AGAINST)
def figure_conflicts(a: _Analysis) -> float:
    """log(1 + the claims' figures that differ from the context's figure of the same thing:
    "an average of 91.4" where the context's average is 91.9, "14.2 MB" where it says "14.2 GB",
    a row's figure under a named column that its cell contradicts, "RTE: 85.2 for SAT" where
    SAT's RTE is 86.2, judging.cells)."""
    return math.log1p(_figure_conflicts(a, reversed_=False) + _cell_conflicts(a))


@feature(AGAINST)
def figure_reversals(a: _Analysis) -> float:
    """log(1 + the claims' figures stated with the opposite direction word: "14-fold higher"
    where the context says "14-fold lower")."""
    return math.log1p(_figure_conflicts(a, reversed_=True))


@feature(FOR)
def figure_agreement(a: _Analysis) -> float:
    """(figures an aligned context figure confirms − figures that differ) / both: +1 when every
    figure that can be checked agrees, −1 when none does, 0 with nothing to check."""
    confirmed = sum(c.figures_confirmed for c in _checked(a))
    differing = sum(len(c.figure_conflicts) for c in _checked(a)) + _cell_conflicts(a)
    return (confirmed - differing) / (confirmed + differing) if confirmed + differing else 0.0


@feature(AGAINST)
def comparison_conflicts(a: _Analysis) -> float:
    """log(1 + superlatives and comparatives said of table rows that the rows' figures
    contradict: "the lowest latency" of a row that another beats, "A outperforms B" where B's
    figure is the better one)."""
    return math.log1p(sum(len(c.comparison_conflicts) for c in _checked(a)))


# --- mechanisms against the sentence each claim restates (judging.mechanisms) ---


@feature(AGAINST)
def mechanism_reversals(a: _Analysis) -> float:
    """log(1 + claims that give a thing the opposite effect of the context sentence they are
    aligned to ("lowers the amount released" where it "does not reduce" it, "widen" where it
    says "narrow"), or state what that sentence rules out ("rather than by intercalation"))."""
    return math.log1p(sum(1 for c in _checked(a) if c.mechanism is not None))


def features(analysis: _Analysis, names: list[str] | None = None) -> dict[str, float]:
    """The named features of one analysed answer (all registered ones by default)."""
    return {name: float(FEATURES[name].measure(analysis)) for name in (names or list(FEATURES))}


@dataclass(frozen=True)
class Model:
    """A fitted logistic model: standardised features, coefficients, intercept."""

    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logit(self, values: dict[str, float]) -> float:
        x = np.array([values[name] for name in self.features], dtype=np.float64)
        return float(((x - self.mean) / self.scale) @ self.coef + self.intercept)

    def probability(self, values: dict[str, float]) -> float:
        return 1.0 / (1.0 + math.exp(-self.logit(values)))

    def contributions(self, values: dict[str, float]) -> dict[str, float]:
        """Each feature's share of the logit, relative to an average tune answer."""
        return {
            name: float((values[name] - m) / s * c)
            for name, m, s, c in zip(self.features, self.mean, self.scale, self.coef, strict=True)
        }


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_PATH) -> Model:
    data = json.loads(path.read_text(encoding="utf-8"))
    entries = data["features"]
    unknown = [entry["name"] for entry in entries if entry["name"] not in FEATURES]
    if unknown:
        raise ValueError(f"The stored offline judge model uses unknown features: {', '.join(unknown)}.")
    return Model(
        features=[entry["name"] for entry in entries],
        mean=np.array([entry["mean"] for entry in entries], dtype=np.float64),
        scale=np.array([entry["scale"] for entry in entries], dtype=np.float64),
        coef=np.array([entry["coef"] for entry in entries], dtype=np.float64),
        intercept=float(data["intercept"]),
    )


def probability_right(analysis: _Analysis) -> tuple[float, dict[str, float]]:
    """The stored model's probability that the answer is right, and each feature's contribution."""
    model = load_model()
    values = features(analysis, model.features)
    return model.probability(values), model.contributions(values)
