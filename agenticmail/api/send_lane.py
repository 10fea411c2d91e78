"""Where accepting a send runs: a small one on the event loop itself, any other in a lane of
two worker threads.

Accepting a send is Python work under the GIL around a dozen SQLite statements and one write
transaction. Handed to a worker thread, it costs more than its own work: the loop and the
worker trade the GIL at every SQLite call (each releases it), and concurrent sends in the
shared pool (40 threads) contend for it and for the database's writer lock besides. The accept
path alone (3,000 scheduled sends from 8 clients on 2 cores, as ``scripts.bench.outbox`` makes
them), daemon CPU per send and sends per second: 3.0 ms and 320/s from the shared pool,
2.2 ms and 435/s in a one-thread lane, 1.6 ms and 580/s on the loop.

So a send runs on the loop when it is small: a request of at most :data:`INLINE_BODY` bytes
(its body, headers and recipients are then quick to build into a message and scan), no
attachments (a URL is fetched), no template (rendering runs the owner's template). It takes
the database's writer lock first and holds it throughout, waiting at most
:data:`INLINE_WAIT` for another thread's transaction to end (they last a few milliseconds at
most, stretched by the GIL under load: a send that fell back to the lane whenever the writer
was busy made the accepts while the sender delivered 320/s instead of 490/s). A longer wait
(a bulk write) sends it to the lane, as it does anything else.
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
INLINE_WAIT = 0.02


async def accept_send(request: Request, ctx: ServiceContext, work: Callable[[], T], *,
                      small: bool) -> T:
    """Run ``work`` (a send's acceptance, blocking): on the loop when ``small`` and the
    writer comes free within :data:`INLINE_WAIT`, else in this application's lane."""
    if small:
        with ctx.writer_within(INLINE_WAIT) as ours:
            if ours:
                return work()
    lane: CapacityLimiter | None = getattr(request.app.state, "send_lane", None)
    if lane is None:  # made in the application's own event loop, on its first use
        lane = request.app.state.send_lane = CapacityLimiter(WIDTH)
    return await anyio.to_thread.run_sync(work, limiter=lane)


def is_small(request: Request, *, attachments: int, template: str | None) -> bool:
    """Whether a send is small enough to be accepted on the loop (see the module's doc): a
    request without a declared length (chunked) is not."""
    declared = request.headers.get("content-length", "")
    return (declared.isdigit() and int(declared) <= INLINE_BODY and not attachments
            and template is None)
