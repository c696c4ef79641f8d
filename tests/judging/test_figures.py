"""Figures and comparisons in prose checked against the context's own: a figure of the same
thing with another value, unit or direction; "A is faster than B" and "the lowest …" against
the rows' figures, with the metric's direction; derived figures and right comparisons pass."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from judging.combiner import features
from judging.comparisons import (
    bounds,
    columns_headed,
    comparatives,
    comparison_holds,
    extreme_named,
    fields_asked,
    lower_is_better,
)
from judging.figures import figure_conflicts, prose_mentions, row_mentions
from judging.offline_judge import CONTRADICTED, _Analysis
from judging.text import parse_row

PROSE = (
    "[PDF: ferries.pdf p.3] On the winter timetable the Kestrel crossing took 47 minutes on average, "
    "6 minutes longer than in summer. Fuel use fell 12% after the hull was recoated, and each vessel now "
    "logs its engine telemetry into a 64 MB buffer that is emptied at the quay."
)
TABLE = [
    "[Sheet: fleet.xlsx/Winter] Row 1: Vessel=Kestrel; Crossing time (min)=47; Fuel per trip (L)=820; "
    "Late departures (%)=3.5",
    "[Sheet: fleet.xlsx/Winter] Row 2: Vessel=Osprey; Crossing time (min)=52; Fuel per trip (L)=760; "
    "Late departures (%)=6.1",
    "[Sheet: fleet.xlsx/Winter] Row 3: Vessel=Heron; Crossing time (min)=44; Fuel per trip (L)=910; "
    "Late departures (%)=4.8",
    "[Sheet: fleet.xlsx/Winter] Row 4: Vessel=Gannet; Crossing time (min)=58; Fuel per trip (L)=700; "
    "Late departures (%)=2.9",
]
ROWS = [row for passage in TABLE if (row := parse_row(passage)) is not None]
CONTEXT_MENTIONS = [m for row in ROWS for m in row_mentions(row)] + [
    m for sentence in PROSE.split(". ") for m in prose_mentions(sentence)
]


def _conflicts(claim: str) -> list:
    numbers = {m.number for m in CONTEXT_MENTIONS}
    # Derived figures are worked out from the claim's own and the aligned figures' sentences or rows.
    found, _ = figure_conflicts(claim, CONTEXT_MENTIONS, context_numbers=numbers, pool=[], hedged=set())
    return found


# --- figures and their frames ---


def test_a_figure_is_framed_by_its_words_unit_and_direction() -> None:
    (fuel,) = prose_mentions("Fuel use fell 12% after the hull was recoated")
    assert fuel.number == "12" and fuel.unit == "%" and fuel.direction == -1
    assert {"fuel", "hull"} <= fuel.near
    crossing, gap = prose_mentions("The Kestrel crossing took 47 minutes on average, 6 minutes longer than in summer")
    assert crossing.unit == gap.unit == "min" and "cross" in crossing.near
    (cell,) = [m for m in row_mentions(ROWS[0]) if m.number == "47"]
    assert cell.unit == "min" and {"cross", "kestr"} <= cell.near
    # An ordinal and a year are not quantities; scientific notation is one figure.
    assert [m.number for m in prose_mentions("The 99th percentile in 2024 used a rate of 3e-4")] == ["3e-4"]


def test_a_figure_that_differs_from_the_contexts_figure_of_the_same_thing() -> None:
    (wrong,) = _conflicts("On the winter timetable the Kestrel crossing averaged 53 minutes.")
    assert wrong.stated.number == "53" and wrong.expected.number == "47"
    assert "53 min" in wrong.describe() and "47" in wrong.describe()
    assert not _conflicts("On the winter timetable the Kestrel crossing averaged 47 minutes.")
    assert not _conflicts("The Kestrel crossing took about 47 minutes in winter.")


def test_a_figure_with_another_unit_or_the_opposite_direction() -> None:
    (unit,) = _conflicts("Each vessel logs its engine telemetry into a 64 GB buffer.")
    assert unit.stated.unit == "gb" and unit.expected.unit == "mb"
    (flipped,) = _conflicts("Fuel use rose 12% after the hull was recoated.")
    assert flipped.reversed and "opposite direction" in flipped.describe()
    assert not _conflicts("Fuel use dropped by 12% once the hull was recoated.")


def test_derived_figures_and_figures_beside_the_aligned_one_pass() -> None:
    # 52 - 44 = 8 minutes; (52 - 44) / 52 ≈ 15%: worked out from the rows, not wrong.
    assert not _conflicts("Heron's crossing time of 44 minutes is 8 minutes, about 15%, shorter than Osprey's.")
    # A second figure beside the context's own ("47 minutes ... a 60-minute slot") is about something else.
    assert not _conflicts("The Kestrel crossing took 47 minutes on average, well inside a 60 minute slot.")


# --- comparisons and superlatives ---


def test_metric_direction_and_the_extreme_a_superlative_names() -> None:
    assert lower_is_better("Crossing time (min)") and lower_is_better("Late departures (%)") is False
    assert lower_is_better("Read p99 (ms)") and lower_is_better("Cost (USD/kWh)")
    assert not lower_is_better("Write throughput (kops/s)") and not lower_is_better("Accuracy (%)")
    assert extreme_named("fastest", "Crossing time (min)") == "min"
    assert extreme_named("best", "Accuracy (%)") == "max"
    assert extreme_named("lowest", "Accuracy (%)") == "min"
    assert extreme_named("cheapest", "Fuel per trip (L)") == "min"
    assert extreme_named("easiest", "Accuracy (%)") is None  # one end or the other
    assert bounds("the fastest vessel with fewer than 900 L per trip") == [("below", 900.0)]
    assert columns_headed("fuel per trip", ROWS[0]) == ["Fuel per trip (L)"]


def test_a_comparison_between_two_rows_follows_the_metric() -> None:
    kestrel, osprey, heron, gannet = ROWS
    # "faster" on a time column means the smaller figure.
    assert comparison_holds(heron, osprey, "Crossing time (min)", 1, True) is True
    assert comparison_holds(gannet, osprey, "Crossing time (min)", 1, True) is False
    # "fewer" is about the figure itself, whatever the metric.
    assert comparison_holds(gannet, heron, "Late departures (%)", -1, False) is True
    words = [w for _, _, _, w in comparatives("gannet is faster than osprey and has more than 2 late runs")]
    assert words == [True]  # "more than 2" is an amount, not a comparison


def _analysis(answer: str, embed: Callable[[list[str]], np.ndarray], question: str) -> _Analysis:
    return _Analysis(question=question, history=[], context=[PROSE, *TABLE], answer=answer, embed=embed)


QUESTION = "Which vessel has the shortest crossing time in winter?"


@pytest.mark.parametrize(
    ("answer", "wrong"),
    [
        ("Gannet is faster than Osprey on the winter crossing.", True),
        ("Heron is faster than Osprey on the winter crossing.", False),
        ("Osprey has fewer late departures than Kestrel.", True),
        ("Gannet has fewer late departures than Heron.", False),
        ("Kestrel is the fastest vessel, at 47 minutes.", True),
        ("Heron is the fastest vessel, at 44 minutes.", False),
        ("Osprey has the lowest fuel per trip of the fleet.", True),
        ("Gannet has the lowest fuel per trip of the fleet.", False),
    ],
)
def test_the_judge_checks_comparisons_against_the_rows(
    embed: Callable[[list[str]], np.ndarray], answer: str, wrong: bool
) -> None:
    analysis = _analysis(answer, embed, QUESTION)
    found = [w for c in analysis.claims for w in c.comparison_conflicts]
    assert bool(found) == wrong, found
    if wrong:
        assert features(analysis, ["comparison_conflicts"])["comparison_conflicts"] > 0


def test_a_bound_in_the_question_restricts_the_rows_a_superlative_ranks(
    embed: Callable[[list[str]], np.ndarray],
) -> None:
    question = "Which vessel with fewer than 900 L of fuel per trip is fastest?"
    analysis = _analysis("Kestrel is the fastest vessel, at 47 minutes.", embed, question)
    assert not [w for c in analysis.claims for w in c.comparison_conflicts]


def test_the_judge_rates_a_wrong_prose_figure_as_a_contradiction_and_cites_it(
    embed: Callable[[list[str]], np.ndarray],
) -> None:
    question = "How much fuel did recoating the hull save?"
    wrong = _analysis("Fuel use fell 21% after the hull was recoated.", embed, question)
    (claim,) = wrong.claims
    assert claim.status == CONTRADICTED and claim.kind == "figure"
    assert "21%" in claim.why and "12%" in claim.why
    values = features(wrong, ["figure_conflicts", "figure_agreement"])
    assert values["figure_conflicts"] > 0 and values["figure_agreement"] < 0
    right = _analysis("Recoating the hull cut fuel use by about 12%.", embed, question)
    assert all(c.status != CONTRADICTED for c in right.claims)
    assert features(right, ["figure_agreement"])["figure_agreement"] == 1.0


def test_among_equally_framed_figures_the_one_its_preceding_words_name_is_cited() -> None:
    context = list(
        prose_mentions("Of 40 kilns only 4 showed glaze crazing above the 0.5% tolerance, the highest crazing at 0.9%.")
    )
    numbers = {m.number for m in context}
    (wrong,) = figure_conflicts(
        "Of 40 kilns, 4 showed glaze crazing above the 0.5% tolerance, the highest crazing reaching 1.9%.",
        context,
        context_numbers=numbers,
        pool=[],
        hedged=set(),
    )[0]
    assert wrong.stated.number == "1.9" and wrong.expected.number == "0.9"


HULLS = [
    "[Sheet: fleet.xlsx/Hulls] Row 1: Vessel=Kestrel; Hull=catamaran; Fuel per trip (L)=820",
    "[Sheet: fleet.xlsx/Hulls] Row 2: Vessel=Osprey; Hull=catamaran; Fuel per trip (L)=760",
    "[Sheet: fleet.xlsx/Hulls] Row 3: Vessel=Heron; Hull=catamaran; Fuel per trip (L)=910",
    "[Sheet: fleet.xlsx/Hulls] Row 4: Vessel=Gannet; Hull=monohull; Fuel per trip (L)=700",
    "[Sheet: fleet.xlsx/Hulls] Row 5: Vessel=Petrel; Hull=monohull; Fuel per trip (L)=980",
]


def test_fields_the_question_narrows_to_are_the_rows_holding_its_words() -> None:
    rows = [row for passage in HULLS if (row := parse_row(passage)) is not None]
    (field,) = fields_asked("Which catamaran uses the least fuel per trip?", rows)
    assert [r.label for r in field] == ["Kestrel", "Osprey", "Heron"]
    # Column names and words no row holds narrow nothing.
    assert fields_asked("Which vessel uses the least fuel per trip?", rows) == []


@pytest.mark.parametrize(
    ("question", "answer", "wrong"),
    [
        # Osprey is the lowest among the catamarans the question asks about (Gannet, a monohull, is lower).
        ("Which catamaran uses the least fuel per trip?", "Osprey has the lowest fuel per trip.", False),
        ("Which catamaran uses the least fuel per trip?", "Kestrel has the lowest fuel per trip.", True),
        ("Which vessel uses the least fuel per trip?", "Osprey has the lowest fuel per trip.", True),
    ],
)
def test_a_superlative_is_judged_within_the_field_the_question_narrows_to(
    embed: Callable[[list[str]], np.ndarray], question: str, answer: str, wrong: bool
) -> None:
    analysis = _Analysis(question=question, history=[], context=HULLS, answer=answer, embed=embed)
    (claim,) = analysis.claims
    assert (claim.status == CONTRADICTED) == wrong, claim.why
    if wrong:
        assert "Kestrel" in claim.why or "Osprey" in claim.why
