"""Moved to :mod:`agenticmail_testing.process` (shared with scripts/); this path stays for
tests not yet updated."""

from agenticmail_testing.process import *  # noqa: F403
