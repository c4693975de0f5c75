"""Every error the API returns is an RFC 9457 ``application/problem+json`` document."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from usine.domain.access import UNAUTHENTICATED
from usine.domain.errors import FieldError, InvalidInput, NoFileExtracted, UsineError
from usine.domain.predictions import Rejection
from usine.services.predictions import PredictionService

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem(
    request: Request, status: int, detail: str, *, kind: str | None = None, **extra: Any
) -> JSONResponse:
    """Build a problem document for ``request``.

    Args:
        request: the request that failed (its path becomes ``instance``).
        status: the HTTP status.
        detail: a sentence for a person, naming what was wrong.
        kind: a short slug for ``type``; the status phrase when omitted.
        extra: extension members (e.g. ``errors``).

    """
    body = {**problem_members(status, detail, kind), "instance": request.url.path, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def problem_members(status: int, detail: str, kind: str | None = None) -> dict[str, Any]:
    """The standard members of a problem document: ``type``, ``title``, ``status``, ``detail``."""
    title = HTTPStatus(status).phrase
    slug = kind or response_kind(status)
    return {"type": f"urn:usine:problem:{slug}", "title": title, "status": status, "detail": detail}


def error_members(exc: UsineError) -> dict[str, Any]:
    """The problem members describing one of our errors."""
    return problem_members(exc.status, str(exc), kind=_slug(exc))


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on this path (routes are one per method)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def response_kind(status: int) -> str:
    """The problem ``type`` slug of a status: its phrase, e.g. ``method-not-allowed``."""
    return re.sub(r"[^a-z]+", "-", HTTPStatus(status).phrase.lower()).strip("-")


def _log_rejection(request: Request, status: int, reason: str) -> None:
    """Hand a refused or failed request to the prediction log's writer (never its payload)."""
    service: PredictionService | None = getattr(request.app.state, "predictions", None)
    if service is None:
        return
    caller = getattr(request.state, "caller", None)
    name = request.path_params.get("name")
    service.writer.reject(
        Rejection(
            created_at=datetime.now(UTC),
            status=status,
            reason=reason,
            caller=caller.name if caller is not None else UNAUTHENTICATED,
            model_name=str(name) if name is not None else None,
        )
    )


def _slug(exc: Exception) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", type(exc).__name__).lower()


async def _usine_error(request: Request, exc: UsineError) -> JSONResponse:
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidInput):
        extra["errors"] = [error.as_dict() for error in exc.errors]
    if isinstance(exc, NoFileExtracted):
        extra["files"] = exc.files
    if exc.status >= 500:
        logger.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
    _log_rejection(request, exc.status, _slug(exc))
    return problem(request, exc.status, str(exc), kind=_slug(exc), **extra)


async def _request_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        FieldError(
            index=None,
            field=".".join(str(part) for part in error["loc"][1:]) or str(error["loc"][0]),
            message=str(error["msg"]),
        )
        for error in exc.errors()
    ]
    return await _usine_error(request, InvalidInput(errors))


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    response = problem(request, exc.status_code, str(exc.detail))
    _log_rejection(request, exc.status_code, response_kind(exc.status_code))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error on %s", request.url.path, exc_info=exc)
    _log_rejection(request, 500, "internal-server-error")
    return problem(request, 500, "the server failed to handle this request; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception the app can raise to a problem document."""
    app.exception_handler(UsineError)(_usine_error)
    app.exception_handler(RequestValidationError)(_request_validation_error)
    app.exception_handler(StarletteHTTPException)(_http_error)
    app.exception_handler(Exception)(_unexpected_error)
