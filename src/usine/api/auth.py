"""API-key authentication and scopes, as one dependency per route: ``Depends(require_scope(...))``.

The key is read from ``X-API-Key`` or ``Authorization: Bearer``. In ``staging`` and ``prod``
every guarded route needs one; in ``dev`` a request without a key is served as the
``anonymous`` caller (a key that is sent is still checked). Health, readiness and metrics are
never guarded: probes and Prometheus carry no key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from usine.domain.access import ANONYMOUS_CALLER, Caller, Scope
from usine.domain.errors import Unauthenticated
from usine.services.access import Authenticator, authorise
from usine.settings import Settings

API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key (usine keys create)."
)
BEARER = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")
PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, an unknown one, or a revoked one", **PROBLEM},
    403: {"description": "The API key lacks the scope this operation needs", **PROBLEM},
}


def caller_of(request: Request) -> Caller | None:
    """The caller a guarded route authenticated (``None`` before authentication or when it failed)."""
    caller: Caller | None = getattr(request.state, "caller", None)
    return caller


def require_scope(*allowed: Scope | str) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting callers holding one of ``allowed`` scopes (``admin`` holds all).

    With no scope, any valid key is admitted. The caller is returned and kept on
    ``request.state.caller`` (the prediction log and the rejection log name it).
    """
    scopes = tuple(Scope(scope) for scope in allowed)

    async def authenticated(
        request: Request,
        key: Annotated[str | None, Security(API_KEY_HEADER)] = None,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
    ) -> Caller:
        return await authenticate(request, _token(key, bearer), scopes)

    return authenticated


async def presented_key(request: Request) -> str | None:
    """The API key a request carries: ``X-API-Key``, else an ``Authorization: Bearer`` token.

    Read by the same security schemes as the dependency's, for a route that declares them in
    its OpenAPI document instead of as dependencies.
    """
    return _token(await API_KEY_HEADER(request), await BEARER(request))


def _token(key: str | None, bearer: HTTPAuthorizationCredentials | None) -> str | None:
    return key or (bearer.credentials if bearer is not None else None)


async def authenticate(request: Request, token: str | None, scopes: tuple[Scope, ...]) -> Caller:
    """The caller ``token`` names, if it may call an operation open to ``scopes``.

    Without a token the caller is ``anonymous`` where the profile allows it. The caller is
    kept on ``request.state.caller`` (the prediction log and the rejection log name it).

    Raises:
        Unauthenticated: no token where one is needed, an unknown or a revoked one.
        Forbidden: the key holds none of ``scopes``.

    """
    settings: Settings = request.app.state.settings
    if token is None:
        if settings.requires_api_keys:
            raise Unauthenticated("this operation needs an API key: send it as X-API-Key")
        request.state.caller = ANONYMOUS_CALLER
        return ANONYMOUS_CALLER
    authenticator: Authenticator = request.app.state.authenticator
    hit, found = authenticator.cached(token)
    if not hit:
        found = await run_in_threadpool(authenticator.lookup, token)
    if found is not None and found.active:  # named in the rejection log even when under-scoped
        request.state.caller = Caller(name=found.name, key_id=found.id, scopes=found.scopes)
    return authorise(found, scopes)


def security_requirement() -> list[dict[str, list[str]]]:
    """The OpenAPI ``security`` of a guarded operation: either scheme will do."""
    return [{API_KEY_HEADER.scheme_name: []}, {BEARER.scheme_name: []}]


def scoped(*allowed: Scope | str) -> list[Any]:
    """``dependencies=`` of a route open to callers holding one of ``allowed`` scopes."""
    return [Depends(require_scope(*allowed))]
