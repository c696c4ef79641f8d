"""Fit the offline judge's combiner on the calibration set's tune split.

Computes the features of ``judging.combiner`` for every ``tune`` item of
``tests/judging/data/calibration.json`` and fits an L2-regularised logistic regression
(genuine = 1, fake = 0, classes weighted to balance) on standardised features, each
coefficient kept on the side its feature's declared direction says (more unsupported claims
never make an answer more likely right). The regularisation strength is chosen by
cross-validation within tune, grouped so that items sharing a question or a context are
never split between folds: the strongest whose mean fold AUROC is within one standard error
of the best. The fold AUROC is reported for the chosen strength, beside a nested figure (the
choice made anew inside each outer fold) and the AUROC of the final fit on all of tune
(which is optimistic). Answers that address the
grader are left out: a hard rule disqualifies them whatever the model says.

The result is written to ``judging/data/offline_judge_model.json``; the run is
deterministic, and ``tests/judging/test_combiner.py`` checks that a refit reproduces the
stored model. Never fit on the holdout split.

Usage: python benchmarks/fit_offline_judge.py [--output PATH] [--check] [--verbose]
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

C_GRID = [round(float(c), 4) for c in np.logspace(-2, 1, 13)]  # inverse regularisation strengths tried
FOLDS = 5
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


def _fit_logistic(
    x: np.ndarray, y: np.ndarray, c: float, directions: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Mean, scale, coefficients and intercept of an L2-regularised logistic regression on
    standardised features, classes weighted to balance, each coefficient kept on the side
    its feature's direction says (0: either side). Minimises
    ½‖w‖² + C Σᵢ weightᵢ log(1 + exp(−sᵢ(zᵢ·w + b))), scikit-learn's objective for
    ``LogisticRegression(C=C, class_weight="balanced")``, with L-BFGS-B bounds."""
    from scipy.optimize import minimize

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale == 0, 1.0, scale)
    z = (x - mean) / scale
    sign = np.where(y == 1, 1.0, -1.0)
    weight = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        margin = sign * (z @ w + b)
        loss = np.logaddexp(0, -margin)
        slope = -sign * weight / (1 + np.exp(margin))  # d loss / d (z·w + b), weighted
        return float(0.5 * w @ w + c * (weight * loss).sum()), np.append(w + c * (z.T @ slope), c * slope.sum())

    bounds = [(0, None) if d > 0 else (None, 0) if d < 0 else (None, None) for d in directions] + [(None, None)]
    result = minimize(
        objective,
        np.zeros(z.shape[1] + 1),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 10_000, "gtol": 1e-10},
    )
    return mean, scale, result.x[:-1], float(result.x[-1])


def _logit(x: np.ndarray, fitted: tuple[np.ndarray, np.ndarray, np.ndarray, float]) -> np.ndarray:
    mean, scale, coef, intercept = fitted
    return (x - mean) / scale @ coef + intercept


def _cv_auroc(x: np.ndarray, y: np.ndarray, groups: np.ndarray, c: float, directions: list[int]) -> np.ndarray:
    """AUROC of each grouped fold."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    values = []
    for train, test in GroupKFold(n_splits=FOLDS).split(x, y, groups):
        fitted = _fit_logistic(x[train], y[train], c, directions)
        values.append(roc_auc_score(y[test], _logit(x[test], fitted)))
    return np.array(values)


def _chosen_c(x: np.ndarray, y: np.ndarray, groups: np.ndarray, directions: list[int]) -> tuple[float, dict]:
    """The strongest regularisation whose mean fold AUROC is within one standard error of the
    best one's (the one-standard-error rule: where the folds cannot tell strengths apart, the
    simpler model), and every strength's mean fold AUROC."""
    folds = {c: _cv_auroc(x, y, groups, c, directions) for c in C_GRID}
    scores = {c: float(values.mean()) for c, values in folds.items()}
    best = max(scores, key=lambda c: (scores[c], -c))
    error = float(folds[best].std(ddof=1) / np.sqrt(len(folds[best])))
    return min(c for c, value in scores.items() if value >= scores[best] - error), scores


def _nested_cv_auroc(x: np.ndarray, y: np.ndarray, groups: np.ndarray, directions: list[int]) -> float:
    """Mean AUROC over grouped outer folds, the strength chosen anew inside each: what the
    whole procedure, choice of C included, scores on groups it has not seen."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    values = []
    for train, test in GroupKFold(n_splits=FOLDS).split(x, y, groups):
        c, _ = _chosen_c(x[train], y[train], groups[train], directions)
        fitted = _fit_logistic(x[train], y[train], c, directions)
        values.append(roc_auc_score(y[test], _logit(x[test], fitted)))
    return float(np.mean(values))


def fit(names: list[str], x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    """The model as stored (without its date)."""
    from sklearn.metrics import roc_auc_score

    from judging.combiner import FEATURES

    directions = [FEATURES[name].direction for name in names]
    chosen, scores = _chosen_c(x, y, groups, directions)
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
        "tune_cv_auroc": round(scores[chosen], 4),
        "tune_nested_cv_auroc": round(_nested_cv_auroc(x, y, groups, directions), 4),
        "tune_fit_auroc": round(float(roc_auc_score(y, _logit(x, fitted))), 4),
        "cv_auroc_by_C": {str(c): round(value, 4) for c, value in scores.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=None, help="default: judging/data/offline_judge_model.json")
    parser.add_argument("--check", action="store_true", help="compare with the stored model instead of writing")
    parser.add_argument("--verbose", action="store_true", help="print each feature's AUROC on tune alone")
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
        f"C={model['C']}; grouped {FOLDS}-fold CV AUROC {model['tune_cv_auroc']:.3f} "
        f"(nested, C chosen inside each fold: {model['tune_nested_cv_auroc']:.3f}), "
        f"fit on all of tune {model['tune_fit_auroc']:.3f}"
    )
    ranked = sorted(((f["name"], f["coef"]) for f in model["features"]), key=lambda pair: -abs(pair[1]))
    for name, coef in ranked:
        print(f"  {name:28} {coef:+.3f}")
    print(f"written to {output}")


if __name__ == "__main__":
    main()
