"""The input contract applied to whole tables: every bad row named, every good row typed."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from usine.domain.errors import SchemaMismatch
from usine.domain.features import FeatureKind, FeatureSpec
from usine.domain.frame_check import check_frame

FEATURES = [
    FeatureSpec(name="age", kind=FeatureKind.INTEGER, minimum=18, maximum=100),
    FeatureSpec(name="amount", kind=FeatureKind.NUMBER, minimum=0),
    FeatureSpec(name="housing", kind=FeatureKind.CATEGORY, categories=("own", "rent")),
]


def test_good_rows_are_typed_in_the_model_order_and_extra_columns_ignored() -> None:
    frame = pd.DataFrame(
        {"housing": ["own", "rent"], "id": ["a", "b"], "amount": ["12.5", "0"], "age": ["30", "41"]}
    )
    check = check_frame(FEATURES, frame)
    assert check.accepted.tolist() == [True, True]
    assert check.reasons == []
    assert list(check.inputs.columns) == ["age", "amount", "housing"]
    assert check.inputs["age"].tolist() == [30.0, 41.0]
    assert check.inputs["amount"].dtype == np.float64
    assert check.inputs["housing"].tolist() == ["own", "rent"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"age": None, "amount": 1, "housing": "own"}, "age: missing"),
        ({"age": "old", "amount": 1, "housing": "own"}, "age: not a number"),
        ({"age": 30.5, "amount": 1, "housing": "own"}, "age: not an integer"),
        ({"age": 17, "amount": 1, "housing": "own"}, "age: below the minimum 18"),
        ({"age": 101, "amount": 1, "housing": "own"}, "age: above the maximum 100"),
        ({"age": 30, "amount": float("inf"), "housing": "own"}, "amount: not finite"),
        ({"age": 30, "amount": 1, "housing": "castle"}, "housing: unknown category"),
        ({"age": 30, "amount": 1, "housing": None}, "housing: missing"),
    ],
)
def test_each_broken_rule_rejects_the_row_and_says_why(row: dict[str, object], reason: str) -> None:
    good = {"age": 30, "amount": 1, "housing": "rent"}
    check = check_frame(FEATURES, pd.DataFrame([good, row, good]))
    assert check.accepted.tolist() == [True, False, True]
    assert check.reasons == [reason]
    assert len(check.inputs) == 2


def test_a_row_with_several_broken_fields_names_all_of_them() -> None:
    check = check_frame(FEATURES, pd.DataFrame([{"age": 5, "amount": -1, "housing": "castle"}]))
    assert check.reasons == [
        "age: below the minimum 18; amount: below the minimum 0; housing: unknown category"
    ]
    assert check.inputs.empty


def test_a_missing_feature_column_refuses_the_whole_table() -> None:
    with pytest.raises(SchemaMismatch, match="'housing'"):
        check_frame(FEATURES, pd.DataFrame({"age": [30], "amount": [1.0]}))


def test_arrow_typed_columns_with_nulls_are_checked_like_numpy_ones() -> None:
    frame = pd.DataFrame(
        {
            "age": pd.array([30, None], dtype="int64[pyarrow]"),
            "amount": pd.array([1.5, 2.0], dtype="double[pyarrow]"),
            "housing": pd.array(["own", "rent"], dtype="string[pyarrow]"),
        }
    )
    check = check_frame(FEATURES, frame)
    assert check.accepted.tolist() == [True, False]
    assert check.reasons == ["age: missing"]


@pytest.mark.parametrize("text", [pa.string(), pa.large_string()])
def test_arrow_text_categories_as_parquet_gives_them_are_checked_and_passed_as_strings(
    text: pa.DataType,
) -> None:
    frame = pd.DataFrame(
        {
            "age": [30, 31, 32, 33],
            "amount": [1.0, 2.0, 3.0, 4.0],
            "housing": pd.array(["own", None, "castle", "own"], dtype=pd.ArrowDtype(text)),
        }
    )
    check = check_frame(FEATURES, frame)
    assert check.accepted.tolist() == [True, False, False, True]
    assert check.reasons == ["housing: missing", "housing: unknown category"]
    assert check.inputs["housing"].tolist() == ["own", "own"]
    assert check.inputs["housing"].dtype == object
