"""``usine keys``: create, list and revoke the API keys the server accepts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from usine.domain.access import Scope, parse_scopes
from usine.settings import load_settings

app = typer.Typer(help="API keys: who may call the server, and what.", no_args_is_help=True)
console = Console()


@app.command("create")
def create_command(
    name: Annotated[str, typer.Option(help="Who the key is for (shown in logs and monitoring).")],
    scope: Annotated[
        list[str],
        typer.Option(help=f"Repeat for each scope: {', '.join(s.value for s in Scope)} (admin: all)."),
    ],
) -> None:
    """Create a key and print it once: only its digest is stored."""
    from usine.services.access import create_key, open_key_store

    try:
        key, token = create_key(open_key_store(load_settings()), name, parse_scopes(scope))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(f"created key {key.id} ({key.name}, scopes: {' '.join(sorted(key.scopes))})")
    console.print("the key is shown only now; store it safely:", style="bold")
    typer.echo(token)


@app.command("list")
def list_command() -> None:
    """Every key: id, name, prefix, scopes, and whether it was revoked."""
    from usine.services.access import open_key_store

    keys = open_key_store(load_settings()).all()
    if not keys:
        console.print("no API key yet: run [bold]usine keys create --name NAME --scope predict[/]")
        return
    table = Table()
    for column in ("id", "name", "prefix", "scopes", "created", "revoked"):
        table.add_column(column)
    for key in keys:
        revoked = key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else ""
        table.add_row(
            key.id,
            key.name,
            key.prefix + "…",
            " ".join(sorted(key.scopes)),
            key.created_at.strftime("%Y-%m-%d %H:%M"),
            revoked,
        )
    console.print(table)


@app.command("revoke")
def revoke_command(key_id: Annotated[str, typer.Argument(help="The key's id (usine keys list).")]) -> None:
    """Revoke a key: every server refuses it within USINE_API_KEY_CACHE_TTL_S seconds."""
    from usine.services.access import open_key_store, revoke_key

    revoke_key(open_key_store(load_settings()), key_id)
    console.print(f"revoked key {key_id}")
