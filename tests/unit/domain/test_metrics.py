import numpy as np
import pytest

from usine.domain.metrics import classification_metrics


def test_metrics_of_a_known_ranking() -> None:
    labels = [0, 0, 1, 1]
    scores = [0.1, 0.4, 0.35, 0.8]
    metrics = classification_metrics(labels, scores)
    assert metrics["roc_auc"] == pytest.approx(0.75)
    assert metrics["gini"] == pytest.approx(0.5)
    assert metrics["ks"] == pytest.approx(0.5)
    expected_brier = np.mean((np.array(scores) - np.array(labels)) ** 2)
    assert metrics["brier"] == pytest.approx(expected_brier)
    assert metrics["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.6, 0.35, 0.8])))


def test_a_perfect_ranking_scores_one() -> None:
    metrics = classification_metrics([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9])
    assert (metrics["roc_auc"], metrics["gini"], metrics["ks"]) == (1.0, 1.0, 1.0)


def test_a_single_class_has_no_ranking_metric() -> None:
    with pytest.raises(ValueError, match="both classes"):
        classification_metrics([1, 1, 1], [0.2, 0.5, 0.9])
