"""The monitoring report of ``usine monitor`` as rich tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from usine.domain.drift import FeatureDrift, Severity
from usine.domain.monitoring import MonitoringReport, VersionMonitoring
from usine.domain.shadow_comparison import ChallengerComparison
from usine.monitoring.report import number, percent

COLOURS = {Severity.DRIFT: "bold red", Severity.WARNING: "yellow", Severity.STABLE: "green"}
console = Console()


def print_report(report: MonitoringReport) -> None:
    """The report as rich tables: verdict, usage, champion against challenger, each version's figures."""
    verdict = "[bold red]drift detected[/]" if report.drift_detected else "[green]no drift[/]"
    console.print(f"{report.model}: {verdict}")
    for alert in report.performance_alerts:
        kind = "estimated AUC" if alert.estimated else "AUC"
        console.print(
            f"[bold red]performance below the gate[/]: version {alert.version} {kind} "
            f"{alert.roc_auc:.3f} < {alert.threshold:.3f}"
        )
    console.print(
        f"{report.rows} predictions from {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC"
    )
    health = report.health
    console.print(
        f"requests {health.requests}, latency p50 {number(health.latency_ms_p50, 1)} ms, "
        f"p95 {number(health.latency_ms_p95, 1)} ms, p99 {number(health.latency_ms_p99, 1)} ms; "
        f"rejected {health.rejected}, failed {health.failed}, error rate {number(health.error_rate, 4)}"
    )
    if report.callers:
        console.print(
            "callers: "
            + ", ".join(f"{c.caller} (v{c.version}) {c.predictions} predictions" for c in report.callers)
        )
    if health.rejections:
        console.print(
            "rejected requests: " + ", ".join(f"{r.status} {r.reason} ×{r.count}" for r in health.rejections)
        )
    for pair in report.challengers:
        _print_challenger(pair)
    for version in report.versions:
        _print_version(version)


def _print_challenger(pair: ChallengerComparison) -> None:
    console.print(
        f"challenger v{pair.challenger_version} in shadow of v{pair.champion_version}: "
        f"{pair.requests} requests ({pair.predictions} records) scored by both, decisions alike "
        f"{percent(pair.decision_agreement)}, mean |score difference| "
        f"{number(pair.mean_absolute_score_difference, 4)}; on {pair.champion.labelled} labels: "
        f"AUC {number(pair.champion.roc_auc)} → {number(pair.challenger.roc_auc)}, "
        f"Brier {number(pair.champion.brier)} → {number(pair.challenger.brier)}"
    )


def _drift_row(drift: FeatureDrift) -> list[str]:
    colour = COLOURS[drift.severity]
    return [
        drift.feature,
        f"[{colour}]{drift.severity.value}[/]",
        number(drift.psi),
        f"{number(drift.distance)} {'W' if drift.kind == 'numeric' else 'JS'}",
        f"{drift.test} {drift.p_value:.2g}",
        str(drift.rows),
    ]


def _print_version(version: VersionMonitoring) -> None:
    dataset = version.dataset
    table = Table(
        title=f"version {version.version}: {dataset.drifted}/{dataset.features} features drifted, "
        f"{dataset.warnings} to watch"
    )
    for column in ("feature", "severity", "PSI", "distance", "p-value", "rows"):
        table.add_column(column, justify="left" if column in ("feature", "severity") else "right")
    for drift in [*([version.score] if version.score else []), *version.features]:
        table.add_row(*_drift_row(drift))
    console.print(table)
    flagged = [q for q in version.data_quality if q.severity is not Severity.STABLE]
    for quality in flagged:
        console.print(
            f"[yellow]quality[/] {quality.feature}: missing {percent(quality.missing_share)}, "
            f"invalid {quality.invalid}, out of range {quality.out_of_range}, unseen {quality.unseen}"
            + (f" ({', '.join(quality.unseen_examples)})" if quality.unseen_examples else "")
        )
    realised, estimated = version.performance, version.estimated_performance
    console.print(
        f"performance: AUC {number(realised.roc_auc)}, Brier {number(realised.brier)} on {realised.labelled} "
        f"labels (coverage {percent(realised.label_coverage)})"
        + (f" — {realised.unavailable_reason}" if realised.unavailable_reason else "")
    )
    console.print(
        f"[italic]estimated ({estimated.method}, not measured): AUC {number(estimated.roc_auc)}, "
        f"accuracy {number(estimated.accuracy)}[/]"
    )
