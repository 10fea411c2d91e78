"""What an agent sees when it reads a message: the parsed message and its security block.

The inbound protection layer plugs in here, so every agent-facing read (API, events, MCP)
goes through one function.
"""

from __future__ import annotations

from typing import Any

from ..models import Agent
from .context import ServiceContext
from .inbox import message_payload
from .mailbox import read_message


def agent_view(ctx: ServiceContext, agent: Agent, uid: int, folder: str = "INBOX"
               ) -> dict[str, Any]:
    parsed, _raw = read_message(ctx, agent, uid, folder)
    data = message_payload(parsed)
    data["text"], data["html"] = parsed.text, parsed.html
    return {"message": data, "security": None}
