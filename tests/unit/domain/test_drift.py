import math

import numpy as np
import pandas as pd
import pytest

from usine.domain.drift import (
    DriftThresholds,
    Severity,
    categorical_drift,
    count_in_bins,
    dataset_drift,
    numeric_drift,
    psi,
    reference_bins,
)
from usine.domain.features import FeatureKind, FeatureSpec
from usine.domain.reference import (
    CategoricalReference,
    NumericReference,
    compute_reference,
    describe_categorical,
    describe_numeric,
)

THRESHOLDS = DriftThresholds()
CITIES = np.array(["lyon", "paris", "lille", "nantes", "brest"])
CITY_SHARES = np.array([0.3, 0.3, 0.2, 0.15, 0.05])
FEATURES = [
    FeatureSpec(name="income", kind=FeatureKind.NUMBER),
    FeatureSpec(name="amount", kind=FeatureKind.NUMBER),
    FeatureSpec(name="band", kind=FeatureKind.INTEGER),
    FeatureSpec(name="ratio", kind=FeatureKind.NUMBER),
    FeatureSpec(name="city", kind=FeatureKind.CATEGORY, categories=tuple(sorted(CITIES))),
]


def sample(rows: int, seed: int, shifted: frozenset[str] = frozenset()) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    band_shares = [0.1, 0.2, 0.3, 0.4] if "band" not in shifted else [0.4, 0.3, 0.2, 0.1]
    city_shares = CITY_SHARES if "city" not in shifted else np.array([0.15, 0.3, 0.2, 0.3, 0.05])
    return pd.DataFrame(
        {
            "income": rng.normal(3000 + (600 if "income" in shifted else 0), 1000, rows),
            "amount": rng.lognormal(8, 0.5, rows) * (1.5 if "amount" in shifted else 1.0),
            "band": rng.choice([1, 2, 3, 4], rows, p=band_shares),
            "ratio": rng.uniform(0, 1, rows),
            "city": rng.choice(CITIES, rows, p=city_shares),
        }
    )


def drift_of(reference_frame: pd.DataFrame, current: pd.DataFrame) -> dict[str, Severity]:
    reference = compute_reference(reference_frame, FEATURES, np.linspace(0, 1, 100))
    verdicts = {}
    for name, ref in reference.numeric.items():
        window = count_in_bins(reference_bins(ref)[0], current[name].to_numpy(dtype=float))
        verdicts[name] = numeric_drift(name, ref, window, THRESHOLDS).severity
    counts = current["city"].value_counts().to_dict()
    verdicts["city"] = categorical_drift("city", reference.categorical["city"], counts, THRESHOLDS).severity
    return verdicts


@pytest.fixture(scope="module")
def reference_frame() -> pd.DataFrame:
    return sample(50_000, seed=1)


def test_an_unshifted_sample_of_100k_rows_flags_nothing(reference_frame: pd.DataFrame) -> None:
    verdicts = drift_of(reference_frame, sample(100_000, seed=2))
    assert verdicts == dict.fromkeys(verdicts, Severity.STABLE)


@pytest.mark.parametrize("column", ["income", "amount", "band", "city"])
def test_each_shifted_column_is_flagged_and_no_other(reference_frame: pd.DataFrame, column: str) -> None:
    verdicts = drift_of(reference_frame, sample(100_000, seed=3, shifted=frozenset({column})))
    assert verdicts.pop(column) is Severity.DRIFT
    assert verdicts == dict.fromkeys(verdicts, Severity.STABLE)


def test_psi_matches_a_hand_computation() -> None:
    # (0.5 - 0.25)·ln(0.5/0.25) + 0 + (0.25 - 0.5)·ln(0.25/0.5) = 0.5·ln 2
    assert psi(np.array([0.25, 0.25, 0.5]), np.array([0.5, 0.25, 0.25])) == pytest.approx(0.5 * math.log(2))


