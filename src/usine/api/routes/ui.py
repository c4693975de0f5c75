"""Pages for people, served by the API itself (no separate front end, no CDN)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from usine.ui.labels import pick_language
from usine.ui.page import render_claims_page

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)
STATIC = "/ui/static"
Prefill = Annotated[str, Query(max_length=64, pattern=r"^([A-Za-z0-9][A-Za-z0-9._-]*)?$")]


def static_files() -> StaticFiles:
    """The page's script and stylesheet, from the installed package."""
    return StaticFiles(packages=[("usine.ui", "static")])


@router.get("/claims", response_class=HTMLResponse)
def claims_page(
    lang: Annotated[str | None, Query(max_length=8)] = None,
    accept_language: Annotated[str | None, Header(max_length=512)] = None,
    uom_code: Prefill = "",
    customer_id: Prefill = "",
    contract_id: Prefill = "",
) -> HTMLResponse:
    """The claims handler's review page: upload, review each document beside its fields, save.

    The page sends the API key it is given as ``X-API-Key`` on every call.
    """
    prefill = {"uom_code": uom_code, "customer_id": customer_id, "contract_id": contract_id}
    language = pick_language(lang, accept_language)
    return HTMLResponse(
        render_claims_page(language, prefill, STATIC),
        headers={"Content-Language": language, "Cache-Control": "no-store"},
    )
