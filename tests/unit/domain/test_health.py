import numpy as np
import pytest

from usine.domain.health import LatencyHistogram


def test_percentiles_are_within_five_percent_of_the_exact_ones() -> None:
    latencies = np.random.default_rng(0).lognormal(2, 1, 100_000)
    histogram = LatencyHistogram()
    for chunk in np.array_split(latencies, 7):
        histogram.add(chunk)
    for level in (0.5, 0.95, 0.99):
        assert histogram.percentile(level) == pytest.approx(np.quantile(latencies, level), rel=0.05)


def test_an_empty_histogram_has_no_percentile() -> None:
    assert LatencyHistogram().percentile(0.5) is None
