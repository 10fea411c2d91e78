"""Moved to :mod:`agenticmail_testing.dovecot` (shared with scripts/); this path stays for
tests not yet updated."""

from agenticmail_testing.dovecot import *  # noqa: F403
