"""What the process's threads are doing: for a test that must act while the code under test
waits inside a given function (e.g. blocked on a lock the test holds)."""

from __future__ import annotations

import sys
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

    return any(inside(frame) for frame in sys._current_frames().values())
