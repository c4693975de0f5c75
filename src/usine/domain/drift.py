"""Data drift of each feature, of the scores and of a whole window, from reference statistics.

Only the statistics stored with a model version are needed (counts between training
deciles, category shares and row counts), never the training data. A feature is judged by
effect size, not by its p-value alone: at a million rows every p-value is tiny, so a test
must be significant *and* its effect size must cross a threshold.

Numeric features: the population stability index (PSI) on the training deciles, the
Kolmogorov–Smirnov distance between the two distribution functions at the decile edges,
and the Wasserstein-1 distance between them (integrated over the bins, divided by the
training standard deviation). Categorical features: PSI, the Jensen–Shannon distance and a
chi-square test of homogeneity on the 2×k table of reference and current counts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, Field
from scipy import stats
from scipy.spatial.distance import jensenshannon

from usine.domain.reference import CategoricalReference, NumericReference

PSI_FLOOR = 1e-4
UNSEEN = "(unseen)"


class Severity(StrEnum):
    """How far a feature moved, by effect size."""

    STABLE = "stable"
    WARNING = "warning"
    DRIFT = "drift"

    @property
    def rank(self) -> int:
        """Order for sorting: drift first."""
        return {Severity.STABLE: 0, Severity.WARNING: 1, Severity.DRIFT: 2}[self]


class DriftThresholds(BaseModel):
    """Where effect sizes turn into a warning or a drift verdict.

    The PSI bands are the credit-risk industry's (below 0.1 stable, 0.1-0.25 watch, above
    0.25 act). The distance threshold (0.1, for the normalised Wasserstein distance and the
    Jensen–Shannon distance) is the one Evidently uses by default on large samples.
    """

    psi_warning: float = Field(default=0.1, gt=0)
    psi_drift: float = Field(default=0.25, gt=0)
    distance_drift: float = Field(default=0.1, gt=0)
    significance: float = Field(default=0.01, gt=0, lt=1)
    dataset_share: float = Field(default=0.5, gt=0, le=1)
    min_auc: float = Field(
        default=0.7,
        ge=0.5,
        le=1.0,
        description="Performance alert: a version whose realised AUC (or, without labels, "
        "estimated AUC) falls below this, the training quality gate.",
    )


class FeatureDrift(BaseModel):
    """Drift of one feature (or of the scores) against its reference."""

    feature: str
    kind: str = Field(description="numeric or categorical")
    rows: int = Field(description="Current values compared (missing values excluded).")
    psi: float
    distance: float = Field(description="Normalised Wasserstein (numeric) or Jensen–Shannon distance.")
    distance_name: str
    test: str = Field(description="ks (numeric) or chi2 (categorical, 2×k two-sample table).")
    statistic: float
    p_value: float
    severity: Severity
    bins: list[str] = Field(description="Bin or category labels, for plots.")
    reference_shares: list[float]
    current_shares: list[float]


class DatasetDrift(BaseModel):
    """The window's verdict: the share of features that drifted."""

    features: int
    drifted: int
    warnings: int
    share: float
    threshold: float
    drifted_dataset: bool


@dataclass(frozen=True)
class NumericWindow:
    """What a window holds of one numeric feature: counts on the reference bins and its range."""

    counts: np.ndarray
    minimum: float
    maximum: float

    @property
    def rows(self) -> int:
        """Values counted (missing values excluded)."""
        return int(self.counts.sum())


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two share vectors over the same bins.

    ``sum((actual - expected) * ln(actual / expected))``; empty bins are floored at
    ``PSI_FLOOR`` so that a category absent on one side gives a large, finite value.
    """
    e = np.maximum(np.asarray(expected, dtype=np.float64), PSI_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=np.float64), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def reference_bins(reference: NumericReference) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges and training counts of a numeric reference.

    Versions trained before counts were stored only have deciles: then each bin gets the
    share of levels it spans, which is exact for continuous features only.
    """
    if reference.bin_counts:
        return np.asarray(reference.bin_edges), np.asarray(reference.bin_counts, dtype=np.float64)
    levels = np.asarray([0.1 * i for i in range(len(reference.quantiles))])
    inner = np.asarray(reference.quantiles[1:-1])
    edges = np.unique(inner)
    below = np.asarray([levels[1:-1][inner == edge].max() for edge in edges])
    shares = np.diff(np.concatenate([[0.0], below, [1.0]]))
    return edges, shares * (reference.count - reference.missing)


def count_in_bins(edges: np.ndarray, values: np.ndarray) -> NumericWindow:
    """Count ``values`` on the reference bins (missing values are skipped)."""
    present = values[~np.isnan(values)]
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=edges.size + 1)
    if present.size == 0:
        return NumericWindow(counts=counts, minimum=np.nan, maximum=np.nan)
    return NumericWindow(counts=counts, minimum=float(present.min()), maximum=float(present.max()))


def _severity(psi_value: float, distance: float, p_value: float, thresholds: DriftThresholds) -> Severity:
    if p_value >= thresholds.significance:
        return Severity.STABLE
    if psi_value >= thresholds.psi_drift or distance >= thresholds.distance_drift:
        return Severity.DRIFT
    if psi_value >= thresholds.psi_warning:
        return Severity.WARNING
    return Severity.STABLE


