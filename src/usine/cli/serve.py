"""``usine serve``: the real-time API under uvicorn."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from usine.cli.worker_sockets import WorkerSocket, spread_by_kernel
from usine.settings import Settings, load_settings

if TYPE_CHECKING:
    import uvicorn

APP = "usine.api.app:create_app_from_env"
"""The app factory every worker calls."""

GRACEFUL_SHUTDOWN_S = 30
"""How long a server given SIGTERM lets in-flight requests finish before it stops."""


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (USINE_HOST by default).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (USINE_PORT by default).")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (USINE_WORKERS by default).")
    ] = None,
) -> None:
    """Serve the champion models over HTTP until interrupted."""
    from usine.services.preflight import check_can_serve

    settings = load_settings()
    check_can_serve(settings)
    run_server(settings, host=host, port=port, workers=workers)


def run_server(
    settings: Settings, host: str | None = None, port: int | None = None, workers: int | None = None
) -> None:
    """Run uvicorn on the app factory; each worker reads the same ``USINE_*`` settings.

    With several workers, uvicorn's supervisor replaces a worker that dies or stops answering
    for ``USINE_WORKER_HEALTHCHECK_S``, and the workers share their metrics through a folder under
    ``USINE_HOME`` (emptied here, at start). On Linux each worker listens on a socket of its own
    (``USINE_REUSE_PORT``; :mod:`usine.cli.worker_sockets`), so that connections are spread
    evenly across them. With ``USINE_AUTO_MIGRATE`` each worker upgrades the schema as it
    starts, in turn (the upgrade takes a lock). On SIGTERM the server stops accepting
    connections and lets in-flight requests finish (``GRACEFUL_SHUTDOWN_S`` at most).
    """
    import uvicorn

    from usine.services.metrics import prepare_multiprocess_folder

    workers = workers or settings.workers
    if workers > 1:
        os.environ.update(prepare_multiprocess_folder(settings.metrics_dir))
    options: dict[str, Any] = {
        "factory": True,
        "host": host or settings.host,
        "port": port or settings.port,
        "workers": workers,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
        "timeout_worker_healthcheck": settings.worker_healthcheck_s,
        "log_level": "info",
        "access_log": settings.access_log,
    }
    if workers > 1 and settings.reuse_port and spread_by_kernel():
        _supervise(uvicorn.Config(APP, **options))
    else:
        uvicorn.run(APP, **options)


def _supervise(config: uvicorn.Config) -> None:
    """Run the supervisor of uvicorn, its workers each listening on a socket of their own."""
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    logger = logging.getLogger("uvicorn.error")
    try:
        sock = WorkerSocket.reserve(config.host, config.port)
    except OSError as exc:  # as uvicorn does when its shared socket cannot be bound
        logger.error("cannot bind %s:%d: %s", config.host, config.port, exc)
        raise typer.Exit(STARTUP_FAILURE) from exc
    logger.info(
        "Uvicorn running on http://%s:%d, a socket per worker (Press CTRL+C to quit)",
        config.host,
        config.port,
    )
    Multiprocess(config, sockets=[sock]).run()
