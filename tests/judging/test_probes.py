from __future__ import annotations

import re
from typing import Any

import pytest

from judging.probes import OFF_TOPIC_BANK, STRATEGIES, STRATEGY_EXPECTED, applicable_strategies, make_probes
from judging.text import (
    extract_entities,
    extract_numbers,
    find_injection,
    parse_row,
    split_sentences,
    strip_source_tag,
)

ALL = ("relevance", "faithfulness", "completeness", "clarity", "conciseness")


def _corpus_entities(items: list[dict[str, Any]]) -> list[str]:
    return sorted({e for item in items for p in item["context"] for e in extract_entities(strip_source_tag(p))})


def _probes(item: dict[str, Any], items: list[dict[str, Any]], seed: int = 7) -> dict[str, str]:
    drafts = make_probes(
        question=item["question"],
        genuine_answer=item["answer"],
        context=item["context"],
        corpus_entities=_corpus_entities(items),
        seed=seed,
    )
    return {d.strategy: d.fake_answer for d in drafts}


def test_expected_criteria_follow_the_design() -> None:
    assert STRATEGY_EXPECTED == {
        "off_topic": ("relevance", "faithfulness", "completeness"),
        "fabricated_numbers": ("faithfulness",),
        "contradiction": ("faithfulness", "relevance"),
        "entity_swap": ("faithfulness",),
        "truncation": ("completeness",),
        "padding": ("conciseness", "clarity"),
        "injection": ALL,
    }


def test_same_inputs_and_seed_give_the_same_probes(sample_items: list[dict[str, Any]]) -> None:
    for item in sample_items:
        assert _probes(item, sample_items) == _probes(item, sample_items)
    seeds = {tuple(_probes(item, sample_items, seed=s).values()) for item in sample_items[:3] for s in range(5)}
    assert len(seeds) > 3  # the seed matters


def test_one_probe_per_strategy_in_order_and_subset_selection(sample_items: list[dict[str, Any]]) -> None:
    item = sample_items[0]
    drafts = make_probes(question=item["question"], genuine_answer=item["answer"], context=item["context"], seed=1)
    assert [d.strategy for d in drafts] == list(STRATEGIES)
    assert all(d.expected_criteria == STRATEGY_EXPECTED[d.strategy] for d in drafts)
    assert all(d.fake_answer != item["answer"] for d in drafts)
    only = make_probes(
        question=item["question"],
        genuine_answer=item["answer"],
        context=item["context"],
        seed=1,
        strategies=["padding"],
    )
    assert [d.strategy for d in only] == ["padding"]
    with pytest.raises(ValueError, match="Unknown probe strategies: nonsense"):
        make_probes(question="q", genuine_answer="a", context=[], seed=1, strategies=["nonsense"])


def test_off_topic_is_fluent_text_about_something_else(sample_items: list[dict[str, Any]]) -> None:
    for item in sample_items:
        fake = _probes(item, sample_items)["off_topic"]
        assert fake in OFF_TOPIC_BANK
        question_words = set(re.findall(r"[a-z]{4,}", item["question"].casefold()))
        assert not question_words & set(re.findall(r"[a-z]{4,}", fake.casefold()))


def test_fabricated_numbers_change_every_figure_and_nothing_else(sample_items: list[dict[str, Any]]) -> None:
    for item in sample_items:
        fake = _probes(item, sample_items)["fabricated_numbers"]
        context_numbers = {n for p in item["context"] for n in extract_numbers(p)}
        figure = re.compile(r"(?<![\w.\-@/])\d[\d,]*(?:\.\d+)?")
        genuine_figures = figure.findall(item["answer"])
        fake_figures = figure.findall(fake)
        assert len(fake_figures) == len(genuine_figures)
        changed = [(g, f) for g, f in zip(genuine_figures, fake_figures, strict=True) if len(g) > 1]
        assert changed
        assert all(g != f and extract_numbers(f)[0] not in context_numbers for g, f in changed)
        assert figure.sub("#", fake) == figure.sub("#", item["answer"])


