"""Summaries of a window of logged predictions, built chunk by chunk in bounded memory.

A :class:`VersionWindow` keeps, per feature of one model version, counts on the reference
bins (numeric) or per category, and quality counts; for the scores, a fine histogram with
the labels. Memory depends on the number of features and bins, not on the window's size.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from usine.domain.data_quality import FeatureQuality, QualityCounts, feature_quality
from usine.domain.drift import (
    DriftThresholds,
    FeatureDrift,
    NumericWindow,
    by_severity,
    categorical_drift,
    count_in_bins,
    numeric_drift,
    reference_bins,
)
from usine.domain.errors import FeatureMissingFromLog, NoReferenceStatistics
from usine.domain.features import FeatureKind, FeatureSpec
from usine.domain.performance import ScoreHistogram
from usine.domain.reference import NumericReference, ReferenceStatistics


def as_numbers(raw: list[Any]) -> tuple[np.ndarray, int]:
    """Logged JSON values as floats (NaN for null) and the count of values that are not numbers."""
    try:
        return np.asarray(raw, dtype=np.float64), 0
    except (TypeError, ValueError):
        numbers = [v if isinstance(v, int | float) and not isinstance(v, bool) else None for v in raw]
        invalid = sum(1 for v, n in zip(raw, numbers, strict=True) if v is not None and n is None)
        return np.asarray(numbers, dtype=np.float64), invalid


@dataclass
class NumericSummary:
    """Counts of one numeric feature (or of the scores) on its reference bins."""

    reference: NumericReference
    edges: np.ndarray = field(init=False)
    counts: np.ndarray = field(init=False)
    minimum: float = np.inf
    maximum: float = -np.inf

    def __post_init__(self) -> None:
        self.edges, _ = reference_bins(self.reference)
        self.counts = np.zeros(self.edges.size + 1, dtype=np.int64)

    def add(self, values: np.ndarray) -> None:
        """Count ``values`` (NaN skipped)."""
        chunk = count_in_bins(self.edges, values)
        self.counts += chunk.counts
        if chunk.rows:
            self.minimum = min(self.minimum, chunk.minimum)
            self.maximum = max(self.maximum, chunk.maximum)

    def window(self) -> NumericWindow:
        """The counts as :func:`numeric_drift` reads them."""
        return NumericWindow(counts=self.counts, minimum=self.minimum, maximum=self.maximum)


@dataclass
class LabelTimes:
    """When labels arrived relative to their predictions (label staleness)."""

    count: int = 0
    delay_seconds_sum: float = 0.0
    delay_seconds_max: float = 0.0
    last_received: datetime | None = None

    def add(self, created: datetime, received: datetime) -> None:
        """Record one label received at ``received`` for a prediction made at ``created``."""
        delay = max((received - created).total_seconds(), 0.0)
        self.count += 1
        self.delay_seconds_sum += delay
        self.delay_seconds_max = max(self.delay_seconds_max, delay)
        if self.last_received is None or received > self.last_received:
            self.last_received = received


class VersionWindow:
    """Everything a window holds of one model version, accumulated chunk by chunk.

    Args:
        version: the model version whose predictions are added.
        features: its input contract.
        reference: its reference statistics.

    Raises:
        NoReferenceStatistics: a feature has no reference statistics.

    """

    def __init__(self, version: str, features: list[FeatureSpec], reference: ReferenceStatistics) -> None:
        known = {**reference.numeric, **reference.categorical}
        unknown = [f.name for f in features if f.name not in known]
        if unknown:
            raise NoReferenceStatistics(
                f"version {version} has no reference statistics for {', '.join(unknown)}: retrain it"
            )
        self.version = version
        self.features = features
        self.reference = reference
        self.numeric = {
            f.name: NumericSummary(reference.numeric[f.name])
            for f in features
            if f.kind is not FeatureKind.CATEGORY
        }
        self.categories: dict[str, Counter[object]] = {
            f.name: Counter() for f in features if f.kind is FeatureKind.CATEGORY
        }
        self.quality = {f.name: QualityCounts() for f in features}
        self.score = NumericSummary(reference.score)
        self.scores = ScoreHistogram.empty()
        self.labels = LabelTimes()

    @property
    def rows(self) -> int:
        """Predictions added so far."""
        return self.scores.rows

    def add_records(self, inputs: list[dict[str, Any]], scores: np.ndarray, labels: np.ndarray) -> None:
        """Add a chunk of logged predictions: their input records, scores and labels."""
        for spec in self.features:
            raw = [record.get(spec.name) for record in inputs]
            self.quality[spec.name].absent += sum(1 for record in inputs if spec.name not in record)
            if spec.kind is FeatureKind.CATEGORY:
                self.add_categories(spec, Counter(raw))
            else:
                values, invalid = as_numbers(raw)
                self.add_numbers(spec, values, invalid)
        self.add_scores(scores, labels)

    def add_numbers(self, spec: FeatureSpec, values: np.ndarray, invalid: int = 0) -> None:
        """Add a chunk of one numeric feature (NaN for missing)."""
        self.numeric[spec.name].add(values)
        self.quality[spec.name].add_numbers(spec, values, invalid)

    def add_categories(self, spec: FeatureSpec, counts: Counter[object]) -> None:
        """Add a chunk of one categorical feature, as counts per value (``None`` for missing)."""
        self.categories[spec.name].update(counts)
        self.quality[spec.name].add_categories(counts, set(self.reference.categorical[spec.name].frequencies))

    def add_scores(self, scores: np.ndarray, labels: np.ndarray) -> None:
        """Add a chunk of scores with their labels (1, 0 or ``NO_LABEL``)."""
        self.score.add(scores)
        self.scores.add(scores, labels)

    def check_features_logged(self) -> None:
        """Refuse a window where a feature of the model is absent from every logged record.

        Raises:
            FeatureMissingFromLog: naming the absent features.

        """
        absent = [name for name, counts in self.quality.items() if self.rows and counts.absent == self.rows]
        if absent:
            raise FeatureMissingFromLog(
                f"version {self.version}: feature(s) {', '.join(absent)} absent from every logged "
                "prediction in the window: the log does not match the model's contract"
            )

    def drift(self, thresholds: DriftThresholds) -> list[FeatureDrift]:
        """Drift of every feature that has values in the window, by severity."""
        drifts = []
        for spec in self.features:
            if spec.kind is FeatureKind.CATEGORY:
                counts = {str(k): v for k, v in self.categories[spec.name].items() if k is not None}
                if counts:
                    reference = self.reference.categorical[spec.name]
                    drifts.append(categorical_drift(spec.name, reference, counts, thresholds))
            elif self.numeric[spec.name].counts.sum():
                summary = self.numeric[spec.name]
                drifts.append(numeric_drift(spec.name, summary.reference, summary.window(), thresholds))
        return by_severity(drifts)

    def score_drift(self, thresholds: DriftThresholds) -> FeatureDrift | None:
        """Drift of the scores against the held-out scores at training; ``None`` without scores."""
        if not self.score.counts.sum():
            return None
        return numeric_drift("score", self.reference.score, self.score.window(), thresholds)

    def data_quality(self) -> list[FeatureQuality]:
        """Quality of every feature, most suspicious first."""
        rows = []
        for spec in self.features:
            ref = (
                self.reference.categorical[spec.name]
                if spec.kind is FeatureKind.CATEGORY
                else self.reference.numeric[spec.name]
            )
            rows.append(feature_quality(spec.name, self.quality[spec.name], ref.missing / max(ref.count, 1)))
        return sorted(rows, key=lambda q: (-q.severity.rank, -q.missing_share, q.feature))
