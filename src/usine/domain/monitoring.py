"""The monitoring report of a model over a time window: usage, health, quality, drift, performance."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field, computed_field

from usine.domain.data_quality import FeatureQuality
from usine.domain.drift import DatasetDrift, DriftThresholds, FeatureDrift, Severity
from usine.domain.performance import EstimatedPerformance, RealisedPerformance, ScoreHistogram, binned_auc
from usine.domain.shadow_comparison import ChallengerComparison
from usine.domain.window import LabelTimes


class VersionUsage(BaseModel):
    """How much one version was used in the window."""

    version: str
    predictions: int
    requests: int
    first_at: datetime
    last_at: datetime


class CallerUsage(BaseModel):
    """How much one caller (API key name, or anonymous) used one version in the window."""

    caller: str
    version: str
    predictions: int
    requests: int


class RejectedRequests(BaseModel):
    """Requests naming the model that were refused (4xx) or failed (5xx), by status and reason."""

    status: int
    reason: str = Field(description="The problem type slug, e.g. invalid-input, payload-too-large.")
    count: int


class Health(BaseModel):
    """Latency of the served requests (one value per request), errors and rejected inputs."""

    requests: int = Field(description="Requests that were scored and logged.")
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    latency_ms_p99: float | None
    rejected: int = Field(default=0, description="Requests refused with a 4xx status.")
    failed: int = Field(default=0, description="Requests that failed with a 5xx status.")
    error_rate: float | None = Field(
        default=None, description="(rejected + failed) / all requests naming the model; none without any."
    )
    rejections: list[RejectedRequests] = Field(default_factory=list, description="By reason, most first.")


class LabelFreshness(BaseModel):
    """How late feedback arrives (label staleness)."""

    labelled: int
    mean_delay_hours: float | None
    max_delay_hours: float | None
    last_label_at: datetime | None
    hours_since_last_label: float | None


class VersionMonitoring(BaseModel):
    """Drift, data quality and performance of one version against its own reference."""

    version: str
    rows: int
    reference_rows: int
    dataset: DatasetDrift
    features: list[FeatureDrift] = Field(description="Sorted by severity, drift first.")
    score: FeatureDrift | None
    data_quality: list[FeatureQuality]
    performance: RealisedPerformance
    estimated_performance: EstimatedPerformance
    labels: LabelFreshness

    @property
    def drifted(self) -> bool:
        """Whether any feature or the score drifted."""
        drifts = [*self.features, *([self.score] if self.score else [])]
        return any(d.severity is Severity.DRIFT for d in drifts)


class TimeBucket(BaseModel):
    """Scores and performance over one slice of the window."""

    start: datetime
    rows: int
    mean_score: float
    score_p10: float | None
    score_p50: float | None
    score_p90: float | None
    labelled: int
    roc_auc: float | None
    estimated_roc_auc: float | None


class PerformanceAlert(BaseModel):
    """A version scoring below the quality gate in the window."""

    version: str
    roc_auc: float
    estimated: bool = Field(description="True when no label exists and the AUC is a CBPE estimate.")
    threshold: float


class MonitoringReport(BaseModel):
    """Everything ``usine monitor`` and ``GET /1.0.0/monitoring/{name}`` report."""

    model: str
    since: datetime
    until: datetime
    version: str | None = Field(description="The version filter, when one was given.")
    generated_at: datetime
    rows: int
    drift_detected: bool = Field(description="A feature or the score of some version drifted.")
    thresholds: DriftThresholds
    usage: list[VersionUsage]
    callers: list[CallerUsage] = Field(default_factory=list, description="Usage by caller, most first.")
    health: Health
    versions: list[VersionMonitoring]
    timeline: list[TimeBucket]
    bucket: str = Field(description="Width of a timeline bucket: hour, day or week.")
    challengers: list[ChallengerComparison] = Field(
        default_factory=list,
        description="Shadow mode: each champion version against the challenger that scored the same "
        "records; empty without shadow scores in the window.",
    )

    @computed_field(description="Versions whose AUC fell below the quality gate (realised first).")  # type: ignore[prop-decorator]
    @property
    def performance_alerts(self) -> list[PerformanceAlert]:
        """Each version whose realised AUC, or estimated AUC where no label exists, is below the gate."""
        alerts = []
        for version in self.versions:
            realised, estimated = version.performance.roc_auc, version.estimated_performance.roc_auc
            auc, is_estimate = (realised, False) if realised is not None else (estimated, True)
            if auc is not None and auc < self.thresholds.min_auc:
                alerts.append(
                    PerformanceAlert(
                        version=version.version,
                        roc_auc=auc,
                        estimated=is_estimate,
                        threshold=self.thresholds.min_auc,
                    )
                )
        return alerts

    @property
    def alert(self) -> bool:
        """Whether anything calls for attention: a drift or a performance below the gate."""
        return self.drift_detected or bool(self.performance_alerts)


def label_freshness(times: LabelTimes, until: datetime) -> LabelFreshness:
    """Label staleness from the label arrival times of a window ending at ``until``."""
    if times.count == 0 or times.last_received is None:
        return LabelFreshness(
            labelled=0,
            mean_delay_hours=None,
            max_delay_hours=None,
            last_label_at=None,
            hours_since_last_label=None,
        )
    return LabelFreshness(
        labelled=times.count,
        mean_delay_hours=times.delay_seconds_sum / times.count / 3600,
        max_delay_hours=times.delay_seconds_max / 3600,
        last_label_at=times.last_received,
        hours_since_last_label=max((until - times.last_received).total_seconds(), 0.0) / 3600,
    )


MIN_BUCKET_LABELS = 30
BUCKETS = (("hour", timedelta(hours=1)), ("day", timedelta(days=1)), ("week", timedelta(weeks=1)))


def bucket_width(since: datetime, until: datetime) -> tuple[str, timedelta]:
    """The timeline's bucket: hours up to two days, days up to ten weeks, weeks beyond."""
    span = until - since
    if span <= timedelta(days=2):
        return BUCKETS[0]
    if span <= timedelta(weeks=10):
        return BUCKETS[1]
    return BUCKETS[2]


def time_bucket(start: datetime, histogram: ScoreHistogram) -> TimeBucket:
    """One timeline point from the scores and labels of its slice.

    A bucket with fewer than ``MIN_BUCKET_LABELS`` labels gets no realised AUC: on a handful
    of labels it swings between 0 and 1 and would be read as a trend.
    """
    rows = histogram.rows
    labelled = int(histogram.labelled.sum())
    return TimeBucket(
        start=start,
        rows=rows,
        mean_score=float(histogram.score_sum.sum() / rows),
        score_p10=histogram.quantile(0.1),
        score_p50=histogram.quantile(0.5),
        score_p90=histogram.quantile(0.9),
        labelled=labelled,
        roc_auc=(
            binned_auc(histogram.positives, histogram.labelled - histogram.positives)
            if labelled >= MIN_BUCKET_LABELS
            else None
        ),
        estimated_roc_auc=binned_auc(histogram.score_sum, histogram.count - histogram.score_sum),
    )