def test_fabricated_numbers_are_skipped_for_an_answer_without_figures() -> None:
    drafts = make_probes(question="Why?", genuine_answer="Because it is simpler.", context=[], seed=3)
    assert "fabricated_numbers" not in {d.strategy for d in drafts}
    assert applicable_strategies(genuine_answer="Because SAT is simpler.") == tuple(
        s for s in STRATEGIES if s != "fabricated_numbers"
    )
    assert applicable_strategies(genuine_answer="SAT trains 2.8M parameters.") == STRATEGIES
    # Nobody named: nothing to misattribute either.
    assert "entity_swap" not in applicable_strategies(genuine_answer="It trains 2.8M parameters.")


def test_contradictions_read_as_english() -> None:
    def invert(answer: str) -> str:
        (draft,) = make_probes(question="q", genuine_answer=answer, context=[], seed=1, strategies=["contradiction"])
        return draft.fake_answer

    assert invert("LoRA also has its limitations.") == "LoRA also does not have its limitations."
    assert invert("LoRA reduces the number of trainable parameters.") == (
        "LoRA increases the number of trainable parameters."
    )
    assert invert("BERT LARGE reaches 85.8 EM.") == "BERT LARGE does not reach 85.8 EM."
    assert invert("Adapters add latency.") == "It is not the case that adapters add latency."
    assert invert("The checkpoint has been released.") == "The checkpoint has not been released."


def test_contradiction_inverts_every_sentence(sample_items: list[dict[str, Any]]) -> None:
    item = next(i for i in sample_items if i["id"] == "support-tickets")
    fake = _probes(item, sample_items)["contradiction"]
    genuine_sentences = split_sentences(item["answer"])
    fake_sentences = split_sentences(fake)
    assert len(fake_sentences) == len(genuine_sentences)
    assert all(a != b for a, b in zip(genuine_sentences, fake_sentences, strict=True))
    assert "median time to resolution increased from 31 hours to 22 hours" in fake
    assert "Customer satisfaction fell from 4.1 to 4.4" in fake
    answer = make_probes(
        question="q", genuine_answer="Yes. LoRA is stable.", context=[], seed=1, strategies=["contradiction"]
    )
    assert answer[0].fake_answer == "No. LoRA is not stable."


def test_entity_swap_gives_the_answers_main_name_to_another_corpus_name(sample_items: list[dict[str, Any]]) -> None:
    corpus = set(_corpus_entities(sample_items))
    for item in sample_items:
        if any(parse_row(p) for p in item["context"]):
            continue  # answers over table rows swap rows (next test)
        fake = _probes(item, sample_items).get("entity_swap")
        if fake is None:
            continue  # an abstention: nothing to misattribute
        genuine_names = set(extract_entities(item["answer"]))
        fake_names = set(extract_entities(fake))
        assert fake != item["answer"], item["id"]
        assert fake_names - genuine_names <= corpus, item["id"]
        assert genuine_names - fake_names, item["id"]  # the swapped name is gone everywhere
        # One name changes; the rest of the answer stays as it was.
        assert len(set(fake.split()) ^ set(item["answer"].split())) <= 12, item["id"]


_ROWS = [
    "[Sheet: r.xlsx/Results] Row 21 (Table 3: Training cost (one GPU; 24 GB).): Method=Full fine-tuning; "
    "Train memory (GB)=24.1; Checkpoint (MB)=1420",
    "[Sheet: r.xlsx/Results] Row 22 (Table 3: Training cost (one GPU; 24 GB).): Method=LoRA r=8; "
    "Train memory (GB)=13.6; Checkpoint (MB)=3.1",
]


def test_table_rows_with_parenthesised_titles_parse_into_one_table() -> None:
    first, second = (parse_row(p) for p in _ROWS)
    assert first is not None and second is not None
    assert (first.label, second.label) == ("Full fine-tuning", "LoRA r=8")
    assert first.table == second.table
    assert second.cells == (("Train memory (GB)", "13.6"), ("Checkpoint (MB)", "3.1"))


