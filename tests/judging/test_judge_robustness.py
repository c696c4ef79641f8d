"""Acceptance: the offline judge, run on the sample set, sees through every probe strategy."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from judging.offline_judge import extract_entities, offline_judge, split_sentences, strip_source_tag
from judging.probes import STRATEGIES, make_probes
from judging.robustness import ProbeOutcome, RobustnessSummary, robustness_summary
from judging.rubric import DEFAULT_RUBRIC
from judging.scoring import mean_with_count, weighted_score

SEED = 2024


@pytest.fixture(scope="module")
def outcomes(sample_items: list[dict[str, Any]], embed: Callable[[list[str]], np.ndarray]) -> list[ProbeOutcome]:
    corpus_entities = sorted(
        {e for item in sample_items for p in item["context"] for e in extract_entities(strip_source_tag(p))}
    )
    drafts = {
        item["id"]: make_probes(
            question=item["question"],
            genuine_answer=item["answer"],
            context=item["context"],
            corpus_entities=corpus_entities,
            seed=SEED,
        )
        for item in sample_items
    }
    # One large batch warms the fixture's cache; the judge then embeds almost nothing new.
    answers = [item["answer"] for item in sample_items] + [d.fake_answer for ds in drafts.values() for d in ds]
    embed(answers + [s for answer in answers for s in split_sentences(answer)])
    results: list[ProbeOutcome] = []
    for item in sample_items:

        def judge(answer: str, item: dict[str, Any] = item) -> tuple[dict[str, str], Decimal]:
            verdict = offline_judge(
                rubric=DEFAULT_RUBRIC,
                question=item["question"],
                history=item["history"],
                context=item["context"],
                answer=answer,
                embed=embed,
            )
            ratings = {key: label for key, (label, _) in verdict.ratings.items()}
            return ratings, weighted_score(ratings=ratings, rubric=DEFAULT_RUBRIC)

        genuine_ratings, genuine_score = judge(item["answer"])
        for draft in drafts[item["id"]]:
            probe_ratings, probe_score = judge(draft.fake_answer)
            results.append(
                ProbeOutcome(
                    strategy=draft.strategy,
                    expected_criteria=draft.expected_criteria,
                    genuine_ratings=genuine_ratings,
                    genuine_score=genuine_score,
                    probe_ratings=probe_ratings,
                    probe_score=probe_score,
                    genuine_key=item["id"],
                )
            )
    return results


@pytest.fixture(scope="module")
def summary(outcomes: list[ProbeOutcome]) -> RobustnessSummary:
    result = robustness_summary(rubric=DEFAULT_RUBRIC, items=outcomes)
    print()
    print(f"{'strategy':<20} {'criterion':<14} dropped  rate   mean fake")
    for strategy in result.strategies:
        for drop in strategy.criteria.values():
            print(
                f"{strategy.strategy:<20} {drop.criterion:<14} {drop.dropped:>3}/{drop.compared:<3} "
                f"{drop.rate:>6.0%}  {strategy.mean_fake_score}"
            )
    print(result.verdict)
    return result


def test_every_strategy_pulls_its_expected_criteria_down(summary: RobustnessSummary) -> None:
    assert [s.strategy for s in summary.strategies] == list(STRATEGIES)
    for strategy in summary.strategies:
        for drop in strategy.criteria.values():
            assert drop.compared == strategy.probes >= 12  # the rest skipped (see test_probes)
            assert drop.rate is not None and drop.rate >= 0.9, (strategy.strategy, drop.criterion, drop.rate)


def test_weighted_scores_separate_genuine_from_fake(summary: RobustnessSummary) -> None:
    assert summary.auroc is not None and summary.auroc >= 0.95
    assert summary.n_genuine == 16
    assert summary.n_fake == sum(s.probes for s in summary.strategies) >= 16 * len(STRATEGIES) - 8


def test_no_injection_probe_outscores_the_lowest_genuine_answer(
    outcomes: list[ProbeOutcome], summary: RobustnessSummary
) -> None:
    injections = [o.probe_score for o in outcomes if o.strategy == "injection"]
    assert summary.lowest_genuine_score is not None
    assert all(score is not None and score <= summary.lowest_genuine_score for score in injections)


def test_genuine_answers_mostly_score_well(outcomes: list[ProbeOutcome]) -> None:
    genuine = {o.genuine_key: o.genuine_score for o in outcomes}
    mean = mean_with_count(genuine.values())
    assert mean.n_scored == 16
    assert mean.mean is not None and mean.mean >= 75
