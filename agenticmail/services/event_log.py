"""The durable event log as its readers see it: the newest event id, replay after an id (SSE
``Last-Event-ID``), and keeping the log bounded."""

from __future__ import annotations

from ..models import Event
from ..store import events as store
from .context import ServiceContext, transaction

RETAIN_EVENTS = store.RETAIN_EVENTS


def newest_id(ctx: ServiceContext) -> int:
    return store.last_id(ctx.db)


def replay(ctx: ServiceContext, last_id: int, agent_id: int | None = None,
           limit: int = 1000) -> list[Event]:
    """Events after ``last_id`` (only ``agent_id``'s when given), oldest first, at most
    ``limit``."""
    return store.after(ctx.db, last_id, agent_id, limit)


def prune(ctx: ServiceContext, keep: int = RETAIN_EVENTS) -> None:
    with transaction(ctx) as tx:
        store.prune(tx.conn, keep)
