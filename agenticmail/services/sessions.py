"""Logging in as an agent: its mail credentials (the stored password, decrypted with the
daemon's key) and a short IMAP session opened with them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..mail.imap import MailboxSession
from ..models import Agent, Credentials
from ..store import agents as agent_store
from .context import ServiceContext


def credentials(ctx: ServiceContext, agent: Agent) -> Credentials:
    return Credentials(agent.address,
                       ctx.secrets.decrypt(agent_store.password_enc(ctx.db, agent.id)))


@contextmanager
def open_session(ctx: ServiceContext, agent: Agent) -> Iterator[MailboxSession]:
    with MailboxSession.open(ctx.host.endpoints(), credentials(ctx, agent)) as session:
        yield session
