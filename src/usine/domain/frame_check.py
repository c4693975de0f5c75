"""The input contract applied to a whole table at once, for batch scoring.

The HTTP path validates a few records with pydantic (:mod:`usine.domain.features`). A batch
job checks millions of rows: here every rule of a :class:`FeatureSpec` (present, typed,
finite, integral, inside its domain, a known category) is one vectorised test per column,
and only the rows that fail are described one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from usine.domain.errors import SchemaMismatch
from usine.domain.features import FeatureKind, FeatureSpec


@dataclass(frozen=True)
class FrameCheck:
    """The outcome of checking a table: the rows that can be scored, and why the others cannot.

    Attributes:
        inputs: the accepted rows, one typed column per feature in the model's order.
        accepted: a boolean mask over the checked table, true where a row was accepted.
        reasons: for each rejected row, in table order, ``field: reason`` joined by ``; ``.

    """

    inputs: pd.DataFrame
    accepted: np.ndarray
    reasons: list[str]


def check_frame(features: list[FeatureSpec], frame: pd.DataFrame) -> FrameCheck:
    """Check every row of ``frame`` against the features of a model.

    Args:
        features: the model's features, in the order the model expects them.
        frame: the rows to score; columns other than the features are ignored.

    Returns:
        The accepted rows typed for the model, the mask of accepted rows and the reasons of
        each rejection.

    Raises:
        SchemaMismatch: a feature has no column at all (no row could be scored).

    """
    missing = [feature.name for feature in features if feature.name not in frame.columns]
    if missing:
        raise SchemaMismatch(f"the input has no column {', '.join(repr(name) for name in missing)}")
    columns: dict[str, pd.Series] = {}
    problems: list[tuple[str, np.ndarray, str]] = []
    for feature in features:
        values, broken = _check_column(feature, frame[feature.name])
        columns[feature.name] = values
        problems.extend((feature.name, mask, reason) for mask, reason in broken)
    rejected = np.zeros(len(frame), dtype=bool)
    for _, mask, _ in problems:
        rejected |= mask
    typed = pd.DataFrame(columns, index=frame.index)
    return FrameCheck(
        inputs=typed[~rejected].reset_index(drop=True),
        accepted=~rejected,
        reasons=_describe(problems, np.flatnonzero(rejected)),
    )


def _check_column(feature: FeatureSpec, column: pd.Series) -> tuple[pd.Series, list[tuple[np.ndarray, str]]]:
    """Type one column for the model and list its broken values as (mask, reason) pairs."""
    missing = column.isna().to_numpy()
    if feature.kind is FeatureKind.CATEGORY:
        text, known = _categories(column, feature.categories)
        unknown = ~known & ~missing
        return text, [(missing, "missing"), (unknown, "unknown category")]
    numbers = pd.to_numeric(column, errors="coerce").astype("float64")
    values = numbers.to_numpy()
    not_numeric = np.isnan(values) & ~missing
    present = ~np.isnan(values)
    broken = [
        (missing, "missing"),
        (not_numeric, "not a number"),
        (present & ~np.isfinite(values), "not finite"),
    ]
    finite = present & np.isfinite(values)
    if feature.kind is FeatureKind.INTEGER:
        fractional = np.zeros(len(values), dtype=bool)
        fractional[finite] = values[finite] % 1 != 0
        broken.append((fractional, "not an integer"))
    if feature.minimum is not None:
        broken.append((finite & (values < feature.minimum), f"below the minimum {feature.minimum:g}"))
    if feature.maximum is not None:
        broken.append((finite & (values > feature.maximum), f"above the maximum {feature.maximum:g}"))
    return numbers, broken


def _categories(column: pd.Series, categories: tuple[str, ...]) -> tuple[pd.Series, np.ndarray]:
    """A category column as Python strings (object dtype), and where it holds a known category.

    An Arrow string column (Parquet input) is dictionary-encoded first: each distinct value
    becomes one Python string, shared by the rows that hold it, and is looked up once.
    """
    if isinstance(column.dtype, pd.ArrowDtype) and _is_text(column.dtype.pyarrow_dtype):
        values = pa.array(column.array)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        encoded = pc.dictionary_encode(values)
        distinct = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
        rows = encoded.indices.fill_null(len(distinct) - 1).to_numpy()
        allowed = set(categories) if categories else set(distinct[:-1])
        known = np.fromiter((value in allowed for value in distinct), bool, len(distinct))
        return pd.Series(distinct[rows], index=column.index, dtype=object), known[rows]
    text = column.astype("string")
    known = text.isin(categories).to_numpy() if categories else np.ones(len(text), bool)
    return text.astype(object), known


def _describe(problems: list[tuple[str, np.ndarray, str]], rejected_rows: np.ndarray) -> list[str]:
    """One reason text per rejected row, naming every broken field of that row."""
    position = {row: index for index, row in enumerate(rejected_rows.tolist())}
    texts: list[list[str]] = [[] for _ in rejected_rows]
    for name, mask, reason in problems:
        for row in np.flatnonzero(mask).tolist():
            texts[position[row]].append(f"{name}: {reason}")
    return ["; ".join(parts) for parts in texts]


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))
