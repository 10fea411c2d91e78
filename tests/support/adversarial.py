"""Moved to :mod:`agenticmail_testing.adversarial` (shared with scripts/); this path stays for
tests not yet updated."""

from agenticmail_testing.adversarial import *  # noqa: F403
