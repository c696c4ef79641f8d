"""Fit the offline judge's combiner on the calibration set's tune split.

Computes the features of ``judging.combiner`` for every ``tune`` item of
``tests/judging/data/calibration.json`` and fits an L2-regularised logistic regression
(genuine = 1, fake = 0, classes weighted to balance) on standardised features, each
coefficient kept on the side its feature's declared direction says (more unsupported claims
never make an answer more likely right). The regularisation strength C is chosen by
cross-validation within tune only: grouped (items sharing a question or a context are never
split between folds), stratified, and repeated with ``CV_REPEATS`` fold seeds, so that the curve
of mean fold AUROC over C does not hang on one assignment of groups to folds. The chosen C is
the strongest regularisation whose mean AUROC is within one pair of the best: within the
AUROC's resolution, 1 / (genuine × fake) of a fold, averaged over the folds (a difference
smaller than one reordered genuine–fake pair per fold is not one the folds can measure).
Where the curve is flat, that is the simpler model, as in the one-standard-error rule; but the
fold-to-fold standard error here exceeds the curve's whole rise, so that rule lands at or next to
the grid's lower edge, and the bare maximum drifts to its upper edge (the coefficients of
rarely firing features grow without bound as C does). The fold AUROC is reported for the
chosen strength, beside a nested figure (the choice made anew inside each outer fold) and
the AUROC of the final fit on all of tune (which is optimistic). Answers that address the
grader are left out: a hard rule disqualifies them whatever the model says.

The result is written to ``judging/data/offline_judge_model.json``; the run is
deterministic, and ``tests/judging/test_combiner.py`` checks that a refit reproduces the
stored model. Never fit on the holdout split.

Usage: python benchmarks/fit_offline_judge.py [--output PATH] [--check] [--verbose] [--stability]
Needs no database; scikit-learn and SciPy are development requirements only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["HF_HUB_OFFLINE"] = "1"

C_GRID = [round(float(c), 4) for c in np.logspace(-3, 2, 11)]  # inverse regularisation strengths tried
FOLDS = 5
CV_REPEATS = 20  # fold seeds 0 … CV_REPEATS − 1
DIGITS = 6  # stored precision


def groups_of(items: list[dict[str, Any]]) -> list[int]:
    """Items that share a question or a context are one group (connected components)."""
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for index, item in enumerate(items):
        for key in (("q", item["question"].strip().casefold()), ("c", "\n".join(sorted(item["context"])))):
            if key in first:
                parent[find(index)] = find(first[key])
            else:
                first[key] = index
    roots = {root: n for n, root in enumerate(dict.fromkeys(find(i) for i in range(len(items))))}
    return [roots[find(i)] for i in range(len(items))]


def tune_table(embed: Callable[[list[str]], np.ndarray]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Feature names, features, labels and groups of the tune items the model is fitted on."""
    from judging.combiner import FEATURES, features
    from tests.judging.calibration_support import analyse_item, calibration_items

    names = list(FEATURES)
    items, rows = [], []
    for item in calibration_items(split="tune"):
        analysis = analyse_item(item=item, embed=embed)
        if analysis.injection:
            continue  # disqualified by rule
        items.append(item)
        rows.append([features(analysis)[name] for name in names])
    labels = np.array([item["label"] == "genuine" for item in items], dtype=int)
    return names, np.array(rows, dtype=np.float64), labels, np.array(groups_of(items))


