"""Moved to :mod:`agenticmail_testing.daemon` (shared with scripts/); this path stays for
tests not yet updated."""

from agenticmail_testing.daemon import *  # noqa: F403
