"""The ``usine`` command: one module per command group, errors as one line and an exit code.

Command modules import the services they call inside the command: ``usine keys list`` or
``usine schedule`` then start without loading scikit-learn, MLflow and pandas (seconds each
time a scheduler or a script runs a command).
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.console import Console

from usine import __version__, log_privacy
from usine.cli import (
    batch,
    claims,
    db,
    keys,
    models,
    monitor,
    project,
    quickstart,
    schedule,
    serve,
    simulate,
    train,
)
from usine.domain.errors import (
    ConfigurationError,
    EmptyWindow,
    FeatureMissingFromLog,
    InvalidSchedule,
    InvalidShift,
    InvalidWindow,
    NoReferenceStatistics,
    QualityGateFailed,
    StartupCheckFailed,
    TooManyRejections,
    UsineError,
)

app = typer.Typer(
    name="usine",
    help="Industrialise machine-learning models: train, register, serve, log.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("quickstart")(quickstart.quickstart)
app.command("init")(project.init)
app.command("train")(train.train)
app.command("serve")(serve.serve)
app.command("promote")(models.promote)
app.command("rollback")(models.rollback)
app.command("batch")(batch.batch)
app.command("package")(models.package)
app.command("schedule", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    schedule.schedule
)
app.add_typer(models.app, name="models")
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.command("monitor")(monitor.monitor)
app.add_typer(simulate.app, name="simulate")
app.add_typer(claims.app, name="claims")
app.add_typer(claims.evaluate_app, name="evaluate")

EXIT_CODES: dict[type[UsineError], int] = {
    ConfigurationError: 2,
    InvalidWindow: 2,
    InvalidShift: 2,
    InvalidSchedule: 2,
    QualityGateFailed: 3,
    StartupCheckFailed: 4,
    EmptyWindow: 5,
    NoReferenceStatistics: 5,
    FeatureMissingFromLog: 5,
    TooManyRejections: 6,
}
errors = Console(stderr=True)


def _version(show: bool) -> None:
    if show:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Industrialise machine-learning models: train, register, serve, log."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log_privacy.install()
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    # MLflow warns that pip has no version in a uv-managed environment; requirements are pinned.
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)


def main() -> None:
    """Entry point: run the command, turning usine's errors into one line and an exit code."""
    try:
        code = app(standalone_mode=False)
    except UsineError as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_CODES.get(type(exc), 1))
    except typer.TyperException as exc:  # unknown command or option, refused value, no arguments
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            errors.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        errors.print("aborted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
