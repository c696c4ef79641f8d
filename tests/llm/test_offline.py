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
