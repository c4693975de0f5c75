"""``usine batch``: score a table file with a registered model, as a scheduler runs it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from usine.domain.errors import TooManyRejections
from usine.services.batch import BatchJob, BatchReport, rejects_url_for, score_file
from usine.services.models import open_registry
from usine.settings import load_settings

console = Console()


class RowsPerSecond(ProgressColumn):
    """Scoring speed in rows per second."""

    def render(self, task: Task) -> Text:
        """The task's current speed."""
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "… rows/s", style="progress.data.speed")


def batch(
    model: Annotated[str, typer.Argument(help="Registered model name, e.g. credit.")],
    input_url: Annotated[
        str,
        typer.Option("--input", help="Table to score: .csv or .parquet, a path or an fsspec URL (s3://…)."),
    ],
    output_url: Annotated[
        str, typer.Option("--output", help="Where the scores go (.csv or .parquet); replaced atomically.")
    ],
    rejects_url: Annotated[
        str | None,
        typer.Option("--rejects", help="Rejected rows with their reasons; default: OUTPUT with .rejects."),
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Model version; the serving alias (champion) by default.")
    ] = None,
    chunk_rows: Annotated[int, typer.Option(min=1, help="Rows read and scored at a time.")] = 50_000,
    max_rejected_share: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Exit with code 5 when a larger share of rows is rejected."),
    ] = 0.05,
) -> None:
    """Score a table with a registered model: every row is scored or rejected with its reasons."""
    settings = load_settings()
    job = BatchJob(
        model=model,
        input_url=input_url,
        output_url=output_url,
        rejects_url=rejects_url or rejects_url_for(output_url),
        version=version,
        alias=settings.serving_alias,
        chunk_rows=chunk_rows,
    )
    columns = (
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        RowsPerSecond(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("rows", total=None)
        report = score_file(
            job,
            open_registry(settings),
            f"{settings.experiment_name}-batch",
            on_total=lambda total: progress.update(task, total=total),
            on_rows=lambda rows: progress.advance(task, rows),
        )
    console.print(_summary(report))
    if report.rejected_share > max_rejected_share:
        raise TooManyRejections(
            f"{report.rows_rejected} of {report.rows_in} rows rejected "
            f"({report.rejected_share:.1%} > {max_rejected_share:.1%}); see {report.rejects_url}"
        )


def _summary(report: BatchReport) -> Table:
    table = Table(title=f"{report.model} version {report.version}, batch run {report.batch_run_id}")
    table.add_column("rows in", justify="right")
    table.add_column("scored", justify="right")
    table.add_column("rejected", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("written to")
    table.add_row(
        f"{report.rows_in:,}",
        f"{report.rows_scored:,}",
        f"{report.rows_rejected:,}",
        f"{report.duration_s:.1f}",
        f"{report.output_url}\n{report.rejects_url}",
    )
    return table
