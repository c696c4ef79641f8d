"""Acceptance on the demo: its questions run through the real pipeline (offline generator and
judge, tasks in this process) with robustness probes; every probe strategy pulls its expected
criteria down, every rationale agrees with its rating, and the session page shows the figures.

`python benchmarks/probe_bench.py --verbose` prints the same figures and lists each miss.
"""

from __future__ import annotations

import pytest

from judging.models import Judgment
from judging.probes import STRATEGIES, STRATEGY_LABELS
from judging.rubric import DEFAULT_RUBRIC
from tests.judging.rationale_checks import rationale_problem
from tests.support.demo_probes import demo_robustness, probe_misses

pytestmark = pytest.mark.django_db(transaction=True)


def test_on_the_demo_every_probe_strategy_pulls_its_criteria_down_and_rationales_agree(
    client, team, member, tmp_path
) -> None:
    session, summary = demo_robustness(out=tmp_path, team=team)
    questions = session.questions.count()

    print(f"\n{'strategy':<20} made skipped dropped")
    for s in summary.strategies:
        print(f"{s.strategy:<20} {s.probes:>4} {s.skipped:>7} {s.all_expected_dropped:>4}/{s.judged}")
    print(summary.verdict)
    by_strategy = {s.strategy: s for s in summary.strategies}
    assert list(by_strategy) == list(STRATEGIES)
    for strategy in summary.strategies:
        # Made or skipped once per answer; skipped ones (an abstention has no claim to
        # invert, an answer without figures none to change) are counted, not judged.
        assert strategy.probes + strategy.skipped == questions, strategy.strategy
        assert strategy.judged == strategy.probes >= questions - 2, strategy.strategy
        misses = "\n".join(probe_misses(session=session))
        assert strategy.rate is not None and strategy.rate >= 0.9, f"{strategy.strategy} {strategy.rate}\n{misses}"
    assert by_strategy["fabricated_numbers"].skipped >= 1
    assert summary.auroc is not None and summary.auroc >= 0.95

    top = DEFAULT_RUBRIC.levels_best_first()[0].label
    judgments = Judgment.objects.filter(probe__answer__question__session=session) | Judgment.objects.filter(
        answer__question__session=session
    )
    problems, checked = [], 0
    for judgment in judgments.select_related("answer", "probe").prefetch_related("verdicts__criterion"):
        answer = judgment.answer.text if judgment.answer else judgment.probe.fake_answer
        for verdict in judgment.verdicts.all():
            checked += 1
            why = rationale_problem(
                criterion=verdict.criterion.key,
                label=verdict.rating,
                top=top,
                rationale=verdict.rationale,
                answer=answer,
            )
            if why:
                problems.append(f"{verdict.criterion.key} {verdict.rating}: {why}: {verdict.rationale}")
    assert checked >= 5 * questions * 7
    assert not problems, "\n".join(problems)

    client.force_login(member)
    page = client.get(session.get_absolute_url()).content.decode()
    assert f"{summary.auroc:.3f}" in page
    for strategy in summary.strategies:
        assert STRATEGY_LABELS[strategy.strategy] in page
        assert f"<strong>{100 * strategy.rate:.0f}%</strong>" in page
