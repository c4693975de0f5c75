"""``usine monitor``: drift, data quality and performance of a model over a window.

A drift, or an AUC below the quality gate (realised, or estimated where labels are missing),
is sent to the notification channels (``USINE_NOTIFY_*``) and, with ``--retrain`` (or
``USINE_RETRAIN_ON_ALERT``), starts a training run whose quality gate decides whether the new
version replaces the champion. The window's gauges go to the Pushgateway of
``USINE_PUSHGATEWAY_URL`` when it is set. Exit codes (for a cron line or a Kubernetes
CronJob): 0 when nothing is wrong, ``ALERT_EXIT_CODE`` (10) on drift or performance below the
gate (even when a retraining ran), 2 when the window cannot be read, 5 when the window cannot
be monitored (empty, no reference statistics, a feature absent from the log); a retraining
that fails ends as ``usine train`` does (3 when its version misses the gate).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from usine.adapters.db.engine import make_engine
from usine.cli.progress import stages
from usine.cli.train import train
from usine.domain.drift import FeatureDrift, Severity
from usine.domain.monitoring import MonitoringReport, VersionMonitoring
from usine.domain.shadow_comparison import ChallengerComparison
from usine.monitoring.gauges import push_gauges
from usine.monitoring.report import number, percent, render_report
from usine.services.monitoring import open_monitoring, window_query
from usine.services.notifications import channels_for, notify_alerts
from usine.settings import load_settings

ALERT_EXIT_CODE = 10
COLOURS = {Severity.DRIFT: "bold red", Severity.WARNING: "yellow", Severity.STABLE: "green"}
console = Console()
progress_console = Console(stderr=True)


def monitor(
    name: Annotated[str, typer.Argument(help="Registered model name, e.g. credit.")],
    since: Annotated[
        str, typer.Option(help="Start: a duration back from now (7d, 24h, 30m, 2w) or ISO 8601.")
    ] = "7d",
    until: Annotated[str | None, typer.Option(help="End of the window (now by default).")] = None,
    version: Annotated[str | None, typer.Option(help="Only this version.")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write the report page to this file.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of tables.")] = False,
    retrain: Annotated[
        bool | None,
        typer.Option(
            "--retrain/--no-retrain",
            help="On drift or performance below the gate, train a new version (USINE_RETRAIN_ON_ALERT).",
        ),
    ] = None,
) -> int:
    """Compare a window of logged predictions with the training reference; exit 10 on an alert."""
    settings = load_settings()
    query = window_query(name, since, until, version)
    engine = make_engine(settings.database_url)
    try:
        service = open_monitoring(settings, engine)
        if progress_console.is_terminal:
            with stages(progress_console) as stage:
                report = service.monitor(query, step=stage)
        else:  # piped or scheduled: only the result and errors, no progress lines
            report = service.monitor(query)
    finally:
        engine.dispose()
    if html is not None:
        html.write_text(render_report(report), encoding="utf-8")
    if json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        print_report(report)
        if html is not None:
            console.print(f"report written to {html}")
    notify_alerts(channels_for(settings), report)
    if settings.pushgateway_url:
        try:
            push_gauges(settings.pushgateway_url, report)
        except OSError as exc:  # the report stands; a missed push shows as stale gauges
            progress_console.print(
                f"[yellow]warning:[/] gauges not pushed to {settings.pushgateway_url}: {exc}"
            )
    if report.alert and (settings.retrain_on_alert if retrain is None else retrain):
        console.print(f"[bold]retraining {name}[/] after the alert")
        train(name, data=None, seed=None, definition=None)
    return ALERT_EXIT_CODE if report.alert else 0


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
