"""The ingest pipeline: a message seen in an agent's folder becomes an index row and an event.

The index row, the watcher checkpoint and the ``message.new`` event commit together, so a
restart resumes exactly after the last message reported: nothing missed, nothing twice.
"""

from __future__ import annotations

from typing import Any

from ..events import MESSAGE_EXPUNGED, MESSAGE_FLAGS, MESSAGE_NEW
from ..mail.loops import automated_reason
from ..mail.mime import parse_message, thread_key
from ..models import Agent, ParsedMessage
from ..store import messages as index
from .context import ServiceContext, transaction

EVENT_BODY_LIMIT = 64 * 1024


def message_payload(message: ParsedMessage) -> dict[str, Any]:
    """The agent-facing JSON of a message (bodies capped for events), with the loop-safety
    flag: automated mail (auto-replies, bounces, no-reply senders) should not be answered."""
    data = message.to_dict()
    reason = automated_reason(message.headers, message.from_)
    data["automated"] = {"flag": reason is not None, "reason": reason}
    data["text"] = (message.text or "")[:EVENT_BODY_LIMIT]
    data["html"] = message.html[:EVENT_BODY_LIMIT] if message.html else None
    return data


def ingest(ctx: ServiceContext, agent: Agent, folder: str, uidvalidity: int, uid: int,
           raw: bytes, flags: tuple[str, ...]) -> bool:
    """Index one new message and emit ``message.new``; False if it was already indexed."""
    parsed = parse_message(raw, uid=uid, folder=folder, flags=flags)
    related = [m for m in (parsed.in_reply_to, *parsed.references) if m]
    thread = index.thread_of(ctx.db, related) or thread_key(
        parsed.message_id, parsed.in_reply_to, parsed.references)
    entry = index.IndexEntry(
        agent_id=agent.id, folder=folder, uidvalidity=uidvalidity, uid=uid,
        message_id=parsed.message_id, thread_id=thread, from_addr=parsed.from_,
        to_addrs=parsed.to, subject=parsed.subject, date=parsed.date, flags=parsed.flags,
    )
    with transaction(ctx) as tx:
        new = index.upsert(tx.conn, entry)
        index.save_checkpoint(tx.conn, agent.id, folder, uidvalidity, uid)
        if new:
            tx.emit(MESSAGE_NEW, agent.name, {
                "agent": agent.name, "folder": folder, "uid": uid, "thread_id": thread,
                "message": message_payload(parsed),
            })
    return new


def flags_changed(ctx: ServiceContext, agent: Agent, folder: str,
                  changes: dict[int, tuple[str, ...]]) -> None:
    with transaction(ctx) as tx:
        for uid, flags in sorted(changes.items()):
            index.set_flags(tx.conn, agent.id, folder, uid, flags)
            tx.emit(MESSAGE_FLAGS, agent.name,
                    {"agent": agent.name, "folder": folder, "uid": uid, "flags": list(flags)})


def expunged(ctx: ServiceContext, agent: Agent, folder: str, uids: list[int]) -> None:
    with transaction(ctx) as tx:
        index.remove(tx.conn, agent.id, folder, uids)
        for uid in sorted(uids):
            tx.emit(MESSAGE_EXPUNGED, agent.name, {"agent": agent.name, "folder": folder,
                                                   "uid": uid})
