import numpy as np
import pandas as pd
import pytest

from usine.domain.features import FeatureKind, FeatureSpec
from usine.domain.reference import compute_reference, describe_categorical, describe_numeric


def test_numeric_reference_has_deciles_and_counts_missing_values() -> None:
    values = np.append(np.arange(101, dtype=float), [np.nan, np.nan])
    summary = describe_numeric(values)
    assert summary.quantiles == [float(q) for q in range(0, 101, 10)]
    assert (summary.count, summary.missing) == (103, 2)
    assert (summary.min, summary.max, summary.mean) == (0.0, 100.0, 50.0)


def test_a_column_without_values_is_refused() -> None:
    with pytest.raises(ValueError, match="no values"):
        describe_numeric(np.array([np.nan]))


def test_categorical_reference_holds_shares() -> None:
    summary = describe_categorical(pd.Series(["own", "rent", "own", None, "own"]))
    assert summary.frequencies == {"own": 0.75, "rent": 0.25}
    assert (summary.count, summary.missing) == (5, 1)


def test_reference_covers_every_feature_and_the_scores() -> None:
    frame = pd.DataFrame({"age": [20, 30, 40], "housing": ["own", "rent", "own"]})
    features = [
        FeatureSpec(name="age", kind=FeatureKind.INTEGER),
        FeatureSpec(name="housing", kind=FeatureKind.CATEGORY, categories=("own", "rent")),
    ]
    reference = compute_reference(frame, features, np.array([0.1, 0.5, 0.9]))
    assert reference.rows == 3
    assert list(reference.numeric) == ["age"]
    assert list(reference.categorical) == ["housing"]
    assert reference.score.quantiles[5] == pytest.approx(0.5)
