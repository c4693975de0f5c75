"""Checks of a training table against its declared schema, reported row by row.

A failed check stops a training run before anything is fitted, logged or registered; the
report names each problem's column, how many rows it hits and the first of them (0-based
positions in the file as read, header excluded).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from usine.domain.errors import TrainingDataError

SHOWN_ROWS = 10


@dataclass(frozen=True)
class Problem:
    """One broken rule: which column, what is wrong, and where."""

    column: str
    message: str
    rows: tuple[int, ...] = ()

    def __str__(self) -> str:
        where = ""
        if self.rows:
            shown = ", ".join(str(row) for row in self.rows[:SHOWN_ROWS])
            more = f" and {len(self.rows) - SHOWN_ROWS} more" if len(self.rows) > SHOWN_ROWS else ""
            where = f" (rows {shown}{more})"
        return f"{self.column}: {self.message}{where}"


class DataValidationFailed(TrainingDataError):
    """The training table breaks its schema; ``problems`` lists every broken rule."""

    title = "Training data failed validation"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"training data failed validation ({len(problems)} problems):\n{lines}")


@dataclass(frozen=True)
class TableSchema:
    """What a training table must hold.

    Args:
        target: the label column.
        classes: the label's values, negative first; both must be present.
        numeric: numeric columns and their closed domain ``(low, high)``.
        categorical: text columns (any value, but never missing).
        allow_duplicates: whether identical rows are accepted.

    """

    target: str
    classes: tuple[str, str]
    numeric: dict[str, tuple[float, float]]
    categorical: tuple[str, ...]
    allow_duplicates: bool = False


def _rows(mask: pd.Series | np.ndarray) -> tuple[int, ...]:
    return tuple(int(row) for row in np.flatnonzero(np.asarray(mask)))


def check_table(frame: pd.DataFrame, schema: TableSchema) -> list[Problem]:
    """Every problem of ``frame`` against ``schema`` (empty when it is usable)."""
    if frame.empty:
        return [Problem("(table)", "no rows")]
    expected = [*schema.numeric, *schema.categorical, schema.target]
    absent = [column for column in expected if column not in frame.columns]
    problems = [Problem(column, "column missing") for column in absent]
    for column, (low, high) in schema.numeric.items():
        if column in absent:
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        not_numbers = values.isna() & frame[column].notna()
        if not_numbers.any():
            problems.append(Problem(column, "not a number", _rows(not_numbers)))
        if frame[column].isna().any():
            problems.append(Problem(column, "missing value", _rows(frame[column].isna())))
        outside = (values < low) | (values > high)
        if outside.any():
            problems.append(Problem(column, f"outside [{low:g}, {high:g}]", _rows(outside)))
    for column in [*schema.categorical, schema.target]:
        if column not in absent and frame[column].isna().any():
            problems.append(Problem(column, "missing value", _rows(frame[column].isna())))
    if schema.target not in absent:
        labels = frame[schema.target].dropna().astype(str)
        unknown = ~labels.isin(schema.classes)
        if unknown.any():
            problems.append(Problem(schema.target, f"not one of {list(schema.classes)}", _rows(unknown)))
        present = set(labels[~unknown])
        if len(present) < 2:
            problems.append(
                Problem(
                    schema.target, f"must hold both classes {list(schema.classes)}, found {sorted(present)}"
                )
            )
    if not schema.allow_duplicates:
        duplicated = frame.duplicated(keep="first")
        if duplicated.any():
            problems.append(Problem("(row)", "duplicate of an earlier row", _rows(duplicated)))
    return problems


def validate_table(frame: pd.DataFrame, schema: TableSchema) -> None:
    """Raise :class:`DataValidationFailed` listing every problem, if there is any."""
    problems = check_table(frame, schema)
    if problems:
        raise DataValidationFailed(problems)
