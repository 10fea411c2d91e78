"""Moved to :mod:`agenticmail_testing.smtp_sink` (shared with scripts/); this path stays for
tests not yet updated."""

from agenticmail_testing.smtp_sink import *  # noqa: F403
