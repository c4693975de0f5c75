"""Monitoring of a served model over a time window: JSON for machines, a page for people."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from usine.adapters.db.engine import make_engine
from usine.api.auth import scoped
from usine.domain.access import Scope
from usine.domain.monitoring import MonitoringReport
from usine.monitoring.report import render_report
from usine.services.monitoring import MonitoringService, open_monitoring, window_query
from usine.settings import Settings

router = APIRouter(prefix="/monitoring", tags=["monitoring"], dependencies=scoped(Scope.ADMIN))
_lock = threading.Lock()

ModelName = Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
Since = Annotated[
    str,
    Query(
        max_length=64,
        description="Start of the window: a duration back from now (7d, 24h, 30m, 2w) or ISO 8601.",
    ),
]
Until = Annotated[
    str | None,
    Query(max_length=64, description="End of the window, after since (now by default)."),
]
Version = Annotated[str | None, Query(max_length=32, pattern=r"^[0-9]+$", description="Only this version.")]
PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No prediction of this model in the window", **PROBLEM},
    409: {"description": "No reference statistics, or a feature absent from the log", **PROBLEM},
    422: {"description": "The window cannot be read", **PROBLEM},
}


def get_monitoring_service(request: Request) -> MonitoringService:
    """The app's monitoring service, made on first use with its own read-only connection pool."""
    state = request.app.state
    with _lock:
        if getattr(state, "monitoring", None) is None:
            settings: Settings = state.settings
            state.monitoring = open_monitoring(settings, make_engine(settings.database_url))
    service: MonitoringService = state.monitoring
    return service


MonitoringDep = Annotated[MonitoringService, Depends(get_monitoring_service)]


async def _monitor(
    service: MonitoringService, name: str, since: str, until: str | None, version: str | None
) -> MonitoringReport:
    query = window_query(name, since, until, version)
    return await run_in_threadpool(service.monitor, query)


@router.get("/{name}", responses=RESPONSES)
async def monitoring(
    name: ModelName, service: MonitoringDep, since: Since = "7d", until: Until = None, version: Version = None
) -> MonitoringReport:
    """Usage, health, data quality, drift and performance of a model over a window."""
    return await _monitor(service, name, since, until, version)


@router.get("/{name}/report", response_class=HTMLResponse, responses=RESPONSES)
async def monitoring_report(
    name: ModelName, service: MonitoringDep, since: Since = "7d", until: Until = None, version: Version = None
) -> HTMLResponse:
    """The same as a page a person reads, with plots."""
    report = await _monitor(service, name, since, until, version)
    return HTMLResponse(await run_in_threadpool(render_report, report))
