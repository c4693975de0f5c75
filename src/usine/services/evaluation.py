"""Held-out evaluation a model-risk reviewer reads: figures, permutation importance, fairness."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from usine.domain.fairness import AttributeFairness, attribute_fairness, fairness_metrics
from usine.evaluation import figures

PERMUTATION_REPEATS = 5


@dataclass(frozen=True)
class Evaluation:
    """Everything evaluation adds to a run beside the headline metrics."""

    fairness: list[AttributeFairness]
    importance: dict[str, tuple[float, float]]
    figures: dict[str, str]

    @property
    def metrics(self) -> dict[str, float]:
        """Fairness metrics under flat names, for the tracking server."""
        return fairness_metrics(self.fairness)

    def artifacts(self) -> dict[str, Any]:
        """The JSON artefacts: fairness per attribute and permutation importance."""
        return {
            "evaluation/fairness.json": [attribute.model_dump(mode="json") for attribute in self.fairness],
            "evaluation/importance.json": {
                name: {"mean_auc_drop": mean, "std": std} for name, (mean, std) in self.importance.items()
            },
        }


Scorer = Callable[[pd.DataFrame], np.ndarray]


def permutation_importance(
    score: Scorer, inputs: pd.DataFrame, target: np.ndarray, repeats: int, seed: int
) -> dict[str, tuple[float, float]]:
    """Mean and standard deviation of the ROC AUC lost when one column is shuffled (seeded)."""
    baseline = float(roc_auc_score(target, score(inputs)))
    generator = np.random.default_rng(seed)
    found = {}
    for column in inputs.columns:
        drops = []
        for _ in range(repeats):
            shuffled = inputs.assign(**{column: generator.permutation(inputs[column].to_numpy())})
            drops.append(baseline - float(roc_auc_score(target, score(shuffled))))
        found[str(column)] = (float(np.mean(drops)), float(np.std(drops)))
    return found


def evaluate(
    score: Scorer,
    inputs: pd.DataFrame,
    target: np.ndarray,
    scores: np.ndarray,
    *,
    labels: tuple[str, str],
    protected: dict[str, np.ndarray],
    threshold: float,
    seed: int,
) -> Evaluation:
    """Evaluate a fitted classifier on held-out data.

    Args:
        score: the fitted model's probability of the positive class for a frame of inputs.
        inputs: the held-out features.
        target: 1 for the positive class (default), 0 otherwise.
        scores: the model's probability of the positive class on ``inputs``.
        labels: names of the negative and positive classes, as the model's ``classes_`` holds them.
        protected: group of each held-out row, per protected attribute.
        threshold: the decision threshold (approve below it) the fairness report assumes.
        seed: seeds the permutations, so a rerun gives the same importances.

    """
    importance = permutation_importance(score, inputs, target, PERMUTATION_REPEATS, seed)
    fairness = [
        attribute_fairness(attribute, groups, target, scores, threshold)
        for attribute, groups in protected.items()
    ]
    rendered = {
        "evaluation/figures/roc.svg": figures.roc(target, scores),
        "evaluation/figures/calibration.svg": figures.calibration(target, scores),
        "evaluation/figures/score_distribution.svg": figures.score_distribution(target, scores, labels),
        "evaluation/figures/permutation_importance.svg": figures.importance(importance),
    }
    for attribute in fairness:
        rendered[f"evaluation/figures/fairness_{attribute.attribute}.svg"] = figures.approval_rates(attribute)
    return Evaluation(fairness=fairness, importance=importance, figures=rendered)
