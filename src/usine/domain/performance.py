"""Performance of a scoring model in production: realised where feedback exists, estimated elsewhere.

Scores are accumulated on a fine grid of [0, 1] (bins of 1/1000 by default), with the
labels that arrived, so a window of any size is summarised in a few arrays. Realised
metrics (ROC AUC, Brier score, accuracy at 0.5, reliability bins) use the labelled rows;
the estimate follows NannyML's confidence-based performance estimation (CBPE): if the
scores are calibrated, a row scored *p* is a positive with probability *p*, so the expected
confusion matrix — and from it the expected AUC and accuracy — needs no label at all. The
estimate is only as good as the calibration, and it cannot see a change in the relation
between inputs and outcome (concept drift): it is always reported as an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

SCORE_BINS = 1000
RELIABILITY_BINS = 10
NO_LABEL = -1
DECISION_THRESHOLD = 0.5
"""A score at or above it is a positive decision (accuracy, shadow agreement)."""


@dataclass
class ScoreHistogram:
    """Sums of scores and labels on ``resolution`` equal bins of [0, 1]."""

    resolution: int
    count: np.ndarray
    score_sum: np.ndarray
    labelled: np.ndarray
    positives: np.ndarray
    labelled_score_sum: np.ndarray
    labelled_score_squares: np.ndarray
    positive_score_sum: np.ndarray

    @classmethod
    def empty(cls, resolution: int = SCORE_BINS) -> ScoreHistogram:
        """A histogram with nothing in it."""
        return cls(resolution, *(np.zeros(resolution) for _ in range(7)))

    def add(self, scores: np.ndarray, labels: np.ndarray) -> None:
        """Add scores and their labels (1 positive, 0 negative, ``NO_LABEL`` when unknown)."""
        scores = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
        labels = np.asarray(labels)
        index = np.minimum((scores * self.resolution).astype(np.int64), self.resolution - 1)
        known = labels != NO_LABEL
        positive = labels == 1
        size = self.resolution
        self.count += np.bincount(index, minlength=size)
        self.score_sum += np.bincount(index, weights=scores, minlength=size)
        self.labelled += np.bincount(index[known], minlength=size)
        self.positives += np.bincount(index[positive], minlength=size)
        self.labelled_score_sum += np.bincount(index[known], weights=scores[known], minlength=size)
        self.labelled_score_squares += np.bincount(index[known], weights=scores[known] ** 2, minlength=size)
        self.positive_score_sum += np.bincount(index[positive], weights=scores[positive], minlength=size)

    @property
    def rows(self) -> int:
        """Scores counted."""
        return int(self.count.sum())

    def quantile(self, level: float) -> float | None:
        """The score below which ``level`` of the rows lie (to the bin's upper edge)."""
        if self.rows == 0:
            return None
        cumulative = np.cumsum(self.count) / self.rows
        return float((np.searchsorted(cumulative, level) + 1) / self.resolution)


class ReliabilityBin(BaseModel):
    """One bin of the reliability diagram: mean score against the observed positive rate."""

    low: float
    high: float
    rows: int
    mean_score: float
    observed_rate: float


class RealisedPerformance(BaseModel):
    """Metrics on the predictions whose label arrived."""

    labelled: int
    positives: int
    label_coverage: float = Field(description="Share of the window's predictions that have a label.")
    roc_auc: float | None
    brier: float | None
    accuracy: float | None = Field(description="At a 0.5 threshold.")
    unavailable_reason: str | None = Field(description="Why a metric is missing, when one is.")
    reliability: list[ReliabilityBin]


class EstimatedPerformance(BaseModel):
    """Performance estimated from the scores alone (CBPE); an estimate, not a measurement."""

    method: str = "CBPE"
    estimated: bool = True
    rows: int
    roc_auc: float | None
    accuracy: float | None = Field(description="At a 0.5 threshold.")
    expected_positive_rate: float | None
    unavailable_reason: str | None


def binned_auc(positives: np.ndarray, negatives: np.ndarray) -> float | None:
    """ROC AUC from positive and negative weights per score bin (ascending); ties count half.

    Returns ``None`` when either class has no weight.
    """
    total_pos, total_neg = float(positives.sum()), float(negatives.sum())
    if total_pos <= 0 or total_neg <= 0:
        return None
    above = np.cumsum(positives[::-1])[::-1] - positives
    return float(np.sum(negatives * (above + 0.5 * positives)) / (total_pos * total_neg))


def _threshold_index(histogram: ScoreHistogram) -> int:
    return int(histogram.resolution * DECISION_THRESHOLD)


def realised_performance(histogram: ScoreHistogram) -> RealisedPerformance:
    """AUC, Brier score, accuracy and reliability on the labelled rows of ``histogram``."""
    labelled = int(histogram.labelled.sum())
    positives = int(histogram.positives.sum())
    coverage = labelled / histogram.rows if histogram.rows else 0.0
    if labelled == 0:
        return RealisedPerformance(
            labelled=0,
            positives=0,
            label_coverage=coverage,
            roc_auc=None,
            brier=None,
            accuracy=None,
            unavailable_reason="no feedback in the window",
            reliability=[],
        )
    negatives = histogram.labelled - histogram.positives
    auc = binned_auc(histogram.positives, negatives)
    reason = None if auc is not None else f"AUC needs both classes; all {labelled} labels are of one class"
    squares = histogram.labelled_score_squares.sum()
    brier = (squares - 2 * histogram.positive_score_sum.sum() + positives) / labelled
    cut = _threshold_index(histogram)
    correct = negatives[:cut].sum() + histogram.positives[cut:].sum()
    return RealisedPerformance(
        labelled=labelled,
        positives=positives,
        label_coverage=coverage,
        roc_auc=auc,
        brier=float(brier),
        accuracy=float(correct / labelled),
        unavailable_reason=reason,
        reliability=reliability(histogram),
    )


def reliability(histogram: ScoreHistogram, bins: int = RELIABILITY_BINS) -> list[ReliabilityBin]:
    """Reliability diagram of the labelled rows: ``bins`` equal score bins, empty ones left out."""
    group = histogram.resolution // bins
    rows = histogram.labelled.reshape(bins, group).sum(axis=1)
    scores = histogram.labelled_score_sum.reshape(bins, group).sum(axis=1)
    positives = histogram.positives.reshape(bins, group).sum(axis=1)
    return [
        ReliabilityBin(
            low=i / bins,
            high=(i + 1) / bins,
            rows=int(rows[i]),
            mean_score=float(scores[i] / rows[i]),
            observed_rate=float(positives[i] / rows[i]),
        )
        for i in range(bins)
        if rows[i] > 0
    ]


def estimated_performance(histogram: ScoreHistogram) -> EstimatedPerformance:
    """CBPE: expected AUC and accuracy if the scores are calibrated probabilities."""
    rows = histogram.rows
    if rows == 0:
        return EstimatedPerformance(
            rows=0,
            roc_auc=None,
            accuracy=None,
            expected_positive_rate=None,
            unavailable_reason="no prediction in the window",
        )
    expected_pos = histogram.score_sum
    expected_neg = histogram.count - histogram.score_sum
    auc = binned_auc(expected_pos, expected_neg)
    cut = _threshold_index(histogram)
    correct = expected_neg[:cut].sum() + expected_pos[cut:].sum()
    return EstimatedPerformance(
        rows=rows,
        roc_auc=auc,
        accuracy=float(correct / rows),
        expected_positive_rate=float(expected_pos.sum() / rows),
        unavailable_reason=None if auc is not None else "every score is 0 or 1: nothing to rank",
    )
