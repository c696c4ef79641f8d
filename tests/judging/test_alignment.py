"""A claim's relation against the sentence it restates, and the vocabulary it brings in."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from judging.alignment import relation_flip, vocabulary
from judging.offline_judge import CONTRADICTED, _Analysis
from judging.text import term_stems

SENTENCE = "After firing, the glaze layer is fused into the clay body, so the pot needs no second coating."


def test_a_claim_that_turns_the_sentences_opposition_round_reverses_it() -> None:
    flip = relation_flip("The glaze layer stays separate from the clay body after firing.", SENTENCE)
    assert flip == ("separate", "fused")


def test_a_negated_side_or_an_unrelated_sentence_is_no_reversal() -> None:
    # "not separate" restates "fused": the clause-level check weighs negations.
    assert relation_flip("The glaze layer is not separate from the clay body after firing.", SENTENCE) is None
    # Same opposition, but nothing else in common.
    assert relation_flip("Keep the invoices separate from the receipts.", SENTENCE) is None
    # Both sides in the claim: a comparison, not a reversal.
    assert relation_flip("The glaze is fused into the clay body, not kept separate.", SENTENCE) is None


def test_vocabulary_counts_words_neither_everyday_nor_in_the_context() -> None:
    stems = term_stems(SENTENCE)
    words, unfamiliar = vocabulary("The glaze vitrifies through a eutectic flux, fused into the clay body.", stems)
    assert words == 7  # glaze, vitrifies, eutectic, flux, fused, clay, body ("through", "into" are stopwords)
    assert "eutectic" in unfamiliar and "vitrifies" in unfamiliar
    assert not {"glaze", "fused", "clay", "body"} & set(unfamiliar)


def _analysis(answer: str, embed: Callable[[list[str]], np.ndarray]) -> _Analysis:
    return _Analysis(
        question="What happens to the glaze during firing?",
        history=[],
        context=["[Doc: kiln_notes.html] " + SENTENCE + " The kiln peaks at 1,240 degrees for two hours."],
        answer=answer,
        embed=embed,
    )


def test_the_judge_flags_a_reversed_relation_and_keeps_its_words(embed) -> None:
    analysis = _analysis("During firing the glaze layer stays separate from the clay body.", embed)
    claim = analysis.claims[0]
    assert claim.status == CONTRADICTED and claim.kind in {"relation", "polarity"}
    assert "opposite" in claim.why


def test_an_answer_in_another_fields_words_has_a_high_novelty(embed) -> None:
    plain = _analysis("The glaze layer fuses into the clay body while the kiln is at 1,240 degrees.", embed)
    foreign = _analysis(
        "The glaze undergoes eutectic vitrification as alkali fluxes depolymerise the silicate network.", embed
    )
    assert plain.novelty == 0.0
    assert foreign.novelty > 0.3
    assert foreign.claims[0].unfamiliar
