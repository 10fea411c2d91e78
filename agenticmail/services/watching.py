"""What the daemon's IDLE watchers need from an agent's mailbox: a folder watch logged in as
the agent, and where the last run stopped (the checkpoint the ingest pipeline commits with
each message it reports)."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..mail.addresses import split_plus
from ..mail.idle import FolderWatch, Wakeup
from ..models import Agent
from ..store import messages as index
from .context import ServiceContext
from .sessions import credentials


def open_watch(ctx: ServiceContext, agent: Agent, folder: str) -> FolderWatch:
    """A watch on ``folder`` as ``agent`` (not connected yet: :meth:`FolderWatch.connect`)."""
    return FolderWatch(ctx.host.endpoints(), credentials(ctx, agent), folder,
                       renew_seconds=ctx.settings.idle_renew_seconds)


def linger_seconds(ctx: ServiceContext) -> float | None:
    """How long a quiet watcher keeps its IMAP session before parking (closing it until the
    next wake or check); None when it must keep IDLE open: the host does not push changes."""
    return float(ctx.settings.watch_linger_seconds) if ctx.host.push_enabled else None


def check_seconds(ctx: ServiceContext) -> float:
    """How long a parked watcher waits, at most, before it looks anyway."""
    return float(ctx.settings.watch_check_seconds)


def new_wakeup() -> Wakeup:
    """What ends a watch's IDLE wait early when the daemon knows of new mail."""
    return Wakeup()


def mailbox_address(address: str) -> str | None:
    """The lower-cased address whose INBOX mail to ``address`` lands in (``bob+tag@x`` ->
    ``bob@x``), or None for what is not an address."""
    try:
        return split_plus(address)[0].lower()
    except InvalidRequest:
        return None


def checkpoint(ctx: ServiceContext, agent: Agent, folder: str) -> tuple[int, int] | None:
    """(UIDVALIDITY, last UID reported) for ``folder``, or None before the first message."""
    return index.checkpoint(ctx.db, agent.id, folder)
