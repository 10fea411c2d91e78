"""DMARC aggregate reports (RFC 7489 appendix C) sent to domain mode's ``rua`` address:
parsed (xml, gzip, zip), stored and summarised."""

from __future__ import annotations

from .context import ServiceContext


def ingest_message(ctx: ServiceContext, raw: bytes) -> int:
    """Store the aggregate reports attached to one message sent to the ``rua`` address;
    returns how many were stored (0 when it carried none)."""
    raise NotImplementedError("DMARC report ingestion is being built")
