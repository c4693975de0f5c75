from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from usine.domain.monitoring import MIN_BUCKET_LABELS, bucket_width, label_freshness, time_bucket
from usine.domain.performance import ScoreHistogram
from usine.domain.window import LabelTimes

START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("span", "name"),
    [(timedelta(hours=24), "hour"), (timedelta(days=7), "day"), (timedelta(days=180), "week")],
)
def test_the_timeline_bucket_follows_the_window_length(span: timedelta, name: str) -> None:
    assert bucket_width(START, START + span)[0] == name


def test_a_bucket_with_few_labels_shows_no_realised_auc_but_keeps_the_estimate() -> None:
    histogram = ScoreHistogram.empty(100)
    scores = np.linspace(0.05, 0.95, 200)
    labels = np.full(200, -1, dtype=np.int8)
    labels[: MIN_BUCKET_LABELS - 1] = np.arange(MIN_BUCKET_LABELS - 1) % 2
    histogram.add(scores, labels)
    bucket = time_bucket(START, histogram)
    assert (bucket.rows, bucket.labelled, bucket.roc_auc) == (200, MIN_BUCKET_LABELS - 1, None)
    assert bucket.estimated_roc_auc is not None
    assert bucket.score_p50 == pytest.approx(0.5, abs=0.02)


def test_label_staleness_is_measured_from_the_window_end() -> None:
    times = LabelTimes()
    times.add(START, START + timedelta(hours=10))
    times.add(START, START + timedelta(hours=30))
    freshness = label_freshness(times, START + timedelta(hours=40))
    assert (freshness.labelled, freshness.mean_delay_hours, freshness.max_delay_hours) == (2, 20.0, 30.0)
    assert freshness.hours_since_last_label == pytest.approx(10.0)
    assert label_freshness(LabelTimes(), START).hours_since_last_label is None
