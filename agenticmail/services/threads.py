"""Conversations: the thread every indexed message belongs to, thread lists and thread views.

A message joins the thread of any message it names in References/In-Reply-To (RFC 5322);
a message naming none that is known falls back, JWZ-style, to the agent's newest thread with
the same normalised subject within :data:`SUBJECT_WINDOW_DAYS` — only when its subject says it
is a reply or forward, so two unrelated "Hello"s stay apart. The agent's own sent mail (the
outbox) is part of its threads. A thread's public id is ``t`` + base64url of its root key.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from ..errors import AgenticMailError, InvalidRequest, NotFound
from ..mail.compose import normalize_subject
from ..mail.mime import parse_message, thread_key
from ..models import Agent, ParsedMessage
from ..security.reply_text import owner_lines
from ..store import messages as index
from ..store import outbox as outbox_store
from ..store import verdicts
from .context import ServiceContext
from .payload import message_payload
from .screening import Deadline, screen
from .sessions import open_session

SUBJECT_WINDOW_DAYS = 30
LIST_SCAN = 5000  # newest index rows and outbox rows looked at for a thread listing
SNIPPET_CHARS = 200
_REPLYISH = ("re:", "re :", "aw:", "sv:", "fwd:", "fw:", "wg:", "tr:")


def public_id(key: str) -> str:
    return "t" + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def key_of(thread_id: str) -> str:
    if not thread_id.startswith("t") or len(thread_id) > 2000:
        raise NotFound(f"no thread {thread_id[:80]!r}")
    body = thread_id[1:]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise NotFound(f"no thread {thread_id[:80]!r}") from None


def _replyish(subject: str) -> bool:
    lowered = subject.lstrip().lower()
    return lowered.startswith(_REPLYISH) or (lowered.startswith("[") and "re:" in lowered[:60])


def assign(ctx: ServiceContext, agent_id: int, parsed: ParsedMessage) -> str:
    """The thread key of a message being indexed for the agent with ``agent_id``."""
    related = [m for m in (parsed.in_reply_to, *parsed.references) if m]
    found = index.thread_of(ctx.db, related)
    if found:
        return found
    subject = normalize_subject(parsed.subject)
    if subject and _replyish(parsed.subject):
        since = (datetime.now(UTC) - timedelta(days=SUBJECT_WINDOW_DAYS)).isoformat()
        found = index.thread_by_subject(ctx.db, agent_id, subject, since) or \
            _sent_thread_by_subject(ctx, agent_id, subject)
        if found:
            return found
    return thread_key(parsed.message_id, parsed.in_reply_to, parsed.references)


def _sent_thread_by_subject(ctx: ServiceContext, agent_id: int, subject: str) -> str | None:
    for row in outbox_store.list_outbox(ctx.db, agent_id, limit=500):
        if row.thread_id and normalize_subject(row.subject) == subject:
            return row.thread_id
    return None


def snippet(text: str) -> str:
    own = " ".join(" ".join(owner_lines(text)).split())
    return (own or " ".join(text.split()))[:SNIPPET_CHARS]


def _when(value: str | None) -> str:
    """A sortable ISO time from an index date or an outbox timestamp ('' when unknown)."""
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return ""
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="seconds")


def list_threads(ctx: ServiceContext, agent: Agent, limit: int = 20, offset: int = 0
                 ) -> dict[str, Any]:
    """The agent's conversations, newest activity first: participants, message and unread
    counts, subject and a snippet of the newest message."""
    if not 1 <= limit <= 200 or offset < 0:
        raise InvalidRequest("limit must be 1-200 and offset not negative")
    threads: dict[str, dict[str, Any]] = {}

    def entry(key: str) -> dict[str, Any]:
        return threads.setdefault(key, {"id": public_id(key), "subject": "", "participants": [],
                                        "message_count": 0, "unread_count": 0, "snippet": "",
                                        "last_activity": "", "_keys": set()})

    for row in index.rows_for_agent(ctx.db, agent.id, limit=LIST_SCAN):
        key = row["thread_id"] or ""
        t = entry(key)
        t["message_count"] += 1
        flags = json.loads(row["flags"] or "[]")
        if "\\Seen" not in flags and row["folder"] != "Sent":
            t["unread_count"] += 1
        for who in (row["from_addr"], *json.loads(row["to_addrs"] or "[]")):
            if who and who not in t["participants"]:
                t["participants"].append(who)
        when = _when(row["date"]) or _when(row["indexed_at"])
        if when >= t["last_activity"]:
            t["last_activity"], t["subject"] = when, row["subject"]
            t["snippet"] = row["snippet"] or ""
    for sent in outbox_store.list_outbox(ctx.db, agent.id, limit=LIST_SCAN):
        if not sent.thread_id or sent.status == "failed":
            continue
        t = entry(sent.thread_id)
        t["message_count"] += 1
        for who in (agent.address, *sent.local_rcpts, *sent.external_rcpts):
            if who not in t["participants"]:
                t["participants"].append(who)
        when = _when(sent.created_at)
        if when >= t["last_activity"]:
            t["last_activity"], t["subject"] = when, sent.subject
            t["snippet"] = ""
    ordered = sorted(threads.values(), key=lambda t: t["last_activity"], reverse=True)
    for t in ordered:
        t.pop("_keys")
    return {"total": len(ordered), "limit": limit, "offset": offset,
            "threads": ordered[offset:offset + limit]}


def split_quoted(text: str) -> tuple[str, str]:
    """(what this message's author wrote, the quoted history below it)."""
    own = owner_lines(text)
    new = "\n".join(own).strip()
    lines = text.replace("\r\n", "\n").split("\n")
    quoted = "\n".join(lines[len(own):]).strip() if new else ""
    return new, quoted


def get_thread(ctx: ServiceContext, agent: Agent, thread_id: str) -> dict[str, Any]:
    """One conversation, oldest first: each message sanitised with its security block, its
    new text in ``text`` and the quoted history in ``quoted``."""
    key = key_of(thread_id)
    rows = index.rows_for_agent(ctx.db, agent.id, key)
    sent = [r for r in outbox_store.list_outbox(ctx.db, agent.id, limit=LIST_SCAN)
            if r.thread_id == key and r.status != "failed" and not r.sealed]
    if not rows and not sent:
        raise NotFound(f"no thread {thread_id[:80]!r} in this mailbox")
    items: list[tuple[str, dict[str, Any]]] = []
    seen_ids: set[str] = set()
    if rows:
        with open_session(ctx, agent) as session:
            for row in rows:
                try:
                    raw, flags = session.fetch_raw(row["folder"], int(row["uid"]))
                except AgenticMailError:  # moved or deleted since it was indexed
                    continue
                parsed = parse_message(raw, uid=int(row["uid"]), folder=row["folder"],
                                       flags=flags)
                stored = verdicts.find(ctx.db, agent.id, raw)
                data = message_payload(parsed, screen(ctx, raw, stored,
                                                      Deadline.for_message(ctx)), limit=None)
                items.append((_when(row["date"]) or _when(row["indexed_at"]), data))
                if parsed.message_id:
                    seen_ids.add(parsed.message_id)
    for own in sent:
        if own.message_id in seen_ids:
            continue
        parsed = parse_message(own.raw, uid=0, folder="Sent", flags=("\\Seen",))
        data = message_payload(parsed, None, limit=None)
        data["security"] = {"own": True, "note": "sent by this agent"}
        data["outbox"] = {"id": own.id, "status": own.status}
        items.append((_when(own.created_at), data))
    # by time (one-second resolution); within a second a reply follows what it answers
    items.sort(key=lambda item: (item[0], len(item[1].get("references") or ()),
                                 bool(item[1].get("in_reply_to"))))
    messages = []
    for _, data in items:
        data["text"], data["quoted"] = split_quoted(data.get("text") or "")
        messages.append(data)
    return {"id": thread_id, "subject": messages[0]["subject"] if messages else "",
            "message_count": len(messages), "messages": messages}
