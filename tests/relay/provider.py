"""Moved to :mod:`agenticmail_testing.relay_provider` (shared with scripts/); this path stays
for tests not yet updated."""

from agenticmail_testing.relay_provider import *  # noqa: F403
