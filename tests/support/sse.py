"""Moved to :mod:`agenticmail_testing.sse` (shared with scripts/); this path stays for
tests not yet updated."""

from agenticmail_testing.sse import *  # noqa: F403
