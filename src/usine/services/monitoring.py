"""Monitor a model over a time window of its prediction log, against its reference statistics."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine

from usine.adapters.db.window import (
    LoggedChunk,
    PredictionWindowReader,
    RejectionCount,
    ShadowChunk,
    WindowQuery,
)
from usine.adapters.registry import ModelRegistry
from usine.domain.drift import DriftThresholds, dataset_drift
from usine.domain.errors import EmptyWindow, InvalidWindow, ModelNotFound, NoReferenceStatistics
from usine.domain.health import LatencyHistogram, error_rate
from usine.domain.model_spec import ModelSpec
from usine.domain.monitoring import (
    CallerUsage,
    Health,
    MonitoringReport,
    RejectedRequests,
    VersionMonitoring,
    VersionUsage,
    bucket_width,
    label_freshness,
    time_bucket,
)
from usine.domain.performance import NO_LABEL, ScoreHistogram, estimated_performance, realised_performance
from usine.domain.reference import ReferenceStatistics
from usine.domain.shadow_comparison import ChallengerComparison, PairWindow
from usine.domain.window import VersionWindow
from usine.services.models import open_registry
from usine.settings import Settings

DURATION = re.compile(r"^(\d+)([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
TIMELINE_SCORE_BINS = 100
Step = Callable[[str], None]


def parse_instant(text: str, now: datetime) -> datetime:
    """Read ``7d``, ``24h``, ``30m``, ``2w`` (that long before ``now``) or an ISO 8601 datetime.

    A datetime without an offset is taken as UTC.

    Raises:
        InvalidWindow: the text is neither.

    """
    match = DURATION.match(text.strip())
    if match:
        try:
            return now - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
        except OverflowError:
            raise InvalidWindow(f"{text!r} reaches before year 1") from None
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidWindow(
            f"{text!r} is neither a duration (7d, 24h, 30m, 2w) nor an ISO 8601 datetime"
        ) from None
    return instant.astimezone(UTC) if instant.tzinfo else instant.replace(tzinfo=UTC)


def window_query(
    model: str, since: str, until: str | None = None, version: str | None = None, now: datetime | None = None
) -> WindowQuery:
    """The window ``[since, until)`` of ``model`` (``until`` defaults to now).

    Raises:
        InvalidWindow: a bound cannot be read, or ``until`` is not after ``since``.

    """
    now = now or datetime.now(UTC)
    start = parse_instant(since, now)
    end = parse_instant(until, now) if until else now
    if end <= start:
        raise InvalidWindow(f"the window is empty: until ({end.isoformat()}) is not after since")
    return WindowQuery(model=model, since=start, until=end, version=version)


def _health(latencies: LatencyHistogram, rejections: list[RejectionCount]) -> Health:
    rejected = sum(r.count for r in rejections if r.status < 500)
    failed = sum(r.count for r in rejections if r.status >= 500)
    return Health(
        requests=latencies.total,
        latency_ms_p50=latencies.percentile(0.5),
        latency_ms_p95=latencies.percentile(0.95),
        latency_ms_p99=latencies.percentile(0.99),
        rejected=rejected,
        failed=failed,
        error_rate=error_rate(latencies.total, rejected, failed),
        rejections=[RejectedRequests(status=r.status, reason=r.reason, count=r.count) for r in rejections],
    )


def _empty_window_message(query: WindowQuery, rejections: list[RejectionCount]) -> str:
    """Why nothing can be monitored, naming the refused requests when there were some.

    A window where every request was refused is an outage seen from the callers' side: the
    reasons are what the operator needs, so they are not hidden behind "no prediction".
    """
    which = f" version {query.version}" if query.version else ""
    message = (
        f"no prediction of {query.model!r}{which} logged between "
        f"{query.since.isoformat(timespec='seconds')} and {query.until.isoformat(timespec='seconds')}"
    )
    if not rejections:
        return message
    refused = sum(r.count for r in rejections)
    reasons = ", ".join(f"{r.count} × {r.status} {r.reason}" for r in rejections[:3])
    more = f" and {len(rejections) - 3} other reasons" if len(rejections) > 3 else ""
    return f"{message}; {refused} requests naming it were refused or failed: {reasons}{more}"


class MonitoringService:
    """Computes monitoring reports from the prediction log and the registry.

    Args:
        reader: read access to the prediction log.
        registry: where each version's contract and reference statistics are kept.
        thresholds: drift decision thresholds.

    """

    def __init__(
        self, reader: PredictionWindowReader, registry: ModelRegistry, thresholds: DriftThresholds
    ) -> None:
        self.reader = reader
        self.registry = registry
        self.thresholds = thresholds

    def _spec(self, model: str, version: str) -> tuple[ModelSpec, ReferenceStatistics]:
        try:
            spec = self.registry.spec(model, version)
        except ModelNotFound as exc:
            raise NoReferenceStatistics(
                f"{model} version {version} has logged predictions but no reference statistics: {exc}"
            ) from None
        if spec.reference is None:
            raise NoReferenceStatistics(
                f"{model} version {version} was registered without reference data: register it again "
                "with usine models register --reference data.csv"
            )
        return spec, spec.reference

    def monitor(self, query: WindowQuery, step: Step = lambda _: None) -> MonitoringReport:
        """Usage, health, data quality, drift and performance of ``query``'s window.

        Args:
            query: the model, time range and optional version.
            step: called with the name of each stage as it starts (for progress display).

        Raises:
            EmptyWindow: no prediction in the window.
            NoReferenceStatistics: a version in the window has no reference statistics.
            FeatureMissingFromLog: a feature is absent from every logged record of a version.

        """
        step("count predictions by version")
        counts = self.reader.count_by_version(query)
        if not counts:
            raise EmptyWindow(_empty_window_message(query, self.reader.rejections(query)))
        step("load reference statistics")
        loaded = {count.version: self._spec(query.model, count.version) for count in counts}
        specs = {version: spec for version, (spec, _) in loaded.items()}
        windows = {
            version: VersionWindow(version, spec.features, reference)
            for version, (spec, reference) in loaded.items()
        }
        bucket_name, width = bucket_width(query.since, query.until)
        timeline: dict[int, ScoreHistogram] = defaultdict(lambda: ScoreHistogram.empty(TIMELINE_SCORE_BINS))
        step("stream the window")
        for chunk in self.reader.chunks(query):
            self._add_chunk(chunk, windows, specs, timeline, query.since, width)
        step("latency percentiles")
        latencies = LatencyHistogram()
        for chunk_latencies in self.reader.request_latencies(query):
            latencies.add(chunk_latencies)
        step("callers and rejected requests")
        callers = self.reader.count_by_caller(query)
        rejections = self.reader.rejections(query)
        step("champion against challenger")
        challengers = self._challengers(query, specs)
        step("drift, quality and performance")
        versions = [self._version_report(windows[c.version], query.until) for c in counts]
        return MonitoringReport(
            model=query.model,
            since=query.since,
            until=query.until,
            version=query.version,
            generated_at=datetime.now(UTC),
            rows=sum(c.predictions for c in counts),
            drift_detected=any(v.drifted for v in versions),
            thresholds=self.thresholds,
            usage=[
                VersionUsage(
                    version=c.version,
                    predictions=c.predictions,
                    requests=c.requests,
                    first_at=c.first_at,
                    last_at=c.last_at,
                )
                for c in counts
            ],
            callers=[
                CallerUsage(
                    caller=c.caller, version=c.version, predictions=c.predictions, requests=c.requests
                )
                for c in callers
            ],
            health=_health(latencies, rejections),
            versions=versions,
            timeline=[
                time_bucket(query.since + index * width, timeline[index]) for index in sorted(timeline)
            ],
            bucket=bucket_name,
            challengers=challengers,
        )

    def _challengers(self, query: WindowQuery, specs: dict[str, ModelSpec]) -> list[ChallengerComparison]:
        """Each champion version against the challenger that scored the same records in shadow."""
        pairs = self.reader.shadow_pairs(query)
        if not pairs:
            return []
        windows = {(p.champion_version, p.challenger_version): PairWindow() for p in pairs}
        for chunk in self.reader.shadow_chunks(query):
            _add_shadow_chunk(chunk, windows, specs)
        return [
            windows[(p.champion_version, p.challenger_version)].comparison(
                p.champion_version, p.challenger_version, p.requests
            )
            for p in pairs
        ]

    @staticmethod
    def _add_chunk(
        chunk: LoggedChunk,
        windows: dict[str, VersionWindow],
        specs: dict[str, ModelSpec],
        timeline: dict[int, ScoreHistogram],
        since: datetime,
        width: timedelta,
    ) -> None:
        versions = np.asarray(chunk.versions)
        labels = np.full(len(chunk.labels), NO_LABEL, dtype=np.int8)
        for version, window in windows.items():
            rows = np.flatnonzero(versions == version)
            if rows.size == 0:
                continue
            spec = specs[version]
            for row in rows:
                label = chunk.labels[row]
                received = chunk.received_at[row]
                if label in spec.classes and received is not None:
                    labels[row] = 1 if label == spec.positive_class else 0
                    window.labels.add(chunk.created_at[row], received)
            window.add_records([chunk.inputs[row] for row in rows], chunk.scores[rows], labels[rows])
        offsets = np.fromiter(
            ((created - since) // width for created in chunk.created_at), dtype=np.int64, count=len(labels)
        )
        for index in np.unique(offsets):
            selected = offsets == index
            timeline[int(index)].add(chunk.scores[selected], labels[selected])

    def _version_report(self, window: VersionWindow, until: datetime) -> VersionMonitoring:
        window.check_features_logged()
        features = window.drift(self.thresholds)
        return VersionMonitoring(
            version=window.version,
            rows=window.rows,
            reference_rows=window.reference.rows,
            dataset=dataset_drift(features, self.thresholds),
            features=features,
            score=window.score_drift(self.thresholds),
            data_quality=window.data_quality(),
            performance=realised_performance(window.scores),
            estimated_performance=estimated_performance(window.scores),
            labels=label_freshness(window.labels, until),
        )


def _add_shadow_chunk(
    chunk: ShadowChunk, windows: dict[tuple[str, str], PairWindow], specs: dict[str, ModelSpec]
) -> None:
    champions = np.asarray(chunk.champion_versions)
    challengers = np.asarray(chunk.challenger_versions)
    for (champion, challenger), window in windows.items():
        rows = np.flatnonzero((champions == champion) & (challengers == challenger))
        if rows.size == 0:
            continue
        spec = specs[champion]
        labels = np.fromiter(
            (
                NO_LABEL if label not in spec.classes else int(label == spec.positive_class)
                for label in (chunk.labels[row] for row in rows)
            ),
            dtype=np.int8,
            count=rows.size,
        )
        window.add(chunk.champion_scores[rows], chunk.challenger_scores[rows], labels)


def open_monitoring(settings: Settings, engine: Engine) -> MonitoringService:
    """The monitoring service on the prediction log behind ``engine`` and the configured registry."""
    thresholds = DriftThresholds(
        psi_warning=settings.drift_psi_warning,
        psi_drift=settings.drift_psi_alert,
        distance_drift=settings.drift_distance_alert,
        significance=settings.drift_significance,
        dataset_share=settings.drift_dataset_share,
        min_auc=settings.min_auc,
    )
    reader = PredictionWindowReader(engine, settings.monitoring_chunk_rows)
    return MonitoringService(reader, open_registry(settings), thresholds)
