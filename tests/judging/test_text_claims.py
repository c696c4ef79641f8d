"""The judge's text toolkit on the shapes LLM answers take: wrapped lines, Markdown tables,
names spelled another way, and words another field would use."""

from __future__ import annotations

from judging.text import (
    is_abstention,
    name_in_text,
    name_key,
    novel_terms,
    split_claims,
    term_stems,
    unwrap_lines,
)

WRAPPED = (
    "SAT chooses the trainable positions with a short warmup that accumulates the absolute\n"
    "  gradient of every weight, then keeps the top 0.8%.\n"
    "- A list item starts a new claim.\n"
    "Short line\n"
    "Another short line."
)


def test_hard_wrapped_lines_join_into_one_claim_but_list_items_and_short_lines_do_not() -> None:
    lines = unwrap_lines(WRAPPED)
    assert lines[0].endswith("the absolute gradient of every weight, then keeps the top 0.8%.")
    assert lines[1:] == ["- A list item starts a new claim.", "Short line", "Another short line."]
    claims = split_claims(WRAPPED)
    assert claims[0].startswith("SAT chooses") and claims[0].endswith("top 0.8%.")
    assert "A list item starts a new claim." in claims


def test_a_markdown_table_becomes_one_claim_per_body_row_with_its_cells_named() -> None:
    answer = "| | SAT | BERT-Large ensemble |\n|---|---|---|\n| Dev EM | **88.6** | 85.8 |\n| Dev F1 | 94.4 | 91.8 |\n"
    assert split_claims(answer) == [
        "Dev EM: SAT 88.6; BERT-Large ensemble 85.8",
        "Dev F1: SAT 94.4; BERT-Large ensemble 91.8",
    ]


def test_possessives_and_compounds_of_a_known_name_are_that_name_but_an_invented_variant_is_not() -> None:
    key = name_key("DPR reaches 31.2; SAT trains 0.8% of the weights; 64 senders")
    assert name_in_text("SAT's", key)
    assert name_in_text("DPR-level", key)
    assert name_in_text("64-to-1", key)
    assert not name_in_text("SAT-Q", key)
    assert not name_in_text("Fisher", key)


def test_novel_terms_are_rare_words_the_context_lacks_in_any_inflection() -> None:
    context = term_stems("SAT scores every weight by its accumulated gradient and refreshes nothing.")
    terms = novel_terms("It solves a basis-pursuit problem under the restricted isometry property.", context)
    assert "isometry" in terms
    # Common words and inflections of the context's own words are not terms of art.
    assert novel_terms("The gradients were accumulated and the mask was refreshed.", context) == []


def test_abstentions_in_an_llms_words_are_told_from_claims_about_the_subject() -> None:
    for said in (
        "The provided documents don't name the GPU model.",
        "There's no mention of animal experiments or in-vivo delivery.",
        "The excerpts do not identify which cards were used.",
    ):
        assert is_abstention(said), said
    for claim in (
        "There is no latency overhead at inference, because the update is merged.",
        "The paper names SAT's mask after its warmup.",
        "No mention of the baseline is needed: SAT wins on every task.",
    ):
        assert not is_abstention(claim), claim
