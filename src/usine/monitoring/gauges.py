"""The latest monitoring window as Prometheus gauges, pushed to a Pushgateway.

``usine monitor`` runs as a short job (a CronJob), so it cannot be scraped: it pushes its
gauges, grouped by model, to the Pushgateway that Prometheus scrapes. The Grafana dashboard
and the alert rules in ``deploy/grafana`` read these names.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from usine.domain.monitoring import MonitoringReport, VersionMonitoring

JOB = "usine-monitor"


def gauges_of(report: MonitoringReport) -> CollectorRegistry:
    """The gauges of the window's most used version (the one traffic mostly saw)."""
    registry = CollectorRegistry()
    model = report.model

    def gauge(name: str, documentation: str, *labels: str) -> Gauge:
        return Gauge(name, documentation, ["model", *labels], registry=registry)

    psi = gauge("usine_drift_psi", "PSI of a feature (or of the score) against training.", "feature")
    distance = gauge("usine_drift_distance", "Normalised Wasserstein or Jensen-Shannon distance.", "feature")
    share = gauge("usine_drift_share", "Share of features that drifted.")
    auc = gauge("usine_performance_roc_auc", "Realised ROC AUC on the labelled predictions.")
    estimated = gauge("usine_performance_estimated_roc_auc", "CBPE estimate of ROC AUC (not measured).")
    coverage = gauge("usine_performance_label_coverage", "Share of predictions with feedback.")
    staleness = gauge("usine_feedback_hours_since_last_label", "Hours since the last label arrived.")
    missing = gauge("usine_data_missing_share", "Share of missing values of a feature.", "feature")
    version = _most_used(report.versions)
    if version is None:
        return registry
    for drift in [*([version.score] if version.score else []), *version.features]:
        name = "score" if drift is version.score else drift.feature
        psi.labels(model, name).set(drift.psi)
        distance.labels(model, name).set(drift.distance)
    share.labels(model).set(version.dataset.share)
    for value, target in (
        (version.performance.roc_auc, auc),
        (version.estimated_performance.roc_auc, estimated),
        (version.performance.label_coverage, coverage),
        (version.labels.hours_since_last_label, staleness),
    ):
        if value is not None:
            target.labels(model).set(value)
    for quality in version.data_quality:
        missing.labels(model, quality.feature).set(quality.missing_share)
    return registry


def push_gauges(gateway: str, report: MonitoringReport, timeout_s: float = 10.0) -> None:
    """Replace the model's gauges on the Pushgateway at ``gateway`` (raises ``OSError`` if unreachable)."""
    push_to_gateway(
        gateway, job=JOB, registry=gauges_of(report), grouping_key={"model": report.model}, timeout=timeout_s
    )


def _most_used(versions: list[VersionMonitoring]) -> VersionMonitoring | None:
    return max(versions, key=lambda version: version.rows, default=None)
