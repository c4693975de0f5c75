"""``usine serve``: the real-time API under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from usine.settings import Settings, load_settings

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
    ``USINE_HOME`` (emptied here, at start). With ``USINE_AUTO_MIGRATE`` each worker upgrades
    the schema as it starts, in turn (the upgrade takes a lock). On SIGTERM the server stops
    accepting connections and lets in-flight requests finish (``GRACEFUL_SHUTDOWN_S`` at most).
    """
    import uvicorn

    from usine.services.metrics import prepare_multiprocess_folder

    workers = workers or settings.workers
    if workers > 1:
        os.environ.update(prepare_multiprocess_folder(settings.metrics_dir))
    uvicorn.run(
        "usine.api.app:create_app_from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        timeout_worker_healthcheck=settings.worker_healthcheck_s,
        log_level="info",
        access_log=settings.access_log,
    )
