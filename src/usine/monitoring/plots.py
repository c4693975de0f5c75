"""Plots of a monitoring report, rendered by matplotlib to inline SVG (no script, no CDN)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from usine.domain.drift import FeatureDrift
from usine.domain.monitoring import TimeBucket
from usine.domain.performance import ReliabilityBin

REFERENCE_COLOUR = "#8c8c8c"
CURRENT_COLOUR = "#d62728"
ESTIMATE_COLOUR = "#1f77b4"


def to_svg(figure: Figure, title: str) -> str:
    """Title a figure and render it as an inline SVG document (no date, so reruns are identical)."""
    figure.suptitle(title, fontsize=10)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def distribution(drift: FeatureDrift) -> str:
    """Reference against current shares over a feature's bins (or categories)."""
    figure = Figure(figsize=(6.4, 2.8))
    axes = figure.subplots()
    positions = np.arange(len(drift.bins))
    axes.bar(positions - 0.2, drift.reference_shares, 0.4, label="reference", color=REFERENCE_COLOUR)
    axes.bar(positions + 0.2, drift.current_shares, 0.4, label="current", color=CURRENT_COLOUR)
    axes.set_xticks(positions, drift.bins, rotation=35, ha="right", fontsize=7)
    axes.set_ylabel("share of rows")
    axes.legend(fontsize=8)
    return to_svg(figure, f"{drift.feature}: PSI {drift.psi:.3f}, {drift.distance_name} {drift.distance:.3f}")


def scores_over_time(timeline: Sequence[TimeBucket]) -> str:
    """Median score with its 10-90 % band, per timeline bucket."""
    figure = Figure(figsize=(6.4, 2.6))
    axes = figure.subplots()
    starts = _times(timeline)
    low = [_or_nan(bucket.score_p10) for bucket in timeline]
    high = [_or_nan(bucket.score_p90) for bucket in timeline]
    axes.fill_between(starts, low, high, color=CURRENT_COLOUR, alpha=0.2, label="10-90 %")
    axes.plot(
        starts, [_or_nan(b.score_p50) for b in timeline], color=CURRENT_COLOUR, marker="o", label="median"
    )
    return _timeline_svg(figure, axes, "score", (0, 1), "Score distribution over time")


def performance_over_time(timeline: Sequence[TimeBucket]) -> str:
    """Realised ROC AUC (where labels exist) and the CBPE estimate, per timeline bucket."""
    figure = Figure(figsize=(6.4, 2.6))
    axes = figure.subplots()
    starts = _times(timeline)
    axes.plot(
        starts, [_or_nan(b.roc_auc) for b in timeline], marker="o", color=CURRENT_COLOUR, label="realised"
    )
    axes.plot(
        starts,
        [_or_nan(b.estimated_roc_auc) for b in timeline],
        marker="s",
        linestyle="--",
        color=ESTIMATE_COLOUR,
        label="estimated (CBPE)",
    )
    return _timeline_svg(figure, axes, "ROC AUC", (0.4, 1), "Performance over time")


def _timeline_svg(figure: Figure, axes: Axes, ylabel: str, ylim: tuple[float, float], title: str) -> str:
    """Label a plot over time (UTC on the x axis, dates slanted) and render it."""
    axes.set_ylabel(ylabel)
    axes.set_ylim(*ylim)
    axes.legend(fontsize=8)
    axes.set_xlabel("UTC")
    figure.autofmt_xdate()
    return to_svg(figure, title)


def reliability_diagram(bins: Sequence[ReliabilityBin]) -> str:
    """Observed positive rate against mean score, per score bin (the diagonal is perfect calibration)."""
    figure = Figure(figsize=(3.6, 3.2))
    axes = figure.subplots()
    axes.plot([0, 1], [0, 1], color=REFERENCE_COLOUR, linestyle=":")
    axes.plot([b.mean_score for b in bins], [b.observed_rate for b in bins], marker="o", color=CURRENT_COLOUR)
    axes.set_xlabel("mean score")
    axes.set_ylabel("observed rate")
    return to_svg(figure, "Calibration (labelled predictions)")


def _times(timeline: Sequence[TimeBucket]) -> np.ndarray:
    """Bucket starts as UTC datetimes matplotlib can place."""
    return np.array([bucket.start.replace(tzinfo=None) for bucket in timeline], dtype="datetime64[s]")


def _or_nan(value: float | None) -> float:
    """Gaps in a line where a value does not exist (matplotlib skips NaN)."""
    return float("nan") if value is None else value
