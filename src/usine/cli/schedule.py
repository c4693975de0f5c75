"""``usine schedule``: the crontab line and the Kubernetes CronJob that run a command on a schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
    root = context.find_root().command
    if not isinstance(root, TyperGroup) or not args:
        raise InvalidSchedule("give the usine command to schedule after --, e.g. -- train credit")
    parse_command(root, args)
    planned = Schedule(cron=cron, args=args, timezone=timezone, name=name)
    line = crontab_line(planned)
    document = yaml.safe_dump(cronjob_manifest(planned, tag), sort_keys=False)
    typer.echo(f"# crontab\n{line}")
    if manifest is None:
        typer.echo(f"# Kubernetes CronJob\n{document}", nl=False)
        return
    manifest.write_text(document, encoding="utf-8")
    typer.echo(f"# Kubernetes CronJob written to {manifest}")


def parse_command(root: TyperGroup, args: list[str]) -> dict[str, Any]:
    """Parse ``usine ARGS`` as the real command line would, without running it.

    Walks the command groups, then lets the leaf command parse and validate its arguments and
    options (types, choices, required values).

    Args:
        root: the ``usine`` app as a click group (``typer.main.get_command(app)``).
        args: the words after ``usine``.

    Returns:
        The parameters the command would run with.

    Raises:
        InvalidSchedule: no such command, an incomplete one, or a refused argument.

    """
    command: Any = root
    context = root.make_context("usine", [], resilient_parsing=True)
    remaining = list(args)
    try:
        while isinstance(command, TyperGroup) and remaining:
            name = remaining.pop(0)
            found = command.get_command(context, name)
            if found is None:
                known = ", ".join(command.list_commands(context))
                raise InvalidSchedule(
                    f"no such command {name!r} in: usine {' '.join(args)} (commands: {known})"
                )
            command = found
            group = isinstance(command, TyperGroup)
            context = command.make_context(
                name, [] if group else remaining, parent=context, resilient_parsing=group
            )
    except typer.TyperException as exc:
        raise InvalidSchedule(f"usine {' '.join(args)}: {exc.format_message()}") from exc
    if isinstance(command, TyperGroup):
        raise InvalidSchedule(f"not a complete command: usine {' '.join(args)}")
    return dict(context.params)
