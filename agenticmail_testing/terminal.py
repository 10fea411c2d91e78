"""The CLI in a real terminal (a pty, through pexpect), for the tests that answer its prompts
or watch its live screens."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

import pexpect


def spawn_cli(args: Sequence[str], env: Mapping[str, str], *, rows: int = 50,
              columns: int = 200, timeout: float = 30) -> pexpect.spawn:
    """``python -m agenticmail ARGS`` on a pty of ``rows`` x ``columns``, text in UTF-8.

    The screen's size is the pty's: ``LINES`` and ``COLUMNS`` are not passed on (pytest-xdist's
    workers set them to 24 x 80, which cut a live screen short). Reads wait with poll():
    select() refuses descriptors above 1023, which a long test run passes."""
    return pexpect.spawn(sys.executable, ["-m", "agenticmail", *args],
                         env={k: v for k, v in env.items() if k not in ("LINES", "COLUMNS")},
                         dimensions=(rows, columns), encoding="utf-8", timeout=timeout,
                         use_poll=True)
