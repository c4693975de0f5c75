"""Liveness and readiness, as Kubernetes probes read them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from usine import __version__
from usine.api.deps import ModelHolderDep, PredictionServiceDep
from usine.api.errors import problem
from usine.domain.schemas import HealthOut, ReadinessOut
from usine.services.access import AUTH_OFF_WARNING
from usine.services.claims import ClaimsService
from usine.settings import Settings

router = APIRouter(tags=["health"])


@router.get("/health_check")
async def health_check() -> HealthOut:
    """Liveness: the process answers."""
    return HealthOut(status="ok", version=__version__)


@router.get(
    "/readiness",
    response_model=ReadinessOut,
    response_model_exclude_none=True,
    responses={503: {"description": "A model is not loaded or the database is unreachable"}},
)
async def readiness(
    request: Request, holder: ModelHolderDep, service: PredictionServiceDep
) -> ReadinessOut | JSONResponse:
    """Readiness: every configured model is loaded and the database answers.

    A new version that failed to load does not make the server unready (the previous
    version serves); it is listed under ``reload_failures``.
    """
    models = {model.name: model.version for model in holder.served()}
    problems = [f"{name}: {reason}" for name, reason in holder.failures.items()]
    claims: ClaimsService = request.app.state.claims
    unavailable = {"claims": claims.unavailable} if claims.unavailable else None
    if unavailable and request.app.state.settings.claims_required:
        problems.append(f"claims: {claims.unavailable}")
    try:
        await run_in_threadpool(service.log.ping)
    except Exception as exc:  # any driver error means "not ready", reported as such
        problems.append(f"database: {type(exc).__name__}: {exc}".splitlines()[0])
    if problems:
        return problem(request, 503, "; ".join(problems), kind="not-ready", models=models)
    settings: Settings = request.app.state.settings
    warnings = None if settings.requires_api_keys else [AUTH_OFF_WARNING]
    return ReadinessOut(
        status="ready",
        models=models,
        reload_failures={**holder.reload_failures, **claims.models.reload_failures} or None,
        shadow_failures=dict(holder.shadow_failures) or None,
        unavailable=unavailable,
        warnings=warnings,
    )
