from collections import Counter

import numpy as np
import pandas as pd
import pytest

from usine.domain.drift import DriftThresholds, Severity
from usine.domain.errors import FeatureMissingFromLog, NoReferenceStatistics
from usine.domain.features import FeatureKind, FeatureSpec
from usine.domain.performance import NO_LABEL
from usine.domain.reference import compute_reference
from usine.domain.window import VersionWindow, as_numbers

FEATURES = [
    FeatureSpec(name="age", kind=FeatureKind.INTEGER, minimum=18, maximum=120),
    FeatureSpec(name="housing", kind=FeatureKind.CATEGORY, categories=("own", "rent")),
]
REFERENCE = compute_reference(
    pd.DataFrame({"age": np.arange(20, 70), "housing": ["own", "rent"] * 25}),
    FEATURES,
    np.linspace(0.05, 0.95, 50),
)


def test_logged_values_of_the_wrong_type_are_counted_as_invalid() -> None:
    values, invalid = as_numbers([1, None, "forty", 2.5, True])
    assert invalid == 2
    assert np.isnan(values).tolist() == [False, True, True, False, True]


def test_quality_counts_missing_out_of_range_and_unseen_values() -> None:
    window = VersionWindow("1", FEATURES, REFERENCE)
    inputs = [
        {"age": 30, "housing": "own"},
        {"age": 150, "housing": "castle"},
        {"age": None, "housing": None},
        {"age": "old", "housing": "rent"},
    ]
    window.add_records(inputs, np.array([0.1, 0.2, 0.3, 0.4]), np.full(4, NO_LABEL))
    quality = {q.feature: q for q in window.data_quality()}
    assert (quality["age"].missing, quality["age"].invalid, quality["age"].out_of_range) == (1, 1, 1)
    assert (quality["housing"].missing, quality["housing"].unseen) == (1, 1)
    assert quality["housing"].unseen_examples == ["castle"]
    assert quality["age"].severity is Severity.WARNING


def test_a_feature_absent_from_every_record_is_refused_by_name() -> None:
    window = VersionWindow("1", FEATURES, REFERENCE)
    window.add_records([{"age": 30}, {"age": 40}], np.array([0.1, 0.2]), np.full(2, NO_LABEL))
    with pytest.raises(FeatureMissingFromLog, match="housing"):
        window.check_features_logged()


def test_a_feature_without_reference_statistics_is_refused() -> None:
    extra = [*FEATURES, FeatureSpec(name="income", kind=FeatureKind.NUMBER)]
    with pytest.raises(NoReferenceStatistics, match="income"):
        VersionWindow("1", extra, REFERENCE)


def test_a_window_like_training_shows_no_drift() -> None:
    window = VersionWindow("1", FEATURES, REFERENCE)
    for _ in range(20):
        window.add_numbers(FEATURES[0], np.arange(20, 70, dtype=float))
        window.add_categories(FEATURES[1], Counter({"own": 25, "rent": 25}))
        window.add_scores(np.linspace(0.05, 0.95, 50), np.full(50, NO_LABEL))
    drifts = window.drift(DriftThresholds())
    assert [d.severity for d in drifts] == [Severity.STABLE, Severity.STABLE]
    score = window.score_drift(DriftThresholds())
    assert score is not None
    assert score.severity is Severity.STABLE
