"""What an agent sees when it reads a message: sanitised bodies and the security block.

Every agent-facing read (API, events, MCP) goes through here or ``payload.message_payload``;
the raw message stays untouched in the mailbox for humans.
"""

from __future__ import annotations

from typing import Any

from ..models import Agent
from ..store import verdicts
from .context import ServiceContext
from .mailbox import read_message
from .payload import message_payload
from .screening import Deadline, screen


def agent_view(ctx: ServiceContext, agent: Agent, uid: int, folder: str = "INBOX"
               ) -> dict[str, Any]:
    deadline = Deadline.for_message(ctx)
    parsed, raw = read_message(ctx, agent, uid, folder)  # bounded: see mail.bounds
    # the verdict given to these very bytes at delivery, when there is one (its DNS checks
    # are not redone, a too_complex message is not read again)
    stored = verdicts.find(ctx.db, agent.id, raw)
    data = message_payload(parsed, screen(ctx, raw, stored, deadline), limit=None)
    return {"message": data, "security": data.pop("security")}
