"""Reversed mechanisms: a claim's effect on a thing against the context sentence it restates."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from judging.combiner import mechanism_reversals
from judging.mechanisms import mechanism_conflict
from judging.offline_judge import CONTRADICTED, SUPPORTED, _Analysis, offline_judge
from judging.rubric import DEFAULT_RUBRIC

BLOCKER = (
    "Tessamab binds the IL-9 receptor on mast cells and blocks it, so that IL-9 released during a flare "
    "cannot act; it does not reduce the amount of IL-9 released."
)
POCKET = "Two substitutions in the loop narrow the enzyme's binding pocket, which keeps larger substrates out."
ANODE = "The porous anode stores potassium by adsorption on its walls rather than by intercalation between layers."
VASCULAR = (
    "Unlike beta blockers, tessamab does not constrict blood vessels, so patients with hypertension were enrolled."
)


def test_a_stated_effect_against_the_context_denying_it_conflicts() -> None:
    found = mechanism_conflict("Tessamab lowers the amount of IL-9 the mast cells release.", BLOCKER)
    assert found is not None and found.denied
    assert "lowers the amount" in found.said and "not reduce the amount" in found.meant
    text = found.describe(BLOCKER)
    assert "rules out" in text and "lowers the amount" in text and "Tessamab binds" in text


def test_opposite_effects_on_the_same_thing_conflict() -> None:
    found = mechanism_conflict("The two substitutions widen the enzyme's binding pocket.", POCKET)
    assert found is not None and not found.denied
    assert found.target == "enzyme's" or found.target in {"binding", "pocket"}
    assert "widen" in found.said and "narrow" in found.meant
    assert "reverses the effect on" in found.describe(POCKET)


def test_what_the_context_rules_out_stated_as_how_it_works_conflicts() -> None:
    found = mechanism_conflict("The porous anode stores potassium by intercalation between graphite layers.", ANODE)
    assert found is not None and found.denied
    assert "intercalation" in found.target and "rather than" in found.meant


def test_restatements_and_agreeing_negations_do_not_conflict() -> None:
    # The same effect in other words, and the same denial.
    assert mechanism_conflict("The substitutions make the binding pocket of the enzyme narrower.", POCKET) is None
    assert mechanism_conflict("Tessamab does not lower how much IL-9 the mast cells release.", BLOCKER) is None
    # "rather than by intercalation" restated with its own negation.
    assert mechanism_conflict("The porous anode stores potassium on its walls, not by intercalation.", ANODE) is None
    # The effect the context denies of one thing, said of what it sets apart ("unlike beta blockers").
    assert mechanism_conflict("Beta blockers work partly by narrowing blood vessels.", VASCULAR) is None
    # Sentences about different things are not compared.
    assert mechanism_conflict("Lower interest rates reduce the amount of savings.", BLOCKER) is None


def test_a_comparative_with_than_is_left_to_the_figure_checks() -> None:
    reference = "The batch scheduler has higher latency than the streaming scheduler on every trace."
    assert mechanism_conflict("The streaming scheduler has lower latency than the batch scheduler.", reference) is None


CONTEXT = [
    "[PDF: tessamab_trial.pdf p.2] Mechanism. " + BLOCKER + " " + VASCULAR,
    "[PDF: tessamab_trial.pdf p.5] At 12 weeks, tessamab 150 mg reduced flares by 2.1 per month against placebo.",
]
QUESTION = "How does tessamab prevent flares?"


def _analysis(answer: str, embed: Callable[[list[str]], np.ndarray]) -> _Analysis:
    return _Analysis(question=QUESTION, history=[], context=CONTEXT, answer=answer, embed=embed)


def test_the_judge_contradicts_a_reversed_mechanism_and_says_what_conflicted(embed) -> None:
    reversed_answer = (
        "Tessamab lowers the amount of IL-9 that mast cells release during a flare, so less of it is around. "
        "At 12 weeks it reduced flares by 2.1 per month against placebo."
    )
    analysis = _analysis(reversed_answer, embed)
    flagged = [c for c in analysis.claims if c.kind == "mechanism"]
    assert flagged and flagged[0].status == CONTRADICTED
    assert "rules out" in flagged[0].why and "not reduce the amount" in flagged[0].why
    assert mechanism_reversals(analysis) > 0

    verdict = offline_judge(
        rubric=DEFAULT_RUBRIC, question=QUESTION, history=[], context=CONTEXT, answer=reversed_answer, embed=embed
    )
    label, rationale = verdict.ratings["faithfulness"]
    assert label not in {"Excellent", "Good"}
    assert "lowers the amount of IL-9" in rationale and "not reduce the amount" in rationale


def test_the_judge_keeps_a_faithful_paraphrase_of_the_mechanism(embed) -> None:
    genuine = (
        "Tessamab blocks the IL-9 receptor on mast cells, so the IL-9 released in a flare cannot act; "
        "the amount released is not reduced. Unlike beta blockers it does not narrow blood vessels."
    )
    analysis = _analysis(genuine, embed)
    assert all(c.mechanism is None for c in analysis.claims)
    assert mechanism_reversals(analysis) == 0
    assert all(c.status == SUPPORTED for c in analysis.claims)
