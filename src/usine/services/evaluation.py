"""Held-out evaluation a model-risk reviewer reads: figures, permutation importance, fairness."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

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


def evaluate(
    model: Any,
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
        model: the fitted estimator (``predict_proba`` on ``inputs``).
        inputs: the held-out features.
        target: 1 for the positive class (default), 0 otherwise.
        scores: the model's probability of the positive class on ``inputs``.
        labels: names of the negative and positive classes, as the model's ``classes_`` holds them.
        protected: group of each held-out row, per protected attribute.
        threshold: the decision threshold (approve below it) the fairness report assumes.
        seed: seeds the permutations, so a rerun gives the same importances.

    """
    named_target = np.where(target == 1, labels[1], labels[0])
    permuted = permutation_importance(
        model, inputs, named_target, scoring="roc_auc", n_repeats=PERMUTATION_REPEATS, random_state=seed
    )
    importance = {
        str(column): (float(mean), float(std))
        for column, mean, std in zip(
            inputs.columns, permuted.importances_mean, permuted.importances_std, strict=True
        )
    }
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
