"""``usine batch``: score a table file with a registered model, as a scheduler runs it."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, cast

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

from usine.domain.errors import BatchSourceError, TooManyRejections
from usine.settings import Settings, load_settings

if TYPE_CHECKING:
    from usine.services.batch import BatchJob, BatchReport, Sink, Source

console = Console()


class Engine(StrEnum):
    """Where a batch job runs."""

    LOCAL = "local"
    SPARK = "spark"


class RowsPerSecond(ProgressColumn):
    """Scoring speed in rows per second."""

    def render(self, task: Task) -> Text:
        """The task's current speed."""
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "… rows/s", style="progress.data.speed")


def batch(
    model: Annotated[str, typer.Argument(help="Registered model name, e.g. credit.")],
    input_url: Annotated[
        str | None,
        typer.Option("--input", help="Table to score: .csv or .parquet, a path or an fsspec URL (s3://…)."),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(help="Score the rows of this SELECT instead (on USINE_BATCH_DATABASE_URL)."),
    ] = None,
    output_url: Annotated[
        str | None,
        typer.Option("--output", help="Scores file (.csv or .parquet), replaced atomically."),
    ] = None,
    output_table: Annotated[
        str | None,
        typer.Option(help="Scores table instead; a rerun replaces the rows of the same batch run."),
    ] = None,
    rejects: Annotated[
        str | None,
        typer.Option(help="Rejected rows with their reasons; default: OUTPUT.rejects.EXT or TABLE_rejects."),
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Model version; the serving alias (champion) by default.")
    ] = None,
    chunk_rows: Annotated[int, typer.Option(min=1, help="Rows read and scored at a time.")] = 50_000,
    engine: Annotated[
        Engine,
        typer.Option(
            help="local: stream in this process; spark: a Spark job (files only, needs the spark extra)."
        ),
    ] = Engine.LOCAL,
    master: Annotated[
        str | None, typer.Option(help="Spark master URL; USINE_SPARK_MASTER (local[*]) by default.")
    ] = None,
    conf: Annotated[
        list[str] | None,
        typer.Option(help="A Spark property KEY=VALUE, as spark-submit --conf (repeatable)."),
    ] = None,
    max_rejected_share: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Exit with code 6 when a larger share of rows is rejected."),
    ] = 0.05,
) -> None:
    """Score a table with a registered model: every row is scored or rejected with its reasons."""
    from usine.services.batch import BatchJob, FileTable, SqlQuery, SqlTable, rejects_for
    from usine.services.notifications import channels_for, notified

    settings = load_settings()
    database = settings.batch_database_url
    _exactly_one("--input", input_url, "--query", query)
    _exactly_one("--output", output_url, "--output-table", output_table)
    if engine is Engine.SPARK and (query is not None or output_table is not None):
        raise typer.BadParameter("--engine spark reads and writes files: use --input and --output")
    source: Source = FileTable(input_url) if input_url is not None else SqlQuery(database, cast(str, query))
    output: Sink = (
        FileTable(output_url) if output_url is not None else SqlTable(database, cast(str, output_table))
    )
    rejected_to: Sink
    if rejects is None:
        rejected_to = rejects_for(output)
    else:
        rejected_to = SqlTable(database, rejects) if isinstance(output, SqlTable) else FileTable(rejects)
    job = BatchJob(
        model=model,
        source=source,
        output=output,
        rejects=rejected_to,
        version=version,
        alias=settings.serving_alias,
        chunk_rows=chunk_rows,
    )
    with notified(channels_for(settings), f"batch {model} on {source}") as facts:
        if engine is Engine.SPARK:
            report = _on_spark(job, settings, master or settings.spark_master, _properties(conf or []))
        else:
            report = _locally(job, settings)
        console.print(_summary(report))
        facts.update(
            version=report.version,
            batch_run_id=report.batch_run_id,
            rows=f"{report.rows_in} in, {report.rows_scored} scored, {report.rows_rejected} rejected",
            output=str(report.output),
        )
        if report.rejected_share > max_rejected_share:
            raise TooManyRejections(
                f"{report.rows_rejected} of {report.rows_in} rows rejected "
                f"({report.rejected_share:.1%} > {max_rejected_share:.1%}); see {report.rejects}"
            )


def _locally(job: BatchJob, settings: Settings) -> BatchReport:
    from usine.services.batch import score_table
    from usine.services.models import open_registry

    columns = (
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        RowsPerSecond(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("rows", total=None)
        return score_table(
            job,
            open_registry(settings),
            f"{settings.experiment_name}-batch",
            on_total=lambda total: progress.update(task, total=total),
            on_rows=lambda rows: progress.advance(task, rows),
        )


def _properties(pairs: list[str]) -> dict[str, str]:
    properties: dict[str, str] = {}
    for pair in pairs:
        key, sign, value = pair.partition("=")
        if not sign or not key.strip():
            raise typer.BadParameter(f"--conf {pair!r}: expected KEY=VALUE")
        properties[key.strip()] = value
    return properties


def _on_spark(job: BatchJob, settings: Settings, master: str, conf: dict[str, str]) -> BatchReport:
    from usine.services.models import open_registry

    try:
        from usine.services.batch_spark import score_table_spark
    except ImportError as exc:
        raise BatchSourceError("--engine spark needs pyspark: pip install 'usine-ml[spark]'") from exc
    with console.status(f"scoring on Spark ({master})"):
        return score_table_spark(
            job, open_registry(settings), f"{settings.experiment_name}-batch", master, conf
        )


def _exactly_one(first: str, first_value: str | None, second: str, second_value: str | None) -> None:
    if (first_value is None) == (second_value is None):
        raise typer.BadParameter(f"give exactly one of {first} and {second}")


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
        f"{report.output}\n{report.rejects}",
    )
    return table
