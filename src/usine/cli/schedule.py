"""``usine schedule``: the crontab line and the Kubernetes CronJob that run a command on a schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from typer.core import TyperGroup

from usine.domain.errors import InvalidSchedule
from usine.services.schedule import Schedule, cronjob_manifest, crontab_line


def schedule(
    context: typer.Context,
    cron: Annotated[str, typer.Argument(help="Five cron fields, e.g. '0 2 * * 1', or a macro like @daily.")],
    name: Annotated[str, typer.Option(help="CronJob name; from the command by default.")] = "",
    timezone: Annotated[str, typer.Option(help="Time zone the schedule is read in.")] = "Europe/Paris",
    manifest: Annotated[
        Path | None, typer.Option(help="Write the CronJob here (YAML) instead of printing it.")
    ] = None,
    tag: Annotated[
        str | None, typer.Option(help="Image tag; omitted by default, as kustomize's images: sets it.")
    ] = None,
) -> None:
    """Print the crontab line and the Kubernetes CronJob running a usine command, given after --.

    Example: usine schedule "0 2 * * *" -- batch credit --input in.parquet --output out.parquet
    """
    args = list(context.args)
    check_command(context, args)
    planned = Schedule(cron=cron, args=args, timezone=timezone, name=name)
    line = crontab_line(planned)
    document = yaml.safe_dump(cronjob_manifest(planned, tag), sort_keys=False)
    typer.echo(f"# crontab\n{line}")
    if manifest is None:
        typer.echo(f"# Kubernetes CronJob\n{document}", nl=False)
        return
    manifest.write_text(document, encoding="utf-8")
    typer.echo(f"# Kubernetes CronJob written to {manifest}")


def check_command(context: typer.Context, args: list[str]) -> None:
    """Check that ``args`` are a command line the ``usine`` app accepts, without running it.

    Args:
        context: any context of the running ``usine`` app (its root holds every command).
        args: the words after ``usine``.

    Raises:
        InvalidSchedule: no such command, or its arguments are wrong.

    """
    if not args:
        raise InvalidSchedule("give the usine command to schedule after --, e.g. -- train credit")
    current = context.find_root()
    command = current.command
    remaining = list(args)
    while isinstance(command, TyperGroup):
        found = command.get_command(current, remaining[0]) if remaining else None
        if found is None:
            known = ", ".join(command.list_commands(current))
            raise InvalidSchedule(f"usine has no command {' '.join(args)!r} (commands: {known})")
        current = command.make_context(remaining.pop(0), [], parent=current, resilient_parsing=True)
        command = found
    try:
        command.make_context(command.name, remaining, parent=current)
    except typer.TyperException as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        raise InvalidSchedule(f"usine {' '.join(args)}: {message}") from exc
