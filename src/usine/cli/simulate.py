"""``usine simulate traffic``: replay credit traffic, optionally shifted, into the prediction log."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from usine.cli.train import Pipeline
from usine.settings import load_settings

app = typer.Typer(help="Simulated traffic, to see monitoring at work.", no_args_is_help=True)
console = Console()


@app.command("traffic")
def traffic(
    model: Annotated[Pipeline, typer.Argument(help="The model whose champion scores the traffic.")],
    rows: Annotated[int, typer.Option(min=1, max=1_000_000, help="Predictions to log.")] = 5_000,
    days: Annotated[float, typer.Option(min=0.01, help="Spread them over this many past days.")] = 7.0,
    drift: Annotated[
        list[str] | None,
        typer.Option(help="A shift: feature*factor, feature+offset or feature=category[@share]; repeatable."),
    ] = None,
    feedback_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of accepted applicants whose outcome arrives.")
    ] = 0.5,
    seed: Annotated[int, typer.Option(help="Makes the replay repeatable.")] = 0,
) -> None:
    """Log realistic applications scored by the champion, with controlled drift and delayed feedback."""
    from usine.adapters.db.engine import make_engine
    from usine.adapters.db.migrate import upgrade
    from usine.adapters.db.repository import SqlPredictionLog
    from usine.domain.shifts import parse_shift
    from usine.services.models import open_registry
    from usine.services.simulation import TrafficPlan, replay_credit_traffic

    settings = load_settings()
    registry = open_registry(settings)
    version = registry.version_for_alias(model.value, settings.serving_alias)
    features = registry.spec(model.value, version).features if version else []
    shifts = tuple(parse_shift(text, features) for text in drift or []) if version else ()
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        columns = (TextColumn("logging predictions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("replay", total=rows)
            replayed = replay_credit_traffic(
                registry,
                SqlPredictionLog(engine),
                TrafficPlan(rows=rows, days=days, shifts=shifts, feedback_share=feedback_share, seed=seed),
                alias=settings.serving_alias,
                progress=lambda done: progress.update(task, completed=done),
            )
    finally:
        engine.dispose()
    console.print(
        f"{replayed.rows} predictions of {replayed.model} version {replayed.version} logged from "
        f"{replayed.since:%Y-%m-%d %H:%M} to {replayed.until:%Y-%m-%d %H:%M} UTC, "
        f"{replayed.labelled} with feedback"
    )
    console.print(f"now run: usine monitor {replayed.model} --since {math.ceil(days)}d")
