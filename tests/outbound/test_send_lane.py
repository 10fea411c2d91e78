"""Where a send is accepted (api/send_lane.py): on the event loop only when it is small and
the database's writer comes free at once or soon, so the loop never waits out another
thread's long transaction."""

from __future__ import annotations

import asyncio
import threading

from starlette.applications import Starlette
from starlette.requests import Request

from agenticmail.api.send_lane import INLINE_BODY, accept_send, is_small
from agenticmail.services.context import build_context
from agenticmail_testing.daemon import DaemonHandle


def test_small_sends_run_on_the_loop_unless_the_writer_stays_busy() -> None:
    handle = DaemonHandle()  # a set-up home; its daemon is not needed
    ctx = build_context(handle.settings)
    request = Request({"type": "http", "app": Starlette()})
    holding, release = threading.Event(), threading.Event()

    def hold_the_writer() -> None:
        with ctx.db.exclusive():
            holding.set()
            release.wait(30)

    async def on_loop(small: bool) -> bool:
        loop_thread = threading.get_ident()
        return await accept_send(request, ctx, threading.get_ident, small=small) == loop_thread

    async def scenarios() -> list[bool]:
        seen = [await on_loop(True), await on_loop(False)]
        holder = threading.Thread(target=hold_the_writer)
        holder.start()
        try:
            assert holding.wait(10)
            seen.append(await on_loop(True))
        finally:
            release.set()
            holder.join(10)
        seen.append(await on_loop(True))
        return seen

    try:
        assert asyncio.run(scenarios()) == [True, False, False, True]
    finally:
        ctx.db.close()
        handle.close()


def test_what_counts_as_small() -> None:
    def request(length: int | None) -> Request:
        headers = [] if length is None else [(b"content-length", str(length).encode())]
        return Request({"type": "http", "app": Starlette(), "headers": headers})

    assert is_small(request(300), attachments=0, template=None)
    assert is_small(request(INLINE_BODY), attachments=0, template=None)
    assert not is_small(request(INLINE_BODY + 1), attachments=0, template=None)
    assert not is_small(request(None), attachments=0, template=None)  # chunked
    assert not is_small(request(300), attachments=1, template=None)
    assert not is_small(request(300), attachments=0, template="welcome")
