"""API request latency for ``/metrics``: every request timed, labelled by its route template.

A pure ASGI middleware, outermost (so requests the admission refuses are counted too). The
label is the template of the route that serves the path (``/v1/agents/{name}``), found by
matching the application's routes, never the raw path; a path no route serves is counted as
``<unmatched>``, so the number of series stays bounded. A request is timed until the last byte
of its answer, an event stream until its headers (the stream itself lasts as long as the
caller listens).
"""

from __future__ import annotations

import time

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..services.metrics import UNMATCHED_ROUTE, Metrics
from .routing import serving_routes

_STREAM = b"text/event-stream"


def route_template(routes: list[BaseRoute], scope: Scope) -> str:
    """The path template of the route serving this request's path (any method): the one the
    router chose, or for a request answered before routing (401), the first that matches."""
    found = scope.get("route")
    if found is not None and hasattr(found, "path"):
        return str(found.path)
    for route in serving_routes(routes):
        match, _ = route.matches(scope)
        if match != Match.NONE and hasattr(route, "path"):
            return str(route.path)
    return UNMATCHED_ROUTE


class RequestMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics, routes: list[BaseRoute]) -> None:
        self.app, self.metrics, self.routes = app, metrics, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, observed = 500, False

        def observe() -> None:
            nonlocal observed
            observed = True
            self.metrics.observe(scope["method"], route_template(self.routes, scope), status,
                                 time.perf_counter() - started)

        async def timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = dict(message.get("headers") or [])
                if headers.get(b"content-type", b"").startswith(_STREAM):
                    observe()
            elif message["type"] == "http.response.body" and not message.get("more_body") \
                    and not observed:
                observe()
            await send(message)

        try:
            await self.app(scope, receive, timed)
        finally:
            if not observed:  # no answer at all (an error, a disconnect): timed as it ended
                observe()
