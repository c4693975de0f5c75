"""Reference statistics of a model's inputs and scores, recorded at training.

Monitoring compares live traffic with these statistics alone (quantiles and category
frequencies), so it never needs the raw training data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from usine.domain.features import FeatureKind, FeatureSpec

QUANTILE_LEVELS = tuple(round(level / 10, 1) for level in range(11))


class NumericReference(BaseModel):
    """Distribution summary of a numeric feature (or of the scores)."""

    count: int
    missing: int
    mean: float
    std: float
    min: float
    max: float
    quantiles: list[float]
    bin_edges: list[float] = Field(
        default_factory=list,
        description="Distinct inner deciles; bin i holds values in (edge[i-1], edge[i]].",
    )
    bin_counts: list[int] = Field(
        default_factory=list,
        description="Training values per bin (one more than edges): exact even when deciles tie.",
    )


class CategoricalReference(BaseModel):
    """Frequencies of each category seen in training."""

    count: int
    missing: int
    frequencies: dict[str, float]


class ReferenceStatistics(BaseModel):
    """Everything monitoring needs of the training distribution."""

    rows: int
    quantile_levels: list[float] = list(QUANTILE_LEVELS)
    numeric: dict[str, NumericReference]
    categorical: dict[str, CategoricalReference]
    score: NumericReference


def describe_numeric(values: pd.Series | np.ndarray) -> NumericReference:
    """Summarise a numeric column: moments, range, deciles and counts between deciles.

    The counts make drift statistics exact for features with few distinct values (bands
    1-4, counts of people), where several deciles fall on the same value.

    Args:
        values: the column; missing values are counted, then ignored.

    Returns:
        The summary. A column with no value at all is refused.

    Raises:
        ValueError: when every value is missing.

    """
    array = np.asarray(values, dtype=np.float64)
    present = array[~np.isnan(array)]
    if present.size == 0:
        raise ValueError("cannot describe a column with no values")
    quantiles = np.quantile(present, QUANTILE_LEVELS)
    # Edges at observed values, so that bands and counts keep whole-number bins.
    edges = np.unique(np.quantile(present, QUANTILE_LEVELS[1:-1], method="inverted_cdf"))
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=edges.size + 1)
    return NumericReference(
        count=int(array.size),
        missing=int(array.size - present.size),
        mean=float(present.mean()),
        std=float(present.std(ddof=1)) if present.size > 1 else 0.0,
        min=float(present.min()),
        max=float(present.max()),
        quantiles=[float(q) for q in quantiles],
        bin_edges=[float(edge) for edge in edges],
        bin_counts=[int(count) for count in counts],
    )


def describe_categorical(values: pd.Series) -> CategoricalReference:
    """Summarise a categorical column by the share of each category."""
    counts = values.value_counts(dropna=True)
    # Count first, then name categories as text: converting every value to text first is slow.
    counts = counts.groupby(counts.index.astype(str)).sum().sort_index()
    present = int(counts.sum())
    return CategoricalReference(
        count=int(values.size),
        missing=int(values.size - present),
        frequencies={str(category): float(count / present) for category, count in counts.items()},
    )


def compute_reference(
    frame: pd.DataFrame, features: list[FeatureSpec], scores: np.ndarray
) -> ReferenceStatistics:
    """Reference statistics of every input feature and of the model's scores.

    Args:
        frame: the training inputs.
        features: the model's features (their kinds decide numeric vs categorical).
        scores: the model's scores on held-out data.

    Returns:
        The statistics stored with the model version.

    """
    numeric = {
        f.name: describe_numeric(frame[f.name]) for f in features if f.kind is not FeatureKind.CATEGORY
    }
    categorical = {
        f.name: describe_categorical(frame[f.name]) for f in features if f.kind is FeatureKind.CATEGORY
    }
    return ReferenceStatistics(
        rows=len(frame),
        numeric=numeric,
        categorical=categorical,
        score=describe_numeric(scores),
    )
