"""Discrimination and calibration metrics of a binary scoring model."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve


def classification_metrics(y_true: ArrayLike, scores: ArrayLike) -> dict[str, float]:
    """Metrics a credit-risk reviewer reads, from labels and predicted probabilities.

    Args:
        y_true: 1 where the event (default) happened, 0 elsewhere.
        scores: predicted probability of the event.

    Returns:
        ``roc_auc``, ``gini`` (2·AUC − 1), ``ks`` (Kolmogorov–Smirnov: the largest gap
        between the score distributions of events and non-events), ``brier`` and ``log_loss``.

    Raises:
        ValueError: when ``y_true`` holds a single class (no ranking metric exists).

    """
    labels = np.asarray(y_true, dtype=np.int8)
    probabilities = np.asarray(scores, dtype=np.float64)
    if np.unique(labels).size < 2:
        raise ValueError("metrics need both classes among the labels")
    auc = float(roc_auc_score(labels, probabilities))
    false_positive_rate, true_positive_rate, _ = roc_curve(labels, probabilities)
    return {
        "roc_auc": auc,
        "gini": 2.0 * auc - 1.0,
        "ks": float(np.max(true_positive_rate - false_positive_rate)),
        "brier": float(brier_score_loss(labels, probabilities)),
        "log_loss": float(log_loss(labels, probabilities, labels=[0, 1])),
    }