def _fit_path(
    x: np.ndarray, y: np.ndarray, cs: list[float], directions: list[int]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    """Mean, scale, coefficients and intercept of an L2-regularised logistic regression on
    standardised features, classes weighted to balance, each coefficient kept on the side
    its feature's direction says (0: either side), for each C in ``cs``. Minimises
    ½‖w‖² + C Σᵢ weightᵢ log(1 + exp(−sᵢ(zᵢ·w + b))), scikit-learn's objective for
    ``LogisticRegression(C=C, class_weight="balanced")``, with L-BFGS-B bounds; each fit starts
    from the previous one's solution (the objective is convex: the same optimum, sooner)."""
    from scipy.optimize import minimize

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale == 0, 1.0, scale)
    z = (x - mean) / scale
    sign = np.where(y == 1, 1.0, -1.0)
    weight = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))
    bounds = [(0, None) if d > 0 else (None, 0) if d < 0 else (None, None) for d in directions] + [(None, None)]
    theta = np.zeros(z.shape[1] + 1)
    fits = []
    for c in cs:

        def objective(theta: np.ndarray, c: float = c) -> tuple[float, np.ndarray]:
            w, b = theta[:-1], theta[-1]
            margin = sign * (z @ w + b)
            loss = np.logaddexp(0, -margin)
            slope = -sign * weight / (1 + np.exp(margin))  # d loss / d (z·w + b), weighted
            return float(0.5 * w @ w + c * (weight * loss).sum()), np.append(w + c * (z.T @ slope), c * slope.sum())

        theta = minimize(
            objective, theta, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 10_000, "gtol": 1e-10}
        ).x
        fits.append((mean, scale, theta[:-1], float(theta[-1])))
    return fits


def _fit_logistic(
    x: np.ndarray, y: np.ndarray, c: float, directions: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The fit of ``_fit_path`` for one C, from zero."""
    return _fit_path(x, y, [c], directions)[0]


def _logit(x: np.ndarray, fitted: tuple[np.ndarray, np.ndarray, np.ndarray, float]) -> np.ndarray:
    mean, scale, coef, intercept = fitted
    return (x - mean) / scale @ coef + intercept


def _folds(y: np.ndarray, groups: np.ndarray, first_seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train and test indices of every fold of ``CV_REPEATS`` grouped, stratified ``FOLDS``-fold
    splits (fold seeds ``first_seed`` on)."""
    from sklearn.model_selection import StratifiedGroupKFold

    return [
        (train, test)
        for seed in range(first_seed, first_seed + CV_REPEATS)
        for train, test in StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=seed).split(y, y, groups)
    ]


def _cv_auroc(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, directions: list[int], first_seed: int = 0
) -> tuple[np.ndarray, float]:
    """AUROC of each fold (rows) at each C of the grid (columns), and the folds' mean
    resolution: 1 / (genuine × fake) of a fold, what one reordered pair moves its AUROC by."""
    from sklearn.metrics import roc_auc_score

    values, resolution = [], []
    for train, test in _folds(y, groups, first_seed):
        fits = _fit_path(x[train], y[train], C_GRID, directions)
        values.append([roc_auc_score(y[test], _logit(x[test], fitted)) for fitted in fits])
        resolution.append(1 / (y[test].sum() * (len(test) - y[test].sum())))
    return np.array(values), float(np.mean(resolution))


def _chosen_c(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, directions: list[int], first_seed: int = 0
) -> tuple[float, dict, float]:
    """The strongest regularisation whose mean fold AUROC is within the folds' resolution of
    the best one's (see the module's docstring), every strength's mean fold AUROC, and the
    resolution."""
    values, resolution = _cv_auroc(x, y, groups, directions, first_seed)
    scores = dict(zip(C_GRID, (float(v) for v in values.mean(axis=0)), strict=True))
    best = max(scores.values())
    return min(c for c, value in scores.items() if value >= best - resolution), scores, resolution


