"""What the process's threads are doing: for a test that must act while the code under test
waits inside a given function (e.g. blocked on a lock the test holds)."""

from __future__ import annotations

import asyncio
import gc
import io
import sys
import threading
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any


def some_thread_in(func: Callable[..., Any],
                   where: Callable[[dict[str, Any]], bool] | None = None) -> bool:
    """Whether some thread is inside ``func`` (a plain function or method) right now; with
    ``where``, inside a call whose local variables (its arguments) it approves."""
    code = getattr(func, "__code__", None)

    def inside(frame: FrameType | None) -> bool:
        while frame is not None:
            if frame.f_code is code and (where is None or where(frame.f_locals)):
                return True
            frame = frame.f_back
        return False

    return any(inside(frame) for frame in current_frames().values())


def current_frames() -> dict[int, FrameType]:
    """``sys._current_frames()`` with the garbage collector off meanwhile: CPython before 3.12
    builds the result holding the runtime's thread-list lock, and a collection inside it runs
    the gc callbacks (hypothesis installs one), which can wait for the GIL while a starting
    thread holds the GIL and waits for that lock: a deadlock (CPython gh-106883), seen as a
    test run that never ended."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return sys._current_frames()
    finally:
        if enabled:
            gc.enable()


def describe_threads(loop: Any = None) -> str:
    """Every thread's stack and, given the daemon's event loop, every task's: what a test
    reports when the code under test does not finish (a hang is then diagnosable from the
    CI log alone)."""
    names = {t.ident: t.name for t in threading.enumerate()}
    parts = []
    for ident, frame in current_frames().items():
        stack = "".join(traceback.format_stack(frame, limit=25))
        parts.append(f"--- thread {names.get(ident, ident)}\n{stack}")
    if loop is not None:
        try:
            tasks = list(asyncio.all_tasks(loop))
        except RuntimeError:  # the set changed while it was read from this thread
            tasks = []
        for task in tasks:
            out = io.StringIO()
            task.print_stack(limit=12, file=out)
            parts.append(f"--- task {task.get_name()}\n{out.getvalue()}")
    return "\n".join(parts)
