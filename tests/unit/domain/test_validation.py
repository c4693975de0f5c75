"""A training table is checked against its schema; every problem names its column and rows."""

import pandas as pd
import pytest

from usine.datasets import dataset_path
from usine.domain.validation import DataValidationFailed, check_table, validate_table
from usine.pipelines.credit import DATA_FILE, SCHEMA, TARGET


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.read_csv(dataset_path(DATA_FILE))


def test_the_vendored_data_passes(frame: pd.DataFrame) -> None:
    assert check_table(frame, SCHEMA) == []


def test_every_problem_is_reported_with_its_column_and_rows(frame: pd.DataFrame) -> None:
    frame = frame.astype({"credit_amount": object, "duration_in_month": float})
    frame.loc[3, "credit_amount"] = "a lot"
    frame.loc[[5, 8], "age_in_years"] = 150
    frame.loc[11, "duration_in_month"] = None
    frame.loc[13, "purpose"] = None
    frame.loc[20, TARGET] = "maybe"
    frame = pd.concat([frame, frame.iloc[[40]]], ignore_index=True)
    with pytest.raises(DataValidationFailed) as raised:
        validate_table(frame, SCHEMA)
    found = {(p.column, p.message.split(" [")[0], p.rows) for p in raised.value.problems}
    assert found == {
        ("credit_amount", "not a number", (3,)),
        ("age_in_years", "outside", (5, 8)),
        ("duration_in_month", "missing value", (11,)),
        ("purpose", "missing value", (13,)),
        (TARGET, "not one of", (20,)),
        ("(row)", "duplicate of an earlier row", (1000,)),
    }
    assert "credit_amount: not a number (rows 3)" in str(raised.value)


def test_a_missing_column_a_single_class_and_an_empty_table_are_named(frame: pd.DataFrame) -> None:
    problems = check_table(frame.drop(columns=["housing"]).assign(**{TARGET: "good"}), SCHEMA)
    assert [str(p) for p in problems] == [
        "housing: column missing",
        f"{TARGET}: must hold both classes ['good', 'bad'], found ['good']",
    ]
    assert [str(p) for p in check_table(frame.head(0), SCHEMA)] == ["(table): no rows"]


def test_a_long_list_of_rows_is_cut_with_a_count(frame: pd.DataFrame) -> None:
    frame["age_in_years"] = 10
    (problem,) = check_table(frame, SCHEMA)
    assert str(problem) == "age_in_years: outside [18, 120] (rows 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 990 more)"