def test_numeric_psi_uses_the_reference_bins_and_floors_empty_ones() -> None:
    reference = NumericReference(
        count=400,
        missing=0,
        mean=2.5,
        std=1.1,
        min=1,
        max=4,
        quantiles=[1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4],
        bin_edges=[1, 2, 3],
        bin_counts=[100, 100, 100, 100],
    )
    window = count_in_bins(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 2.0, 3.0, np.nan]))
    assert window.counts.tolist() == [2, 1, 1, 0]
    drift = numeric_drift("band", reference, window, THRESHOLDS)
    expected = (0.5 - 0.25) * math.log(0.5 / 0.25) + (1e-4 - 0.25) * math.log(1e-4 / 0.25)
    assert drift.psi == pytest.approx(expected)
    assert drift.statistic == pytest.approx(0.25)  # KS: F_cur(1)=0.5 against F_ref(1)=0.25


def test_tied_deciles_are_counted_exactly_not_guessed() -> None:
    values = np.repeat([1.0, 2.0, 3.0, 4.0], [120, 280, 300, 300])
    reference = describe_numeric(values)
    assert reference.bin_edges == [1.0, 2.0, 3.0, 4.0]
    assert reference.bin_counts == [120, 280, 300, 300, 0]


def test_two_sample_chi_square_accounts_for_a_small_reference() -> None:
    # 200 training rows give 55/45 by chance; a million live rows at 50/50 are no evidence of drift
    # once the reference's own noise counts (a chi-square against 0.55 taken as exact gives p ≈ 0).
    reference = CategoricalReference(count=200, missing=0, frequencies={"a": 0.55, "b": 0.45})
    drift = categorical_drift("x", reference, {"a": 500_000, "b": 500_000}, THRESHOLDS)
    assert drift.p_value > 0.1
    assert drift.severity is Severity.STABLE


def test_unseen_categories_share_one_bin_and_count_as_drift() -> None:
    reference = describe_categorical(pd.Series(["a", "b"] * 500))
    drift = categorical_drift("x", reference, {"a": 300, "b": 300, "z": 400}, THRESHOLDS)
    assert drift.bins == ["a", "b", "(unseen)"]
    assert drift.current_shares[-1] == pytest.approx(0.4)
    assert drift.severity is Severity.DRIFT


def test_a_constant_feature_compares_without_error() -> None:
    reference = describe_numeric(np.full(100, 3.0))
    same = numeric_drift(
        "x", reference, count_in_bins(np.asarray(reference.bin_edges), np.full(50, 3.0)), THRESHOLDS
    )
    assert same.severity is Severity.STABLE
    assert math.isfinite(same.distance)


def test_a_reference_without_bin_counts_falls_back_on_deciles() -> None:
    values = np.random.default_rng(0).normal(size=10_000)
    legacy = describe_numeric(values).model_copy(update={"bin_edges": [], "bin_counts": []})
    edges, counts = reference_bins(legacy)
    assert edges.size == 9
    assert counts / counts.sum() == pytest.approx(np.full(10, 0.1))


def test_an_empty_window_is_refused() -> None:
    reference = describe_numeric(np.arange(10.0))
    with pytest.raises(ValueError, match="no value"):
        numeric_drift(
            "x", reference, count_in_bins(np.asarray(reference.bin_edges), np.array([np.nan])), THRESHOLDS
        )


def test_dataset_verdict_is_the_share_of_drifted_features() -> None:
    reference = describe_categorical(pd.Series(["a", "b"] * 500))
    stable = categorical_drift("s", reference, {"a": 500, "b": 500}, THRESHOLDS)
    drifted = categorical_drift("d", reference, {"a": 900, "b": 100}, THRESHOLDS)
    verdict = dataset_drift([stable, drifted, stable], THRESHOLDS)
    assert (verdict.drifted, verdict.features, verdict.drifted_dataset) == (1, 3, False)
    assert dataset_drift([drifted, stable], THRESHOLDS).drifted_dataset