def _nested_cv_auroc(x: np.ndarray, y: np.ndarray, groups: np.ndarray, directions: list[int]) -> float:
    """Mean AUROC over grouped outer folds (one stratified split, seed 0), the strength chosen
    anew inside each by the same rule: what the whole procedure, choice of C included, scores
    on groups it has not seen."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    values = []
    for train, test in StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=0).split(y, y, groups):
        c, _, _ = _chosen_c(x[train], y[train], groups[train], directions)
        fitted = _fit_logistic(x[train], y[train], c, directions)
        values.append(roc_auc_score(y[test], _logit(x[test], fitted)))
    return float(np.mean(values))


def fit(names: list[str], x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    """The model as stored (without its date)."""
    from sklearn.metrics import roc_auc_score

    from judging.combiner import FEATURES

    directions = [FEATURES[name].direction for name in names]
    chosen, scores, resolution = _chosen_c(x, y, groups, directions)
    fitted = _fit_logistic(x, y, chosen, directions)
    mean, scale, coef, intercept = fitted
    return {
        "features": [
            {
                "name": name,
                "direction": direction,
                "mean": round(float(m), DIGITS),
                "scale": round(float(sd), DIGITS),
                "coef": round(float(w), DIGITS) + 0.0,  # + 0.0: no "-0.0"
            }
            for name, direction, m, sd, w in zip(names, directions, mean, scale, coef, strict=True)
        ],
        "intercept": round(intercept, DIGITS),
        "C": chosen,
        "tune_items": int(len(y)),
        "tune_genuine": int(y.sum()),
        "tune_groups": int(len(set(groups.tolist()))),
        "cv_folds": FOLDS,
        "cv_repeats": CV_REPEATS,
        "cv_resolution": round(resolution, DIGITS),
        "tune_cv_auroc": round(scores[chosen], 4),
        "tune_nested_cv_auroc": round(_nested_cv_auroc(x, y, groups, directions), 4),
        "tune_fit_auroc": round(float(roc_auc_score(y, _logit(x, fitted))), 4),
        "cv_auroc_by_C": {str(c): round(value, 4) for c, value in scores.items()},
    }


def stability(names: list[str], x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> None:
    """Print the curve and the choice for other fold seeds and without each feature in turn:
    how far the rule's choice moves when nothing but the folds change, or one feature."""
    from judging.combiner import FEATURES

    directions = [FEATURES[name].direction for name in names]
    for first in (0, CV_REPEATS, 2 * CV_REPEATS):
        chosen, scores, resolution = _chosen_c(x, y, groups, directions, first)
        curve = "  ".join(f"{c:g}: {value:.4f}" for c, value in scores.items())
        print(f"fold seeds {first}–{first + CV_REPEATS - 1}: C={chosen:g} (resolution {resolution:.4f})\n  {curve}")
    for index, name in enumerate(names):
        keep = [i for i in range(len(names)) if i != index]
        chosen, scores, _ = _chosen_c(x[:, keep], y, groups, [directions[i] for i in keep])
        print(f"without {name:28} C={chosen:g}, CV AUROC {scores[chosen]:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=None, help="default: judging/data/offline_judge_model.json")
    parser.add_argument("--check", action="store_true", help="compare with the stored model instead of writing")
    parser.add_argument("--verbose", action="store_true", help="print each feature's AUROC on tune alone")
    parser.add_argument(
        "--stability", action="store_true", help="print the choice of C for other fold seeds and without each feature"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from judging.combiner import MODEL_PATH
    from tests.judging.calibration_support import local_embedder

    embed, _ = local_embedder()
    names, x, y, groups = tune_table(embed)
    if args.verbose:
        from sklearn.metrics import roc_auc_score

        for index, name in enumerate(names):
            print(f"  {name:28} alone AUROC {roc_auc_score(y, x[:, index]):.3f}")
    if args.stability:
        stability(names, x, y, groups)
        return
    model = fit(names, x, y, groups)
    output = args.output or MODEL_PATH
    if args.check:
        stored = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
        stored.pop("fitted_on", None)
        if stored != model:
            sys.exit("The stored model differs from a refit: run benchmarks/fit_offline_judge.py and commit it.")
        print("The stored model matches a refit.")
        return
    model["fitted_on"] = datetime.date.today().isoformat()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    print(
        f"{model['tune_items']} tune items ({model['tune_genuine']} genuine) in {model['tune_groups']} groups; "
        f"C={model['C']}; grouped {FOLDS}-fold CV ({CV_REPEATS} fold seeds) AUROC {model['tune_cv_auroc']:.3f} "
        f"(nested, C chosen inside each fold: {model['tune_nested_cv_auroc']:.3f}), "
        f"fit on all of tune {model['tune_fit_auroc']:.3f}"
    )
    ranked = sorted(((f["name"], f["coef"]) for f in model["features"]), key=lambda pair: -abs(pair[1]))
    for name, coef in ranked:
        print(f"  {name:28} {coef:+.3f}")
    print(f"written to {output}")


if __name__ == "__main__":
    main()
