"""ASGI middleware counting and timing every HTTP request by route template and status."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from usine.services.metrics import HTTP_LATENCY, HTTP_REQUESTS, labelled

UNMATCHED = "unmatched"


class RequestMetrics:
    """Record ``usine_http_requests_total`` and ``usine_http_request_duration_seconds``.

    Routes are labelled by their template (``/1.0.0/predictions/{prediction_id}``), never by
    the raw path, so that the number of series stays bounded.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and record its outcome."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            labels = (scope["method"], route_template(scope), str(status))
            labelled(HTTP_REQUESTS, *labels).inc()
            labelled(HTTP_LATENCY, *labels).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/1.0.0/predictions/{prediction_id}``).

    The matched route knows its own template but not the prefix of the router that
    includes it; the prefix is the part of the path before the segments the template covers.
    """
    route_path = getattr(scope.get("route"), "path", None)
    if not isinstance(route_path, str):
        return UNMATCHED
    segments = str(scope["path"]).split("/")
    prefix = "/".join(segments[: len(segments) - route_path.count("/")])
    return prefix + route_path
