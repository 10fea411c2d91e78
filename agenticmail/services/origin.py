"""The daemon's origin stamp on mail between agents: its key, stamping and verification.

The key is derived from the data dir's secret key (``secret.key``, 0600), never from config
text; only the daemon holds it. :mod:`agenticmail.security.origin` does the pure work.
"""

from __future__ import annotations

from ..security import origin as pure
from ..security.origin import Origin
from .context import ServiceContext

_PURPOSE = "origin-stamp-v1"

__all__ = ["Origin", "stamp", "strip", "verify"]


def _key(ctx: ServiceContext) -> bytes:
    return ctx.secrets.derive(_PURPOSE)


def stamp(ctx: ServiceContext, raw: bytes, envelope_from: str) -> bytes:
    """``raw`` as delivered to local mailboxes for an authenticated agent: stamped."""
    return pure.stamp(_key(ctx), raw, envelope_from)


def verify(ctx: ServiceContext, raw: bytes) -> Origin:
    return pure.verify(_key(ctx), raw)


def strip(raw: bytes) -> bytes:
    """``raw`` without any stamp (mail from outside; mail leaving for the internet)."""
    return pure.strip_stamps(raw)
