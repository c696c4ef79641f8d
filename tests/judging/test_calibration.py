"""The offline judge on the independent calibration set: held-out figures, pinned.

The set (``data/calibration.json``, see ``data/README.md``) was written independently of the
judge; only its ``tune`` split may inform the judge's thresholds. These tests pin what the
judge achieves on the ``holdout`` split today so that a change that makes it worse fails.
The targets are higher (AUROC ≥ 0.95, lowest genuine score above the median fake); see
docs/benchmarks.md for the figures per category and how far they are from the targets.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import numpy as np
import pytest

from judging.robustness import auroc
from tests.judging.calibration_support import calibration_items, offline_score

# Pinned below the runs recorded in docs/benchmarks.md (held-out AUROC 0.658 before the
# cell and mechanism checks, 0.672 after).
HOLDOUT_AUROC_AT_LEAST = 0.63


@pytest.fixture(scope="module")
def holdout_scores(embed: Callable[[list[str]], np.ndarray]) -> dict[str, list[float]]:
    scores: dict[str, list[float]] = {"genuine": [], "fake": []}
    for item in calibration_items(split="holdout"):
        scores[item["label"]].append(offline_score(item=item, embed=embed))
    return scores


# Embedding the 91 held-out items (in the fixture) takes over five minutes on the shared 2-core machine under load.
@pytest.mark.timeout(900)
def test_holdout_separates_genuine_from_fake_at_least_as_well_as_pinned(holdout_scores) -> None:
    value = auroc(genuine=holdout_scores["genuine"], fake=holdout_scores["fake"])
    print(
        f"\nholdout AUROC {value:.3f}; genuine mean {statistics.mean(holdout_scores['genuine']):.1f}, "
        f"fake mean {statistics.mean(holdout_scores['fake']):.1f}; lowest genuine {min(holdout_scores['genuine'])}, "
        f"median fake {statistics.median(holdout_scores['fake'])}"
    )
    assert len(holdout_scores["genuine"]) >= 15 and len(holdout_scores["fake"]) >= 25
    assert value is not None and value >= HOLDOUT_AUROC_AT_LEAST
    # Genuine answers score higher than fakes on average.
    assert statistics.mean(holdout_scores["genuine"]) > statistics.mean(holdout_scores["fake"])
