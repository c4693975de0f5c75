import numpy as np
import pandas as pd
import pytest

from usine.domain.errors import InvalidShift
from usine.domain.features import FeatureKind, FeatureSpec
from usine.domain.shifts import Shift, apply_shifts, parse_shift

FEATURES = [
    FeatureSpec(name="age", kind=FeatureKind.INTEGER, minimum=18, maximum=120),
    FeatureSpec(name="amount", kind=FeatureKind.NUMBER, minimum=1, maximum=1000),
    FeatureSpec(name="housing", kind=FeatureKind.CATEGORY, categories=("own", "rent")),
]


def test_shifts_are_read_against_the_contract() -> None:
    assert parse_shift("amount*1.5", FEATURES) == Shift("amount", "*", "1.5")
    assert parse_shift("housing=rent@0.25", FEATURES) == Shift("housing", "=", "rent", 0.25)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("income*2", "no feature"),
        ("housing=castle", "one of own, rent"),
        ("age=30", "numeric"),
        ("age*old", "numeric"),
        ("age+1@1.5", "share"),
        ("age", "write feature"),
    ],
)
def test_a_shift_that_does_not_fit_is_refused_with_its_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidShift, match=reason):
        parse_shift(text, FEATURES)


def test_shifted_values_stay_in_the_declared_domain_and_keep_their_type() -> None:
    frame = pd.DataFrame({"age": [20, 100], "amount": [10.0, 900.0], "housing": ["own", "own"]})
    shifts = [parse_shift(s, FEATURES) for s in ("age+30", "amount*2", "housing=rent")]
    shifted = apply_shifts(frame, shifts, FEATURES, np.random.default_rng(0))
    assert shifted["age"].tolist() == [50, 120]
    assert shifted["amount"].tolist() == [20.0, 1000.0]
    assert shifted["housing"].tolist() == ["rent", "rent"]
    assert frame["age"].tolist() == [20, 100]  # the input is left alone
