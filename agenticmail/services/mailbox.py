"""An agent's mailbox: list, read, search, flags, move, delete, folders, batch operations.

Each call opens a short IMAP session as the agent (the mail host enforces that an agent only
ever reaches its own mail; the API's principal check decides which agent that is). Folder names
match case-insensitively (``spam`` is ``Spam``; a special-use name like ``junk`` or ``sent`` finds
that folder); an unknown folder is ``not_found`` with the mailbox's folders as the hint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest, NotFound
from ..mail.imap import MailboxSession
from ..mail.mime import get_attachment as _get_attachment
from ..mail.mime import parse_message
from ..models import Agent, Attachment, MessageSummary, ParsedMessage, SearchQuery
from ..store import messages as index
from ..store import spam as spam_store
from . import search as search_index
from .context import ServiceContext, transaction
from .inbox import FILTERED, NOT_JUNK
from .sessions import open_session

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
MAX_BATCH = 1000

# Friendly names for the system flags; anything else must be a valid IMAP keyword.
SYSTEM_FLAGS = {"seen": "\\Seen", "flagged": "\\Flagged", "answered": "\\Answered",
                "draft": "\\Draft", "deleted": "\\Deleted"}


@dataclass(frozen=True)
class Page:
    folder: str
    total: int
    limit: int
    offset: int
    messages: list[MessageSummary]

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "total": self.total, "limit": self.limit,
                "offset": self.offset, "messages": [m.to_dict() for m in self.messages]}


def resolve_folder(session: MailboxSession, folder: str) -> str:
    """The real name of ``folder``: exact, else the one folder equal ignoring case, else the
    folder with that special use (``junk``/``spam``, ``sent``, ``trash``, ``drafts``...)."""
    if folder.upper() == "INBOX":
        return "INBOX"
    folders = session.list_folders()
    names = [str(f["name"]) for f in folders]
    if folder in names:
        return folder
    wanted = folder.lower()
    same = [n for n in names if n.lower() == wanted]
    if len(same) == 1:
        return same[0]
    use = "\\" + ("junk" if wanted == "spam" else wanted)
    special = [str(f["name"]) for f in folders if str(f["special_use"] or "").lower() == use]
    if len(special) == 1:
        return special[0]
    raise NotFound(f"no folder {folder!r} in this mailbox",
                   hint=f"the folders are: {', '.join(sorted(names))}")


def normalize_flag(flag: str) -> str:
    flag = flag.strip()
    mapped = SYSTEM_FLAGS.get(flag.lower().lstrip("\\"))
    if mapped:
        return mapped
    if not flag or flag.startswith("\\") or any(c in flag for c in ' ()[]{}%*"\\\r\n'):
        raise InvalidRequest(f"invalid flag {flag!r}: use seen/flagged/answered/draft or a keyword")
    return flag


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise InvalidRequest("offset must not be negative")


def list_messages(ctx: ServiceContext, agent: Agent, folder: str = "INBOX",
                  limit: int = DEFAULT_LIMIT, offset: int = 0) -> Page:
    _check_page(limit, offset)
    with open_session(ctx, agent) as session:
        folder = resolve_folder(session, folder)
        total, messages = session.list_messages(folder, limit, offset)
    return Page(folder, total, limit, offset, messages)


def read_message(ctx: ServiceContext, agent: Agent, uid: int, folder: str = "INBOX"
                 ) -> tuple[ParsedMessage, bytes]:
    with open_session(ctx, agent) as session:
        folder = resolve_folder(session, folder)
        raw, flags = session.fetch_raw(folder, uid)
    return parse_message(raw, uid=uid, folder=folder, flags=flags), raw


def get_attachment(ctx: ServiceContext, agent: Agent, uid: int, index: int,
                   folder: str = "INBOX") -> Attachment:
    with open_session(ctx, agent) as session:
        raw, _ = session.fetch_raw(resolve_folder(session, folder), uid)
    return _get_attachment(raw, index)


def search(ctx: ServiceContext, agent: Agent, query: SearchQuery, folder: str = "INBOX",
           limit: int = 100) -> tuple[list[int], list[MessageSummary]]:
    _check_page(limit, 0)
    with open_session(ctx, agent) as session:
        folder = resolve_folder(session, folder)
        uids = sorted(session.search(folder, query), reverse=True)
        shown = uids[:limit]
        summaries = session.summaries(folder, shown) if shown else []
    return uids, summaries


def set_flags(ctx: ServiceContext, agent: Agent, folder: str, uids: list[int],
              add: Sequence[str] = (), remove: Sequence[str] = ()
              ) -> dict[int, tuple[str, ...]]:
    _check_uids(uids)
    add_n, remove_n = [normalize_flag(f) for f in add], [normalize_flag(f) for f in remove]
    if not add_n and not remove_n:
        raise InvalidRequest("nothing to change: give flags to add or remove")
    with open_session(ctx, agent) as session:
        folder = resolve_folder(session, folder)
        flags = session.set_flags(folder, uids, add=add_n, remove=remove_n)
    search_index.set_flags(ctx, agent, folder, flags)
    _changed(ctx, agent)
    return flags


def _changed(ctx: ServiceContext, agent: Agent) -> None:
    """The daemon has changed ``agent``'s mail: its watcher looks at once (the daemon's own
    sessions carry no push notifications, and a parked watcher holds no IDLE)."""
    ctx.mail_arrived([agent.address])


def move(ctx: ServiceContext, agent: Agent, folder: str, uids: list[int], dest: str) -> None:
    _check_uids(uids)
    with open_session(ctx, agent) as session:
        folder, dest = resolve_folder(session, folder), resolve_folder(session, dest)
        if dest == folder:
            raise InvalidRequest("source and destination folders are the same")
        new_uids = session.move(folder, uids, dest)
        search_index.moved(ctx, session, agent, folder, uids, dest, new_uids)
    _changed(ctx, agent)


def delete(ctx: ServiceContext, agent: Agent, folder: str, uids: list[int]) -> None:
    _check_uids(uids)
    with open_session(ctx, agent) as session:
        folder = resolve_folder(session, folder)
        session.delete(folder, uids)
    with transaction(ctx) as tx:
        search_index.removed(tx.conn, agent, folder, uids)
    _changed(ctx, agent)


def list_folders(ctx: ServiceContext, agent: Agent) -> list[dict[str, Any]]:
    with open_session(ctx, agent) as session:
        return session.list_folders()


def create_folder(ctx: ServiceContext, agent: Agent, name: str) -> None:
    with open_session(ctx, agent) as session:
        session.create_folder(name)


def not_spam(ctx: ServiceContext, agent: Agent, uid: int, folder: str = "Spam") -> None:
    """The agent says a message is not spam: back to INBOX, never filtered again."""
    with open_session(ctx, agent) as session:
        folder = resolve_folder(session, folder)
        raw, _ = session.fetch_raw(folder, uid)
        session.set_flags(folder, [uid], add=[NOT_JUNK], remove=[FILTERED])
        session.move(folder, [uid], "INBOX")
    message_id = parse_message(raw, uid=uid, folder=folder, flags=()).message_id
    with transaction(ctx) as tx:
        spam_store.mark_not_spam(tx.conn, agent.id, message_id)
        index.remove(tx.conn, agent.id, folder, [uid])  # indexed afresh when seen in INBOX
        search_index.removed(tx.conn, agent, folder, [uid])
    _changed(ctx, agent)


BATCH_ACTIONS = ("read", "unread", "move", "delete")


def batch(ctx: ServiceContext, agent: Agent, action: str, folder: str, uids: list[int],
          dest: str | None = None) -> dict[str, Any]:
    if action not in BATCH_ACTIONS:
        raise InvalidRequest(f"unknown batch action {action!r}; use {', '.join(BATCH_ACTIONS)}")
    if action == "read":
        set_flags(ctx, agent, folder, uids, add=["seen"])
    elif action == "unread":
        set_flags(ctx, agent, folder, uids, remove=["seen"])
    elif action == "move":
        if not dest:
            raise InvalidRequest("a batch move needs a destination folder ('to')")
        move(ctx, agent, folder, uids, dest)
    else:
        delete(ctx, agent, folder, uids)
    return {"action": action, "folder": folder, "uids": uids, "count": len(uids)}


def _check_uids(uids: list[int]) -> None:
    if not uids:
        raise InvalidRequest("no message UIDs given")
    if len(uids) > MAX_BATCH:
        raise InvalidRequest(f"at most {MAX_BATCH} messages per request")
    if any(u <= 0 for u in uids):
        raise InvalidRequest("message UIDs are positive integers")
