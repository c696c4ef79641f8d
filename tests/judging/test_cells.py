"""Figures an answer gives one table row under one named column, checked against that cell
(``judging.cells``), in an answer table turned either way and in prose with a label; and the
prose comparison and unit checks around them: a "versus" pair judged only by a comparative of
its own clause, figures in another unit of their kind or worked out in one counted as the
context's."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from judging.cells import column_meant, differs, is_relative, lead_and_cells, stated_cell
from judging.combiner import features
from judging.figures import figure_conflicts, prose_mentions, row_mentions
from judging.offline_judge import CONTRADICTED, _Analysis
from judging.text import numeric_direction_conflict, parse_row

PUMPS = [
    "[Sheet: pumps.xlsx/Trial] Row 2: Pump=Marlow P4; Flow (L/min)=31.5; Head (m)=18.2; Power draw (W)=410; "
    "Noise (dB)=52; Filter size (MB)=1,310",
    "[Sheet: pumps.xlsx/Trial] Row 3: Pump=Aster Q2; Flow (L/min)=27.9; Head (m)=21.6; Power draw (W)=365; "
    "Noise (dB)=48; Filter size (MB)=880",
    "[Sheet: pumps.xlsx/Trial] Row 4: Pump=Brook V7; Flow (L/min)=35.1; Head (m)=15.4; Power draw (W)=520; "
    "Noise (dB)=57; Filter size (MB)=1,050",
]
PROSE = (
    "[PDF: trial.pdf p.2] The greenhouse trial ran each pump for 2.5 hours on the east bench and 2.0 hours on "
    "the west bench, and the Aster Q2 was the quietest of the three."
)
ROWS = [row for passage in PUMPS if (row := parse_row(passage)) is not None]
QUESTION = "How do the three pumps compare on flow and power draw?"


def _analysis(answer: str, embed: Callable[[list[str]], np.ndarray]) -> _Analysis:
    return _Analysis(question=QUESTION, history=[], context=[*PUMPS, PROSE], answer=answer, embed=embed)


# --- the pieces ---


def test_a_labelled_claim_splits_into_its_cells() -> None:
    assert lead_and_cells("Flow: Marlow P4 31.5 L/min; Aster Q2 27.9") == (
        "Flow",
        ["Marlow P4 31.5 L/min", "Aster Q2 27.9"],
    )
    assert lead_and_cells("The trial ran for 2.5 hours.") == ("", [])
    head, number, unit, signed, _ = stated_cell("Brook V7 (third bench) 1,050 MB")
    assert (head, number, unit, signed) == ("Brook V7 (third bench)", "1050", "mb", False)
    assert stated_cell("Aster Q2 +3.4")[3] is True
    assert stated_cell("quiet and efficient") is None


def test_a_gap_or_a_change_is_not_a_cells_figure() -> None:
    text = "aster q2 trails by 3.6 l min and sits 45 w below marlow p4 with 48 db"
    assert is_relative(text, text.index("3.6"), text.index("3.6") + 3)
    assert is_relative(text, text.index("45"), text.index("45") + 2)
    assert not is_relative(text, text.index("48"), text.index("48") + 2)


def test_the_column_a_text_names_for_a_row() -> None:
    marlow = ROWS[0]
    assert column_meant("Power draw Marlow P4", marlow) == "Power draw (W)"
    assert column_meant("Noise Marlow P4", marlow) == "Noise (dB)"
    assert column_meant("Marlow P4", marlow) is None


def test_a_cells_figure_restated_rounded_hedged_or_in_another_unit_agrees() -> None:
    marlow = ROWS[0]
    assert differs("31.5", "", False, marlow, "Flow (L/min)", hedged=False) is None
    assert differs("32", "", False, marlow, "Flow (L/min)", hedged=False) is None  # rounded
    assert differs("30", "", False, marlow, "Flow (L/min)", hedged=True) is None  # "about 30"
    assert differs("1.3", "gb", False, marlow, "Filter size (MB)", hedged=False) is None
    assert differs("29.3", "", False, marlow, "Flow (L/min)", hedged=False) == 31.5
    assert differs("1.9", "gb", False, marlow, "Filter size (MB)", hedged=False) == 1310
    assert differs("3.2", "", True, marlow, "Flow (L/min)", hedged=False) is None  # a change, not the cell
    assert differs("12", "%", False, marlow, "Noise (dB)", hedged=False) is None  # another unit: not this cell


# --- in the judge ---


SWAPPED_TABLE = """The Brook V7 moves the most water, the Aster Q2 the least.

