"""How claims refer to context tables: row names written another way, figures under the
wrong column, gaps between rows, and superlatives said of a row that leads on nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from judging.offline_judge import CONTRADICTED, _Analysis
from judging.tables import (
    column_before,
    columns_asked,
    is_superlative,
    leads_on,
    row_gap,
    row_name_pattern,
    shared_cores,
    superlatives,
)
from judging.text import parse_row

TABLE = [
    "[Sheet: kilns.xlsx/Firing] Row 1: Kiln=Ember (gas); Peak temp (C)=1280; Fuel cost (USD)=41; Cracked pots (%)=2.5",
    "[Sheet: kilns.xlsx/Firing] Row 2: Kiln=Ember (wood); Peak temp (C)=1310; Fuel cost (USD)=29; Cracked pots (%)=6.1",
    "[Sheet: kilns.xlsx/Firing] Row 3: Kiln=Solace, slow cool; Peak temp (C)=1225; Fuel cost (USD)=37; "
    "Cracked pots (%)=1.2",
    "[Sheet: kilns.xlsx/Firing] Row 4: Kiln=Hearth; Peak temp (C)=1190; Fuel cost (USD)=33; Cracked pots (%)=3.4",
]
ROWS = [row for passage in TABLE if (row := parse_row(passage)) is not None]


def test_a_row_name_matches_with_small_words_between_its_words() -> None:
    pattern = row_name_pattern("solace slow cool")
    assert re.search(pattern, "solace with slow cool fires gently")
    assert re.search(pattern, "solace slow cool")
    assert not re.search(pattern, "solace is slow to cool")


def test_a_name_shared_by_rows_of_different_labels_names_all_of_them() -> None:
    cores = shared_cores(ROWS)
    assert set(cores) == {"ember"}
    assert {row.label for row in cores["ember"]} == {"Ember (gas)", "Ember (wood)"}


def test_the_column_named_just_before_a_figure() -> None:
    hearth = ROWS[3]
    text = "hearth fuel cost 3.4 and cracked pots 33"
    assert column_before(text, text.index("3.4"), hearth) == "Fuel cost (USD)"
    assert column_before(text, text.index("33"), hearth) == "Cracked pots (%)"
    # A figure between the column's name and the position ends the column's reach.
    assert column_before("peak temp 1190 then 33", 20, hearth) is None
    assert columns_asked("Which kiln has the lowest fuel cost?", hearth) == ["Fuel cost (USD)"]


def test_a_gap_between_two_rows_in_one_column_is_derived() -> None:
    solace, hearth = ROWS[2], ROWS[3]
    assert row_gap("35", solace, ROWS)  # 1225 - 1190 peak temperature
    assert row_gap("4", solace, ROWS)  # 37 - 33 fuel cost
    assert not row_gap("17", hearth, ROWS)


def test_superlatives_by_form_and_the_words_that_crown_a_row() -> None:
    for word in ("cheapest", "fastest", "easiest", "biggest", "tops", "winner", "best"):
        assert is_superlative(word), word
    for word in ("interest", "forest", "honest", "request", "cheap", "faster"):
        assert not is_superlative(word), word
    assert [w for _, _, w in superlatives("the most stable kiln, though most of the pots crack")] == ["most"]


def test_a_row_leads_when_it_is_the_largest_or_smallest_in_a_column() -> None:
    solace, hearth = ROWS[2], ROWS[3]
    assert leads_on(solace, ROWS, ["Cracked pots (%)"], labels={solace.label})
    assert not leads_on(solace, ROWS, ["Fuel cost (USD)"], labels={solace.label})
    assert leads_on(hearth, ROWS, ["Peak temp (C)"], labels={hearth.label})


def _claims(answer: str, embed: Callable[[list[str]], np.ndarray]) -> list:
    analysis = _Analysis(
        question="Which kiln is cheapest to fire, and how many pots crack?",
        history=[],
        context=TABLE,
        answer=answer,
        embed=embed,
    )
    return analysis.claims


def test_the_judge_flags_a_figure_under_the_wrong_column(embed) -> None:
    claims = _claims("Hearth: fuel cost 3.4 USD per firing.", embed)
    assert claims[0].status == CONTRADICTED and claims[0].kind == "column"
    assert "Cracked pots (%)" in claims[0].why


def test_the_judge_flags_a_superlative_on_the_column_the_claim_uses(embed) -> None:
    claims = _claims("Solace with slow cool is the cheapest kiln at 37 USD per firing.", embed)
    assert claims[0].status == CONTRADICTED and claims[0].kind == "superlative"
    right = _claims("Ember (wood) is the cheapest kiln at 29 USD per firing.", embed)
    assert right[0].status != CONTRADICTED


def test_the_judge_reads_a_gap_between_rows_as_derived(embed) -> None:
    claims = _claims("Hearth costs 33 USD, so Solace with slow cool costs 4 USD more than it.", embed)
    assert all(claim.status != CONTRADICTED for claim in claims)
