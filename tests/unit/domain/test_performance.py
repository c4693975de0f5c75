import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from usine.domain.performance import (
    NO_LABEL,
    ScoreHistogram,
    estimated_performance,
    realised_performance,
)


def calibrated(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.beta(2, 5, rows)
    return scores, (rng.uniform(size=rows) < scores).astype(np.int8)


def histogram_of(scores: np.ndarray, labels: np.ndarray) -> ScoreHistogram:
    histogram = ScoreHistogram.empty()
    for part in range(4):  # chunk by chunk, as the window is read
        histogram.add(scores[part::4], labels[part::4])
    return histogram


def test_realised_metrics_match_scikit_learn() -> None:
    scores, labels = calibrated(50_000)
    realised = realised_performance(histogram_of(scores, labels))
    assert realised.roc_auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-3)
    assert realised.brier == pytest.approx(brier_score_loss(labels, scores))
    assert realised.accuracy == pytest.approx(np.mean((scores >= 0.5) == labels), abs=1e-3)
    assert (realised.labelled, realised.label_coverage) == (50_000, 1.0)


def test_cbpe_on_calibrated_scores_is_close_to_the_realised_auc() -> None:
    scores, labels = calibrated(200_000, seed=1)
    hidden = np.full_like(labels, NO_LABEL)
    estimate = estimated_performance(histogram_of(scores, hidden))
    assert estimate.estimated
    assert estimate.method == "CBPE"
    assert estimate.roc_auc == pytest.approx(roc_auc_score(labels, scores), abs=0.005)
    assert estimate.accuracy == pytest.approx(np.mean((scores >= 0.5) == labels), abs=0.005)


def test_reliability_of_calibrated_scores_follows_the_diagonal() -> None:
    scores, labels = calibrated(200_000, seed=2)
    bins = realised_performance(histogram_of(scores, labels)).reliability
    assert len(bins) == 10
    for reliability_bin in bins:
        if reliability_bin.rows > 1000:
            assert reliability_bin.observed_rate == pytest.approx(reliability_bin.mean_score, abs=0.02)


def test_single_class_labels_give_no_auc_but_say_why() -> None:
    scores, _ = calibrated(100)
    realised = realised_performance(histogram_of(scores, np.zeros(100, dtype=np.int8)))
    assert realised.roc_auc is None
    assert "one class" in (realised.unavailable_reason or "")
    assert realised.brier is not None


def test_without_feedback_performance_is_unavailable_and_coverage_zero() -> None:
    scores, _ = calibrated(100)
    realised = realised_performance(histogram_of(scores, np.full(100, NO_LABEL, dtype=np.int8)))
    assert (realised.roc_auc, realised.label_coverage) == (None, 0.0)
    assert realised.unavailable_reason == "no feedback in the window"


def test_partial_feedback_reports_its_coverage() -> None:
    scores, labels = calibrated(1000)
    labels[::4] = NO_LABEL
    assert realised_performance(histogram_of(scores, labels)).label_coverage == pytest.approx(0.75)
