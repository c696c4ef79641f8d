"""Completeness weighs what the question needs: a one-figure lookup answered with that figure
is complete, whatever else the retriever brought about the same subject; whole-table
Markdown passages are read as table rows, like one-row passages."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from judging.offline_judge import offline_judge
from judging.rubric import DEFAULT_RUBRIC
from judging.text import split_pipe_table

Embed = Callable[[list[str]], np.ndarray]

SPEED_TABLE = """[Sheet: bench.xlsx/Results] Rows 4-7: Table 1: Parser speed on the news set.
| Row | Group | Parser | Tokens/s | Accuracy | Memory (MB) |
| --- | --- | --- | --- | --- | --- |
| 4 | Baselines | Greedy | 41,200 | 91.3 | 310 |
| 5 | Baselines | Beam-8 | 6,900 | 93.0 | 720 |
| 6 | Ours | Swift | 38,500 | 93.4 | 295 |
| 7 | Ours | Swift-Tiny | 77,100 | 90.2 | 120 |"""

COST_TABLE = """[Sheet: bench.xlsx/Results] Rows 10-12: Table 2: Training cost on one GPU.
| Row | Parser | Train hours | Peak memory (GB) |
| --- | --- | --- | --- |
| 10 | Greedy | 3.1 | 9.8 |
| 11 | Beam-8 | 3.4 | 10.2 |
| 12 | Swift | 5.9 | 12.7 |"""

SWIFT_ROW = (
    "[Sheet: bench.xlsx/Results] Row 6 (Table 1: Parser speed on the news set., Ours): "
    "Parser=Swift; Tokens/s=38,500; Accuracy=93.4; Memory (MB)=295"
)

PROSE = [
    "[PDF: swift.pdf p.1] Swift is a transition-based dependency parser that predicts two "
    "actions per step. Swift reaches 93.4 labelled accuracy on the news set while parsing "
    "38,500 tokens per second on one CPU core.",
    "[PDF: swift.pdf p.2] Swift is trained with a learning rate of 2e-3 and a batch of 64 "
    "sentences for 30 epochs. Swift uses a dropout of 0.3 on the word embeddings.",
    "[PDF: swift.pdf p.3] Swift-Tiny halves the hidden size of Swift, which doubles its "
    "speed to 77,100 tokens per second at a cost of 3.2 accuracy points.",
]


def test_a_whole_table_passage_is_read_as_rows_keyed_by_the_column_that_names_them() -> None:
    prose, rows = split_pipe_table(SPEED_TABLE)

    assert prose == "[Sheet: bench.xlsx/Results] Rows 4-7: Table 1: Parser speed on the news set."
    assert [row.label for row in rows] == ["Greedy", "Beam-8", "Swift", "Swift-Tiny"]
    swift = rows[2]
    # The repeated "Group" column is a cell, not the name; the sheet's row number is dropped.
    assert swift.cells == (("Group", "Ours"), ("Tokens/s", "38,500"), ("Accuracy", "93.4"), ("Memory (MB)", "295"))
    assert swift.value_of("Accuracy") == 93.4
    assert swift.table == "Sheet: bench.xlsx/Results|Table 1: Parser speed on the news set.|Parser"
    assert split_pipe_table(PROSE[0]) == (PROSE[0], [])


def _completeness(embed: Embed, *, question: str, answer: str, context: list[str], history=()) -> tuple[str, str]:
    verdict = offline_judge(
        rubric=DEFAULT_RUBRIC, question=question, history=list(history), context=context, answer=answer, embed=embed
    )
    return verdict.ratings["completeness"]


def test_a_lookup_answered_with_its_figure_is_complete_beside_other_tables_naming_the_row(embed: Embed) -> None:
    context = [SWIFT_ROW, SPEED_TABLE, COST_TABLE, *PROSE]
    question = "What is the accuracy of Swift?"

    label, rationale = _completeness(
        embed, question=question, answer="Swift has an accuracy of 93.4 on the news set.", context=context
    )
    assert label == "Excellent", rationale
    # Training cost is about the same parser but not what was asked: not "left out".
    assert "12.7" not in rationale and "5.9" not in rationale

    label, rationale = _completeness(embed, question=question, answer="Swift is a parser.", context=context)
    assert label in {"Fair", "Bad", "Worse"}, rationale
    assert "93.4" in rationale


def test_a_narrow_question_needs_the_passage_that_answers_it_not_every_passage_on_the_subject(embed: Embed) -> None:
    context = [*PROSE, SPEED_TABLE]
    question = "What learning rate does Swift use?"

    label, rationale = _completeness(
        embed, question=question, answer="Swift is trained with a learning rate of 2e-3.", context=context
    )
    assert label in {"Excellent", "Good"}, rationale
    assert "77,100" not in rationale and "38,500" not in rationale

    label, rationale = _completeness(
        embed, question=question, answer="Swift parses 38,500 tokens per second.", context=context
    )
    assert label in {"Fair", "Bad", "Worse"}, rationale


def test_a_follow_up_naming_a_column_is_asked_about_that_column_only(embed: Embed) -> None:
    context = [SWIFT_ROW, SPEED_TABLE, *PROSE[:1]]
    history = [("Which parser is the most accurate?", "Swift is the most accurate, with 93.4.")]

    label, rationale = _completeness(
        embed,
        question="And how much memory does it use?",
        answer="Swift uses 295 MB of memory.",
        context=context,
        history=history,
    )
    assert label in {"Excellent", "Good"}, rationale
    assert "93.4" not in rationale
