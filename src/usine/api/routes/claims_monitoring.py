"""Is the claims extraction used as is? Field-level acceptance from the handlers' saved claims."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from usine.api.auth import scoped
from usine.api.routes.claims import ClaimsDep
from usine.api.routes.monitoring import PROBLEM, Since, Until
from usine.domain.access import Scope
from usine.domain.claims_acceptance import ClaimsAcceptanceReport

router = APIRouter(prefix="/monitoring/claims", tags=["monitoring"], dependencies=scoped(Scope.ADMIN))


@router.get("/acceptance", responses={422: {"description": "The window cannot be read", **PROBLEM}})
async def claims_acceptance(
    service: ClaimsDep, since: Since = "30d", until: Until = None
) -> ClaimsAcceptanceReport:
    """Field-level acceptance of the extraction over the claims saved in a window.

    Per field: values the handlers saved unchanged, corrected, removed, or had to type
    themselves; and acceptance by confidence band (is a 0.9 confidence accepted 9 times in 10?).
    """
    return await run_in_threadpool(service.acceptance, since, until)
