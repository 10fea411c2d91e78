"""What an agent sees when it reads a message: sanitised bodies and the security block.

Every agent-facing read (API, events, MCP) goes through here or ``inbox.message_payload``;
the raw message stays untouched in the mailbox for humans.
"""

from __future__ import annotations

from typing import Any

from ..models import Agent
from ..store import spam as spam_store
from .context import ServiceContext
from .inbox import message_payload
from .mailbox import read_message
from .protection import assess


def agent_view(ctx: ServiceContext, agent: Agent, uid: int, folder: str = "INBOX"
               ) -> dict[str, Any]:
    parsed, raw = read_message(ctx, agent, uid, folder)
    # the verdict given at delivery when there is one (its DNS checks are not redone)
    stored = spam_store.security_for(ctx.db, agent.id, parsed.message_id)
    data = message_payload(parsed, assess(ctx, raw, stored), limit=None)
    return {"message": data, "security": data.pop("security")}
