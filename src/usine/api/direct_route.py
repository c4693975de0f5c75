"""A direct way in to the scoring route, ahead of FastAPI's router.

FastAPI and Starlette spend on each request, before the endpoint runs, about as much CPU as
the whole scoring route spends after it: the exception and exit-stack middleware, matching
the path against each route of each included router, and the dependency solver (even for an
endpoint that declares no dependency). On a single-record prediction that was ~40 % of the
app's time. :class:`DirectRoute` matches one route's method and path itself and calls its
endpoint, with the app's own exception handlers; every other request goes the usual way.

The route stays declared on its router, so the OpenAPI document, ``url_for`` and the
route-template labels of the metrics are the same. The endpoint must read everything from the
``Request`` itself (see :mod:`usine.api.plain_parameters`): nothing is injected on this path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi.routing import APIRoute
from starlette._utils import get_route_path  # the router's own reading of the path (FastAPI's too)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


class DirectRoute:
    """ASGI middleware answering ``route`` (mounted under ``prefix``) without the router.

    Args:
        app: the rest of the application, for every other request.
        route: a route whose endpoint takes the request alone and returns a response.
        prefix: the prefix its router is included under (``/1.0.0``).

    """

    def __init__(self, app: ASGIApp, route: APIRoute, prefix: str) -> None:
        self.app = app
        self.route = route
        self.methods = frozenset(route.methods or ())
        self.path_regex, _, _ = compile_path(prefix + route.path)
        self.endpoint: Endpoint = route.endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the route's requests here, pass any other on."""
        if scope["type"] != "http" or scope["method"] not in self.methods:
            await self.app(scope, receive, send)
            return
        match = self.path_regex.match(get_route_path(scope))
        if match is None:
            await self.app(scope, receive, send)
            return
        # What the router would have set: the route (metrics label by its template), the endpoint
        # and the path parameters (plain strings, as the route's are).
        scope["route"] = self.route
        scope["endpoint"] = self.endpoint
        scope["path_params"] = match.groupdict()
        request = Request(scope, receive, send)
        try:
            response = await self.endpoint(request)
        except Exception as exc:
            handler = _handler_of(scope, exc)
            if handler is None:
                raise  # as from the router: the server-error handler answers 500
            response = await handler(request, exc)
        await response(scope, receive, send)


def _handler_of(scope: Scope, exc: Exception) -> Handler | None:
    """The app's handler of ``exc``, looked up as Starlette's exception middleware does.

    The handler of ``Exception`` itself is left to the server-error middleware, which answers
    and then re-raises for the server's log, as it does for any route.
    """
    handlers: dict[object, Handler] = scope["app"].exception_handlers
    for kind in type(exc).__mro__:
        if kind is Exception:
            return None
        if kind in handlers:
            return handlers[kind]
    return None
