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

from usine.cli.progress import stages
from usine.cli.train import train
from usine.settings import load_settings

ALERT_EXIT_CODE = 10
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
    from usine.adapters.db.engine import make_engine
    from usine.cli.monitor_tables import print_report
    from usine.monitoring.gauges import push_gauges
    from usine.monitoring.report import render_report
    from usine.services.monitoring import open_monitoring, window_query
    from usine.services.notifications import channels_for, notify_alerts

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
