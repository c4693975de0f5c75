"""``usine init``: scaffold a model project that trains with usine's blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def init(
    name: Annotated[str, typer.Argument(help="The model's registered name, e.g. churn.")],
    directory: Annotated[
        Path | None, typer.Option(help="Folder of the project (created); ./NAME by default.")
    ] = None,
) -> None:
    """Create a model project: pipeline file, sample data, README, test and Makefile."""
    from usine.services.scaffold import create_project

    folder = directory or Path(name)
    written = create_project(name, folder)
    console.print(f"[green]created[/] {folder}: {', '.join(str(path) for path in written)}", highlight=False)
    console.print(
        f"next: cd {folder} && usine train {name} --pipeline-file pipeline.yaml (or make train)",
        highlight=False,
    )
