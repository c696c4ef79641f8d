"""The offline provider: extractive answers with source tags, and follow-up rewriting."""

from __future__ import annotations

import pytest

from llm.embeddings import LOCAL_MODEL_NAME, Embedder, get_embedder
from llm.offline import NO_ANSWER, offline_answer, offline_rewrite, split_sentences

PASSAGES = [
    (
        "PDF: sat.pdf p.3",
        "We propose SAT, a sparse adapter tuning method for language models. SAT reaches 91.2 accuracy "
        "with 0.4% of the parameters (see Fig. 2). Training takes two hours on a single GPU.",
    ),
    (
        "Sheet: results.xlsx/Sheet1",
        "Row 25: System=BERT LARGE (Ensemble); Dev EM=85.8; Dev F1=91.8\n"
        "Row 26: System=XLNet; Dev EM=89.0; Dev F1=94.5",
    ),
    ("Web: example.org", "Full fine-tuning updates every weight of the network and reaches 91.5 accuracy."),
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder(name=LOCAL_MODEL_NAME)


def test_spreadsheet_rows_stay_whole_and_prose_is_split_at_sentences() -> None:
    sentences = split_sentences(
        "SAT reaches 91.2 accuracy (see Fig. 2). It uses e.g. BERT as\nits backbone.\n"
        "Row 25: System=BERT LARGE (Ensemble); Dev EM=85.8; Dev F1=91.8"
    )

    assert sentences == [
        "SAT reaches 91.2 accuracy (see Fig. 2).",
        "It uses e.g. BERT as its backbone.",
        "Row 25: System=BERT LARGE (Ensemble); Dev EM=85.8; Dev F1=91.8",
    ]


def test_answer_picks_the_sentence_that_answers_and_cites_it(embedder: Embedder) -> None:
    answer = offline_answer(question="What accuracy does SAT reach?", history=[], passages=PASSAGES, embedder=embedder)

    assert answer.startswith("SAT reaches 91.2 accuracy with 0.4% of the parameters")
    assert "[PDF: sat.pdf p.3]" in answer
    assert "Row 25" not in answer


def test_answer_reads_a_spreadsheet_row(embedder: Embedder) -> None:
    answer = offline_answer(
        question="What is the Dev F1 of BERT LARGE (Ensemble)?", history=[], passages=PASSAGES, embedder=embedder
    )

    assert answer == "BERT LARGE (Ensemble) has a Dev F1 of 91.8. [Sheet: results.xlsx/Sheet1 Row 25]"


def test_unrelated_question_is_declined(embedder: Embedder) -> None:
    answer = offline_answer(question="What is the capital of France?", history=[], passages=PASSAGES, embedder=embedder)
    assert answer == "The documents do not say what the capital of France is."


def test_no_passages_means_no_answer(embedder: Embedder) -> None:
    answer = offline_answer(question="What does SAT reach?", history=[], passages=[], embedder=embedder)
    assert answer == "The documents do not say what SAT reaches."
    assert offline_answer(question=" ", history=[], passages=PASSAGES, embedder=embedder) == NO_ANSWER


def test_max_sentences_limits_the_answer(embedder: Embedder) -> None:
    answer = offline_answer(
        question="How does SAT compare to full fine-tuning in accuracy?",
        history=[],
        passages=PASSAGES,
        embedder=embedder,
        max_sentences=1,
    )
    assert answer.count("[") == 1


def test_followup_answer_uses_the_history(embedder: Embedder) -> None:
    history = [("What accuracy does SAT reach?", "SAT reaches 91.2 accuracy. [PDF: sat.pdf p.3]")]

    answer = offline_answer(
        question="How long does it take to train?", history=history, passages=PASSAGES, embedder=embedder
    )

    assert answer.startswith("Training takes two hours on a single GPU.")


def test_answer_is_deterministic(embedder: Embedder) -> None:
    kwargs = {"question": "Which system has the best Dev F1?", "history": [], "passages": PASSAGES}
    assert offline_answer(embedder=embedder, **kwargs) == offline_answer(embedder=embedder, **kwargs)


def test_rewrite_resolves_a_pronoun_with_the_earlier_subject() -> None:
    history = [("What is LoRA?", "LoRA freezes the pretrained weights and trains low-rank matrices.")]

    rewritten = offline_rewrite(history=history, question="How does it compare to full fine-tuning?")

    assert rewritten.startswith("How does LoRA compare to full fine-tuning?")


def test_rewrite_resolves_possessives_and_short_references() -> None:
    history = [("What accuracy does SAT reach on GLUE?", "SAT reaches 91.2 accuracy. [PDF: sat.pdf p.3]")]

    assert offline_rewrite(history=history, question="What about its memory use?").startswith(
        "What about SAT's memory use?"
    )
    assert offline_rewrite(history=history, question="How many parameters does this method train?").startswith(
        "How many parameters does SAT train?"
    )


def test_rewrite_appends_salient_terms_but_not_citation_tags() -> None:
    history = [("What accuracy does SAT reach on GLUE?", "SAT reaches 91.2 accuracy. [PDF: sat.pdf p.3]")]

    rewritten = offline_rewrite(history=history, question="And on SQuAD?")

    assert rewritten.startswith("And on SQuAD?")
    assert "SAT" in rewritten and "GLUE" in rewritten
    assert "PDF" not in rewritten and "p.3" not in rewritten


def test_rewrite_leaves_standalone_questions_alone() -> None:
    history = [("What is LoRA?", "A fine-tuning method.")]
    assert (
        offline_rewrite(history=history, question="What is the capital of France?") == "What is the capital of France?"
    )
    assert offline_rewrite(history=[], question="How does it compare?") == "How does it compare?"


TABLE = [
    (
        "[Sheet: results.xlsx/Results] Row 5",
        "(Table 2: SQuAD results, Baselines): System=Full fine-tuning; Dev EM=88.9; Dev F1=94.6; Test F1=94.8",
    ),
    (
        "[Sheet: results.xlsx/Results] Row 7",
        "(Table 2: SQuAD results, Ours): System=SAT + Full FT (Ensemble); Dev EM=89.6; Dev F1=95.1; Test F1=95.3",
    ),
    (
        "[Sheet: results.xlsx/Results] Rows 5-8:",
        "Table 2: SQuAD results\n"
        "| Row | Group | System | Dev EM | Dev F1 | Test F1 |\n| --- | --- | --- | --- | --- | --- |\n"
        "| 5 | Baselines | Full fine-tuning | 88.9 | 94.6 | 94.8 |\n"
        "| 6 | Baselines | Prefix tuning | 84.7 | 91.5 | - |\n"
        "| 7 | Ours | SAT + Full FT (Ensemble) | 89.6 | 95.1 | 95.3 |\n"
        "| 8 | Ours | SAT | 88.6 | 94.4 | 94.5 |",
    ),
]


def test_superlative_is_computed_from_the_rows_with_numbers_and_row_tags(embedder: Embedder) -> None:
    answer = offline_answer(
        question="Which system has the lowest Dev EM?", history=[], passages=TABLE, embedder=embedder
    )

    assert answer == (
        "Prefix tuning has the lowest Dev EM, 84.7. [Sheet: results.xlsx/Results Row 6] "
        "Next is SAT with 88.6. [Sheet: results.xlsx/Results Row 8]"
    )


def test_followup_its_resolves_to_the_row_the_previous_answer_named(embedder: Embedder) -> None:
    first = offline_answer(question="Which system has the best Dev F1?", history=[], passages=TABLE, embedder=embedder)
    assert first.startswith("SAT + Full FT (Ensemble) has the best Dev F1, 95.1. [Sheet: results.xlsx/Results Row 7]")

    second = offline_answer(
        question="What is its Test F1?", history=[("Which system has the best Dev F1?", first)], passages=TABLE,
        embedder=embedder,
    )  # fmt: skip

    assert second == "SAT + Full FT (Ensemble) has a Test F1 of 95.3. [Sheet: results.xlsx/Results Row 7]"


def test_a_missing_value_is_said_to_be_missing(embedder: Embedder) -> None:
    answer = offline_answer(
        question="What is the Test F1 of Prefix tuning?", history=[], passages=TABLE, embedder=embedder
    )

    assert answer == "Prefix tuning has no Test F1 reported (-). [Sheet: results.xlsx/Results Row 6]"


def test_what_is_opens_with_the_defining_sentence_not_the_first_mention(embedder: Embedder) -> None:
    passages = [
        ("[Doc: notes.md]", "LoRA also has its limitations: the rank must be chosen in advance. LoRA is popular."),
        (
            "[PDF: lora.pdf p.1]",
            "We propose Low-Rank Adaptation (LoRA), a method that freezes the pretrained weights and trains "
            "rank decomposition matrices in each layer.",
        ),
    ]

    answer = offline_answer(question="What is LoRA?", history=[], passages=passages, embedder=embedder)

    assert answer.startswith("We propose Low-Rank Adaptation (LoRA), a method that freezes")


def test_when_no_passage_covers_what_is_asked_the_documents_do_not_say(embedder: Embedder) -> None:
    answer = offline_answer(
        question="How many attention heads does SAT use?", history=[], passages=PASSAGES, embedder=embedder
    )

    assert answer == "The documents do not say how many attention heads SAT uses."


def test_a_followup_of_a_followup_keeps_the_conversation_subject() -> None:
    history = [
        ("What is Sparse Adapter Tuning?", "We introduce Sparse Adapter Tuning (SAT), a method. [PDF: p.pdf p.1]"),
        ("How does it compare to full fine-tuning?", "Baselines are full fine-tuning and BitFit. [PDF: p.pdf p.2]"),
    ]

    assert offline_rewrite(history=history, question="Does it slow down inference?", max_terms=0) == (
        "Does Sparse Adapter Tuning slow down inference?"
    )
