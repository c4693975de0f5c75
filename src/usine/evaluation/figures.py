"""Evaluation figures of a binary scoring model on held-out data, as SVG documents."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score, roc_curve

from usine.domain.fairness import FOUR_FIFTHS, AttributeFairness
from usine.monitoring.plots import CURRENT_COLOUR, ESTIMATE_COLOUR, REFERENCE_COLOUR, to_svg


def roc(target: np.ndarray, scores: np.ndarray) -> str:
    """ROC curve, with the chance diagonal."""
    figure = Figure(figsize=(4.2, 4.0))
    axes = figure.subplots()
    false_positive, true_positive, _ = roc_curve(target, scores)
    axes.plot(false_positive, true_positive, color=CURRENT_COLOUR, label="model")
    axes.plot([0, 1], [0, 1], linestyle="--", color=REFERENCE_COLOUR, label="chance")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.legend(fontsize=8)
    return to_svg(figure, f"ROC curve (AUC {roc_auc_score(target, scores):.3f})")


def calibration(target: np.ndarray, scores: np.ndarray, bins: int = 10) -> str:
    """Observed default rate against the mean predicted probability, per quantile bin."""
    figure = Figure(figsize=(4.2, 4.0))
    axes = figure.subplots()
    observed, predicted = calibration_curve(target, scores, n_bins=bins, strategy="quantile")
    axes.plot(predicted, observed, marker="o", color=CURRENT_COLOUR, label="model")
    axes.plot([0, 1], [0, 1], linestyle="--", color=REFERENCE_COLOUR, label="perfect")
    axes.set_xlabel("mean predicted probability")
    axes.set_ylabel("observed rate")
    axes.legend(fontsize=8)
    return to_svg(figure, f"Calibration ({bins} quantile bins)")


def score_distribution(target: np.ndarray, scores: np.ndarray, labels: tuple[str, str]) -> str:
    """Histograms of the scores of each class (``labels``: negative, positive)."""
    figure = Figure(figsize=(6.0, 3.0))
    axes = figure.subplots()
    edges = np.linspace(0.0, 1.0, 26).tolist()
    for value, label, colour in ((0, labels[0], ESTIMATE_COLOUR), (1, labels[1], CURRENT_COLOUR)):
        axes.hist(scores[target == value], bins=edges, alpha=0.6, density=True, label=label, color=colour)
    axes.set_xlabel("predicted probability")
    axes.set_ylabel("density")
    axes.legend(fontsize=8)
    return to_svg(figure, "Score distribution by class")


def importance(drops: dict[str, tuple[float, float]]) -> str:
    """Permutation importance: mean drop of ROC AUC (with its standard deviation) per feature."""
    ordered = sorted(drops.items(), key=lambda item: item[1][0])
    figure = Figure(figsize=(6.4, 0.25 * len(ordered) + 1.0))
    axes = figure.subplots()
    positions = np.arange(len(ordered))
    axes.barh(
        positions, [m for _, (m, _) in ordered], xerr=[s for _, (_, s) in ordered], color=CURRENT_COLOUR
    )
    axes.set_yticks(positions, [name for name, _ in ordered], fontsize=7)
    axes.set_xlabel("drop of ROC AUC when the feature is shuffled")
    return to_svg(figure, "Permutation feature importance (held-out data)")


def approval_rates(attribute: AttributeFairness) -> str:
    """Approval rate per group, with the four-fifths line under the best group's rate."""
    figure = Figure(figsize=(5.0, 2.8))
    axes = figure.subplots()
    names = [group.group for group in attribute.groups]
    rates = [group.approval_rate for group in attribute.groups]
    axes.bar(names, rates, color=ESTIMATE_COLOUR)
    axes.axhline(FOUR_FIFTHS * max(rates), linestyle="--", color=CURRENT_COLOUR, label="4/5 of the highest")
    axes.set_ylim(0, 1)
    axes.set_ylabel("approval rate")
    axes.legend(fontsize=8)
    title = f"{attribute.attribute}: disparate impact {attribute.disparate_impact:.2f}"
    return to_svg(figure, title)
