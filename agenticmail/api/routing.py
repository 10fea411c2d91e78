"""The routes an application serves, through its included routers.

Recent FastAPI releases keep an included router as one entry of ``app.routes`` whose own
``routes`` already carry the prefix; older ones copied each route into the application.
:func:`serving_routes` reads both alike: every route that serves paths itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from starlette.routing import BaseRoute

__all__ = ["serving_routes"]


def serving_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route that serves paths itself, in the order the router tries them, through
    included routers (an entry with an ``original_router``)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from serving_routes(inner.routes)
        else:
            yield route