def numeric_drift(
    name: str, reference: NumericReference, window: NumericWindow, thresholds: DriftThresholds
) -> FeatureDrift:
    """Drift of a numeric feature: PSI, Kolmogorov–Smirnov and normalised Wasserstein.

    Args:
        name: the feature.
        reference: its training statistics.
        window: its current counts on the reference bins (see :func:`count_in_bins`).
        thresholds: decision thresholds.

    Returns:
        The statistics and a severity. KS and Wasserstein are computed on the distribution
        functions at the bin edges, interpolated linearly between them.

    Raises:
        ValueError: the window holds no value of the feature.

    """
    edges, ref_counts = reference_bins(reference)
    if window.rows == 0:
        raise ValueError(f"no value of {name!r} in the window")
    ref_shares = ref_counts / ref_counts.sum()
    cur_shares = window.counts / window.rows
    ref_cdf = np.cumsum(ref_shares)[:-1]
    cur_cdf = np.cumsum(cur_shares)[:-1]
    ks = float(np.max(np.abs(ref_cdf - cur_cdf))) if edges.size else 0.0
    n_ref = float(ref_counts.sum())
    effective = n_ref * window.rows / (n_ref + window.rows)
    p_value = float(stats.kstwobign.sf(ks * np.sqrt(effective)))
    low = min(reference.min, window.minimum)
    high = max(reference.max, window.maximum)
    points = np.concatenate([[low], edges, [high]])
    gap = np.abs(np.concatenate([[0.0], ref_cdf - cur_cdf, [0.0]]))
    wasserstein = float(np.sum(np.diff(points) * (gap[1:] + gap[:-1]) / 2))
    scale = reference.std if reference.std > 0 else max(reference.max - reference.min, 1.0)
    distance = wasserstein / scale
    psi_value = psi(ref_shares, cur_shares)
    return FeatureDrift(
        feature=name,
        kind="numeric",
        rows=window.rows,
        psi=psi_value,
        distance=distance,
        distance_name="wasserstein_normalised",
        test="ks",
        statistic=ks,
        p_value=p_value,
        severity=_severity(psi_value, distance, p_value, thresholds),
        bins=_bin_labels(edges),
        reference_shares=ref_shares.tolist(),
        current_shares=cur_shares.tolist(),
    )


def _bin_labels(edges: np.ndarray) -> list[str]:
    if edges.size == 0:
        return ["all"]
    inner = [f"{low:.4g} – {high:.4g}" for low, high in itertools.pairwise(edges)]
    return [f"≤ {edges[0]:.4g}", *inner, f"> {edges[-1]:.4g}"]


def categorical_drift(
    name: str, reference: CategoricalReference, counts: dict[str, int], thresholds: DriftThresholds
) -> FeatureDrift:
    """Drift of a categorical feature: PSI, Jensen–Shannon and a two-sample chi-square.

    The chi-square tests homogeneity of the 2×k table (reference counts, current counts),
    so the reference's own sampling noise is accounted for: comparing the current counts
    with reference shares taken as exact would flag unshifted columns at large sizes.

    Args:
        name: the feature.
        reference: its training category shares and row count.
        counts: current count of each category (missing values excluded).
        thresholds: decision thresholds.

    Returns:
        The statistics and a severity; categories unseen in training share one bin.

    Raises:
        ValueError: the window holds no value of the feature.

    """
    categories = sorted(reference.frequencies)
    unseen = sum(count for category, count in counts.items() if category not in reference.frequencies)
    current = np.asarray([counts.get(category, 0) for category in categories] + [unseen], dtype=np.float64)
    if current.sum() == 0:
        raise ValueError(f"no value of {name!r} in the window")
    n_ref = reference.count - reference.missing
    ref_counts = np.asarray([reference.frequencies[c] * n_ref for c in categories] + [0.0])
    table = np.vstack([ref_counts, current])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        statistic, p_value = 0.0, 1.0
    else:
        result = stats.chi2_contingency(table, correction=False)
        statistic, p_value = float(result.statistic), float(result.pvalue)
    ref_shares = ref_counts / ref_counts.sum()
    cur_shares = current / current.sum()
    psi_value = psi(ref_shares, cur_shares)
    distance = float(jensenshannon(ref_shares, cur_shares, base=2))
    return FeatureDrift(
        feature=name,
        kind="categorical",
        rows=int(current.sum()),
        psi=psi_value,
        distance=distance,
        distance_name="jensen_shannon",
        test="chi2",
        statistic=statistic,
        p_value=p_value,
        severity=_severity(psi_value, distance, p_value, thresholds),
        bins=[*categories, UNSEEN],
        reference_shares=ref_shares.tolist(),
        current_shares=cur_shares.tolist(),
    )


def by_severity(drifts: list[FeatureDrift]) -> list[FeatureDrift]:
    """Features sorted as a reader triages them: drift first, then by PSI."""
    return sorted(drifts, key=lambda d: (-d.severity.rank, -d.psi, d.feature))


def dataset_drift(drifts: list[FeatureDrift], thresholds: DriftThresholds) -> DatasetDrift:
    """The window-level verdict: drifted when the share of drifted features reaches the threshold."""
    drifted = sum(d.severity is Severity.DRIFT for d in drifts)
    share = drifted / len(drifts) if drifts else 0.0
    return DatasetDrift(
        features=len(drifts),
        drifted=drifted,
        warnings=sum(d.severity is Severity.WARNING for d in drifts),
        share=share,
        threshold=thresholds.dataset_share,
        drifted_dataset=bool(drifts) and share >= thresholds.dataset_share,
    )
