"""``usine db``: the prediction log's schema."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from usine.settings import load_settings

app = typer.Typer(help="The prediction log database.", no_args_is_help=True)
console = Console()


@app.command("upgrade")
def upgrade_command(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the database schema to the latest revision (or REVISION)."""
    from usine.adapters.db.migrate import upgrade_database

    reached = upgrade_database(load_settings().database_url, revision=revision)
    console.print(f"database at revision {reached}")