| | Marlow P4 | Aster Q2 | Brook V7 |
|---|---|---|---|
| Flow (L/min) | 27.9 | 31.5 | 35.1 |
| Power draw (W) | 410 | 365 | 520 |
"""
RIGHT_TABLE = SWAPPED_TABLE.replace("| 27.9 | 31.5 |", "| 31.5 | 27.9 |")


def test_an_answer_tables_cell_that_the_rows_cell_contradicts(embed: Callable[[list[str]], np.ndarray]) -> None:
    wrong = _analysis(SWAPPED_TABLE, embed)
    flawed = [c for c in wrong.claims if c.cell_conflicts]
    assert len(flawed) == 1 and flawed[0].status == CONTRADICTED and flawed[0].kind == "cell"
    # The rationale cites both figures and the row.
    assert "27.9" in flawed[0].why and "31.5" in flawed[0].why and "Marlow P4" in flawed[0].why
    assert features(wrong, ["figure_conflicts"])["figure_conflicts"] > 0
    right = _analysis(RIGHT_TABLE, embed)
    assert not [c for c in right.claims if c.cell_conflicts]
    assert features(right, ["figure_conflicts"])["figure_conflicts"] == 0


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Power draw: 365 W for the Marlow P4 against 520 W for the Brook V7.", True),
        ("Power draw: 410 W for the Marlow P4 against 520 W for the Brook V7.", False),
        # A gap derived from the two rows (and a wrong gap is not a cell's figure).
        ("Power draw: the Marlow P4 sits 110 W below the Brook V7.", False),
        ("Flow: Brook V7 reaches 35.1, a gap of 3.6 over the Marlow P4.", False),
    ],
)
def test_a_prose_figure_said_of_a_row_under_the_labels_column(
    embed: Callable[[list[str]], np.ndarray], answer: str, wrong: bool
) -> None:
    analysis = _analysis(answer, embed)
    found = [f for c in analysis.claims for f in c.cell_conflicts]
    assert bool(found) == wrong, found
    if wrong:
        assert "410" in found[0].describe() and "365" in found[0].describe()


# --- comparisons in prose and units ---


@pytest.mark.parametrize(
    ("claim", "conflict"),
    [
        ("The noise gap is even larger: 48 vs 57 dB.", False),  # "larger" is the gap's, not 48's
        ("The Aster Q2 draws 365 W versus 410 W for the Marlow P4, and it grows less warm.", False),
        ("Per hour, the Brook V7 pumps more — 2106/1 = 2106 L against 1674/1 ≈ 1674.", False),
        ("Flow is higher on the Aster Q2, 27.9 versus 31.5.", True),
        ("Noise is lower for the Brook V7, 57 against 48 dB.", True),
    ],
)
def test_a_versus_pair_is_judged_by_a_comparative_of_its_own_clause(claim: str, conflict: bool) -> None:
    assert bool(numeric_direction_conflict(claim)) == conflict


def _figure_conflicts(claim: str) -> list:
    mentions = [m for row in ROWS for m in row_mentions(row)] + list(prose_mentions(PROSE))
    found, _ = figure_conflicts(
        claim, mentions, context_numbers={m.number for m in mentions}, pool=[], hedged={"1.3", "10"}
    )
    return found


def test_figures_in_another_unit_of_their_kind_are_the_contexts() -> None:
    # 1,310 MB is about 1.3 GB; 2.5 h − 2.0 h is 30 minutes; a "10" is not 0.1 in disguise.
    assert not _figure_conflicts("The Marlow P4 filter holds about 1.3 GB.")
    assert not _figure_conflicts("The east bench ran 30 minutes longer than the west bench.")
    # The same digits in another unit of the same kind still differ: 1,310 GB is not 1,310 MB.
    assert _figure_conflicts("The Marlow P4 filter size is 1,310 GB.")


# --- a comparison between two columns of one metric ---

HEATERS = [
    "[Sheet: heaters.xlsx/Trial] Row 2: Bench=East; Kelvo heat-up (min)=14.0; Sunra heat-up (min)=11.5; "
    "Kelvo draw (kW)=2.1; Sunra draw (kW)=2.6",
    "[Sheet: heaters.xlsx/Trial] Row 3: Bench=West; Kelvo heat-up (min)=15.5; Sunra heat-up (min)=12.0; "
    "Kelvo draw (kW)=2.0; Sunra draw (kW)=2.4",
]


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("The Kelvo heater's draw is higher than the Sunra's on both benches.", True),
        ("The Kelvo heater's draw is lower than the Sunra's on both benches.", False),
        ("The Sunra heat-up is shorter, so its draw is larger than the Kelvo's.", False),
        ("Kelvo's heat-up is faster than Sunra's.", True),  # lower is better for time
    ],
)
def test_a_comparison_between_two_columns_of_one_metric(
    embed: Callable[[list[str]], np.ndarray], answer: str, wrong: bool
) -> None:
    analysis = _Analysis(
        question="How do the two heaters compare?", history=[], context=HEATERS, answer=answer, embed=embed
    )
    found = [w for c in analysis.claims for w in c.comparison_conflicts]
    assert bool(found) == wrong, found
    if wrong:
        assert "in every row" in found[0]


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        # 35.1 − 31.5 = 3.6 L/min; 520 / 410 ≈ 1.27; (520 − 410) / 410 ≈ 27%.
        ("Brook V7 has a flow 3.6 L/min more than the Marlow P4.", False),
        ("Brook V7 has about 27% more power draw than the Marlow P4.", False),
        ("Brook V7 has a flow 5.2 L/min more than the Marlow P4.", True),
        ("Brook V7 has about 60% more power draw than the Marlow P4.", True),
        # Not about the first row named, a range, a ratio: not judged as a gap or a cell.
        ("That is 9.9 L/min more than the Marlow P4 and 2.1 more than the Aster Q2.", False),
        ("Power draw: Marlow P4 draws 400–420 W in the trial.", False),
        ("Power draw: Brook V7 draws about 1.3× the Marlow P4's.", False),
        # The gap is on flow though the claim names power draw for another of its parts.
        ("Brook V7 is 3.6 ahead of the Marlow P4, at a power draw of 520 W.", False),
        ("Brook V7 reaches 111% of the Marlow P4's flow.", False),  # 35.1 / 31.5
    ],
)
def test_a_gap_stated_between_two_rows_is_one_of_their_gaps(
    embed: Callable[[list[str]], np.ndarray], answer: str, wrong: bool
) -> None:
    analysis = _analysis(answer, embed)
    found = [w for c in analysis.claims for w in c.comparison_conflicts] + [
        f.describe() for c in analysis.claims for f in c.cell_conflicts
    ]
    assert bool(found) == wrong, found
    if wrong:
        assert "Brook V7" in found[0] and "Marlow P4" in found[0]
