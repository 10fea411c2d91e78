"""Where accepting a send runs: a small one on the event loop itself, any other in a lane of
two worker threads.

Accepting a send is Python work under the GIL around a dozen SQLite statements and one write
transaction. Handed to a worker thread, it costs more than its own work: the loop and the
worker trade the GIL at every SQLite call (each releases it), and concurrent sends in the
shared pool (40 threads) contend for it and for the database's writer lock besides. The accept
path alone (``python -m scripts.bench.outbox``'s last section; 3,000 sends from 8 clients on
2 cores), daemon CPU per send and sends per second: 2.98 ms and 320/s from the shared pool,
2.23 ms and 435/s in a one-thread lane, 1.60 ms and 580/s on the loop.

So a send runs on the loop when it is small and will not wait: no attachments (a URL is
fetched, a large file takes long to scan), no template (rendering runs the owner's template),
at most :data:`INLINE_BODY` characters of body, and the database's writer idle at that moment
(else its transaction would wait on the loop for another thread's). Anything else takes the
lane.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.requests import Request

from ..services.context import ServiceContext

T = TypeVar("T")
WIDTH = 2
INLINE_BODY = 64 * 1024


async def accept_send(request: Request, ctx: ServiceContext, work: Callable[[], T], *,
                      small: bool) -> T:
    """Run ``work`` (a send's acceptance, blocking): on the loop when ``small`` and the
    writer is idle, else in this application's lane."""
    if small and ctx.writer_idle():
        return work()
    lane: CapacityLimiter | None = getattr(request.app.state, "send_lane", None)
    if lane is None:  # made in the application's own event loop, on its first use
        lane = request.app.state.send_lane = CapacityLimiter(WIDTH)
    return await anyio.to_thread.run_sync(work, limiter=lane)


def is_small(*, attachments: int, template: str | None, text: str | None,
             html: str | None) -> bool:
    """Whether a send is small enough to be accepted on the loop (see the module's doc)."""
    return (not attachments and template is None
            and len(text or "") + len(html or "") <= INLINE_BODY)
