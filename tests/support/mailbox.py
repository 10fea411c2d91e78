"""Moved to :mod:`agenticmail_testing.mailbox` (shared with scripts/); this path stays for
tests not yet updated."""

from agenticmail_testing.mailbox import *  # noqa: F403
