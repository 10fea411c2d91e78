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
from .protection import Assessment, assess


def agent_view(ctx: ServiceContext, agent: Agent, uid: int, folder: str = "INBOX"
               ) -> dict[str, Any]:
    parsed, raw = read_message(ctx, agent, uid, folder)
    assessment = assess(ctx, raw)
    stored = spam_store.security_for(ctx.db, agent.id, parsed.message_id)
    if stored is not None:  # the verdict given at delivery (its auth checks are not redone)
        assessment = Assessment(stored, assessment.spam, assessment.text, assessment.html)
    data = message_payload(parsed, assessment, limit=None)
    return {"message": data, "security": data.pop("security")}
