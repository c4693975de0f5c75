"""Data quality of logged inputs, per feature: missing, invalid, out of range, unseen categories."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field

from usine.domain.drift import Severity
from usine.domain.features import FeatureSpec

MISSING_TOLERANCE = 0.05
UNSEEN_EXAMPLES = 5


class FeatureQuality(BaseModel):
    """What is wrong with one feature's values in a window."""

    feature: str
    rows: int = Field(description="Predictions in the window.")
    missing: int = Field(description="Absent or null values.")
    missing_share: float
    reference_missing_share: float
    invalid: int = Field(description="Values of the wrong type (text in a numeric feature).")
    out_of_range: int = Field(description="Numbers outside the declared domain.")
    unseen: int = Field(description="Categories never seen in training.")
    unseen_examples: list[str]
    severity: Severity


@dataclass
class QualityCounts:
    """Running counts of one feature's quality problems."""

    rows: int = 0
    absent: int = 0
    missing: int = 0
    invalid: int = 0
    out_of_range: int = 0
    unseen: Counter[str] = field(default_factory=Counter)

    def add_numbers(self, spec: FeatureSpec, values: np.ndarray, invalid: int) -> None:
        """Count the missing and out-of-domain values among ``values`` (NaN means missing or invalid)."""
        self.rows += values.size
        self.invalid += invalid
        self.missing += int(np.isnan(values).sum()) - invalid
        low = -np.inf if spec.minimum is None else spec.minimum
        high = np.inf if spec.maximum is None else spec.maximum
        self.out_of_range += int(np.count_nonzero((values < low) | (values > high)))

    def add_categories(self, counts: Counter[object], known: set[str]) -> None:
        """Count missing values and categories outside ``known`` in one chunk's category counts."""
        for value, count in counts.items():
            self.rows += count
            if value is None:
                self.missing += count
            elif str(value) not in known:
                self.unseen[str(value)] += count


def feature_quality(name: str, counts: QualityCounts, reference_missing_share: float) -> FeatureQuality:
    """Judge one feature's counts.

    A warning when any value is invalid, out of range or unseen, or when values go missing
    more often than in training (by more than ``MISSING_TOLERANCE``).
    """
    share = counts.missing / counts.rows if counts.rows else 0.0
    unseen = sum(counts.unseen.values())
    suspicious = (
        counts.invalid > 0
        or counts.out_of_range > 0
        or unseen > 0
        or share > reference_missing_share + MISSING_TOLERANCE
    )
    return FeatureQuality(
        feature=name,
        rows=counts.rows,
        missing=counts.missing,
        missing_share=share,
        reference_missing_share=reference_missing_share,
        invalid=counts.invalid,
        out_of_range=counts.out_of_range,
        unseen=unseen,
        unseen_examples=[value for value, _ in counts.unseen.most_common(UNSEEN_EXAMPLES)],
        severity=Severity.WARNING if suspicious else Severity.STABLE,
    )