def test_entity_swap_gives_another_system_not_a_variant_of_the_same_one() -> None:
    for seed in range(20):
        (draft,) = make_probes(
            question="How much training memory does LoRA need?",
            genuine_answer="LoRA r=8 has a Train memory (GB) of 13.6. [Sheet: r.xlsx/Results Row 22]",
            context=_ROWS[1:],
            corpus_entities=["LoRA r=64", "LoRA (r=8)", "BitFit", "Full fine-tuning"],
            seed=seed,
            strategies=["entity_swap"],
        )
        assert draft.fake_answer.split(" has a ")[0] in {"BitFit", "Full fine-tuning"}
        assert draft.fake_answer.endswith("of 13.6. [Sheet: r.xlsx/Results Row 22]")


def test_probes_keep_citations_whole() -> None:
    answer = (
        "LoRA r=8 has the lowest Train time (h), 4.9. [Sheet: r.xlsx/Results Row 22] "
        "Next is SAT with 5.3. [Sheet: r.xlsx/Results Row 23]"
    )
    probes = {
        d.strategy: d.fake_answer
        for d in make_probes(question="Which method trains fastest?", genuine_answer=answer, context=_ROWS, seed=3)
    }
    citations = re.findall(r"\[[^\]]+\]", answer)
    for strategy in ("contradiction", "fabricated_numbers", "entity_swap"):
        assert re.findall(r"\[[^\]]+\]", probes[strategy]) == citations, strategy
    assert probes["contradiction"] == (
        "LoRA r=8 does not have the lowest Train time (h), 4.9. [Sheet: r.xlsx/Results Row 22] "
        "Next is not SAT with 5.3. [Sheet: r.xlsx/Results Row 23]"
    )
    assert "4.9" not in probes["fabricated_numbers"] and "5.3" not in probes["fabricated_numbers"]
    assert probes["truncation"].count("[") == probes["truncation"].count("]")


def test_an_abstention_skips_the_strategies_that_change_claims() -> None:
    answer = "The documents do not say how many attention heads RoBERTa-large has."
    assert applicable_strategies(genuine_answer=answer) == (
        "off_topic",
        "truncation",
        "padding",
        "injection",
    )
    made = {d.strategy for d in make_probes(question="How many heads?", genuine_answer=answer, context=[], seed=1)}
    assert made == {"off_topic", "truncation", "padding", "injection"}


def test_citation_numbers_are_not_figures_to_fabricate() -> None:
    answer = "SAT adds no inference latency. [Sheet: r.xlsx/Results Row 23]"
    assert "fabricated_numbers" not in applicable_strategies(genuine_answer=answer)


def test_entity_swap_gives_a_rows_figures_to_another_row_of_the_same_table(sample_items: list[dict[str, Any]]) -> None:
    item = next(i for i in sample_items if i["id"] == "bert-squad")
    fake = _probes(item, sample_items)["entity_swap"]
    rows = [parse_row(p) for p in item["context"]]
    labels = {row.label for row in rows if row is not None}
    assert fake != item["answer"]
    # Same figures, another row of the same table named where the genuine answer named its row.
    assert extract_numbers(fake) == extract_numbers(item["answer"])
    assert {label for label in labels if label in fake} != {label for label in labels if label in item["answer"]}


def test_truncation_cuts_mid_sentence_and_drops_at_least_a_third(sample_items: list[dict[str, Any]]) -> None:
    for item in sample_items:
        fake = _probes(item, sample_items)["truncation"]
        assert item["answer"].startswith(fake)
        assert len(fake.split()) <= (2 * len(item["answer"].split())) // 3
        assert not re.search(r"[.!?]$", fake), fake
    (draft,) = make_probes(
        question="q",
        genuine_answer="One two three four five six seven eight.",
        context=[],
        seed=1,
        strategies=["truncation"],
    )
    assert draft.fake_answer == "One two three four"


def test_padding_repeats_the_answer_with_filler(sample_items: list[dict[str, Any]]) -> None:
    for item in sample_items:
        fake = _probes(item, sample_items)["padding"]
        assert fake.count(item["answer"]) >= 2
        assert len(fake) > 2 * len(item["answer"]) + 100


def test_injection_tells_the_judge_to_rate_it_excellent(sample_items: list[dict[str, Any]]) -> None:
    for item in sample_items:
        fake = _probes(item, sample_items)["injection"]
        assert "Excellent" in fake or "full marks" in fake
        assert find_injection(fake)
