"""``usine models list``, ``usine promote`` and ``usine package``: the registry from the command line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from usine.settings import load_settings

app = typer.Typer(help="Registered models and their versions.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_command(name: Annotated[str | None, typer.Argument(help="Only this model.")] = None) -> None:
    """List registered versions with their aliases and held-out metrics."""
    from usine.services.models import list_models, open_registry

    versions = list_models(open_registry(load_settings()), name)
    if not versions:
        console.print("no registered model yet: run [bold]usine train credit[/]")
        return
    table = Table()
    for column in ("model", "version", "aliases", "created", "roc_auc", "run"):
        table.add_column(column)
    for version in versions:
        created = datetime.fromtimestamp(version.created_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
        auc = version.metrics.get("roc_auc")
        table.add_row(
            version.name,
            version.version,
            ", ".join(version.aliases),
            created,
            f"{auc:.4f}" if auc is not None else "",
            version.run_id[:8],
        )
    console.print(table)


@app.command("register")
def register(
    name: Annotated[str, typer.Option("--name", help="Registered model name, e.g. churn.")],
    run: Annotated[str | None, typer.Option("--run", help="The MLflow run that logged the model.")] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(help="Or a folder where the model was saved (mlflow.sklearn.save_model)."),
    ] = None,
    artifact_path: Annotated[str, typer.Option(help="Where the run logged the model.")] = "model",
    reference: Annotated[
        Path | None,
        typer.Option(help="Training inputs (CSV or Parquet) for monitoring; else the run's reference file."),
    ] = None,
    positive_class: Annotated[
        str | None, typer.Option(help="The class whose probability is served; the model's second by default.")
    ] = None,
    target: Annotated[
        str, typer.Option(help="The label column's name (feedback is read against it).")
    ] = "target",
) -> None:
    """Register as challenger a scikit-learn or pyfunc model logged in an MLflow run or saved in a folder."""
    from usine.services.model_import import register_run_model, register_saved_model
    from usine.services.models import open_registry

    if (run is None) == (model_dir is None):
        raise typer.BadParameter("name the model with exactly one of --run RUN_ID and --model-dir FOLDER")
    registry = open_registry(load_settings())
    if model_dir is not None:
        brought = register_saved_model(
            registry, model_dir, name, reference=reference, positive_class=positive_class, target=target
        )
    else:
        brought = register_run_model(
            registry,
            str(run),
            name,
            artifact_path=artifact_path,
            reference=reference,
            positive_class=positive_class,
            target=target,
        )
    console.print(
        f"{brought.name}: version {brought.version} registered from run {brought.run_id[:8]} as 'challenger' "
        f"({len(brought.features)} inputs, scores P({brought.positive_class}))"
    )
    if brought.reference_rows is None:
        console.print("[yellow]no reference data[/]: monitoring needs --reference data.csv", highlight=False)
    else:
        console.print(f"reference statistics from {brought.reference_source} ({brought.reference_rows} rows)")
    console.print(
        f"next: usine promote {brought.name}, then serve it with "
        f"USINE_SERVED_MODELS='[\"{brought.name}\"]' usine serve",
        highlight=False,
    )


@app.command("card")
def card(
    name: Annotated[str, typer.Argument(help="Registered model name, e.g. credit.")],
    version: Annotated[str, typer.Option(help="The registered version.")],
    out: Annotated[Path, typer.Option(help="File to write: .html for the page, .md for Markdown.")],
) -> None:
    """Write the model card of a version (data, metrics, figures, fairness, intended use, limits)."""
    from usine.services.models import model_card, open_registry

    html = out.suffix.lower() in {".html", ".htm"}
    text = model_card(open_registry(load_settings()), name, version, html)
    out.write_text(text, encoding="utf-8")
    console.print(f"[green]wrote[/] {out}", highlight=False)


def promote(
    name: Annotated[str, typer.Argument(help="Registered model name, e.g. credit.")],
    version: Annotated[
        str | None, typer.Option(help="The version to promote; the challenger by default.")
    ] = None,
    to: Annotated[str, typer.Option(help="The alias to move.")] = "champion",
) -> None:
    """Move an alias (champion by default) to a version (the challenger by default)."""
    from usine.services.models import open_registry
    from usine.services.models import promote as promote_version

    moved = promote_version(open_registry(load_settings()), name, version, to)
    before = f"from version {moved.previous} " if moved.previous else ""
    console.print(f"{moved.name}: alias {moved.alias!r} moved {before}to version {moved.current}")


def rollback(
    name: Annotated[str, typer.Argument(help="Registered model name, e.g. credit.")],
    alias: Annotated[str, typer.Option("--alias", help="The alias to move back.")] = "champion",
) -> None:
    """Move an alias (champion by default) back to the version it pointed at before."""
    from usine.services.models import open_registry
    from usine.services.models import rollback as rollback_version

    moved = rollback_version(open_registry(load_settings()), name, alias)
    console.print(
        f"{moved.name}: alias {moved.alias!r} rolled back from version {moved.previous} to {moved.current}"
    )


def package(
    name: Annotated[str, typer.Argument(help="Registered model name, e.g. credit.")],
    version: Annotated[str | None, typer.Option(help="The version; the serving alias's by default.")] = None,
    output: Annotated[Path, typer.Option(help="Folder the wheel is written to.")] = Path("dist"),
) -> None:
    """Write a model version as its own wheel, which scores without usine or the registry."""
    from usine.services.models import open_registry
    from usine.services.models import package as package_version

    settings = load_settings()
    wheel = package_version(open_registry(settings), name, version, settings.serving_alias, output)
    console.print(f"[green]wrote[/] {wheel}", highlight=False)
    console.print(
        f"pip install {wheel}, then: import {wheel.name.split('-')[0]}; scores = ….load().predict(records)"
    )
