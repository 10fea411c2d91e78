"""Tags: an agent's named, coloured labels, kept on messages as IMAP keywords.

A tag is a row (name, colour) plus the keyword :func:`.tag_names.keyword_for` derives from its
name, so mail clients see the tag on the message itself (``STORE +FLAGS (keyword)``) and any
IMAP search by keyword finds it.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import Conflict, InvalidRequest, NotFound
from ..mail.imap import MailboxSession
from ..models import Agent, SearchQuery
from ..store import rules as rule_store
from ..store import tags as store
from . import search
from .context import ServiceContext, transaction
from .mailbox import _check_uids, resolve_folder
from .sessions import open_session
from .tag_names import check_name, keyword_for

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
COLORS = ("red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "brown",
          "gray")
MAX_TAGGED = 500  # messages listed per folder by tagged()


def _check_color(color: str | None) -> str | None:
    if color is None or color == "":
        return None
    if _COLOR.match(color) or color.lower() in COLORS:
        return color.lower()
    raise InvalidRequest(f"invalid colour {color[:40]!r}: use #rgb, #rrggbb or one of "
                         f"{', '.join(COLORS)}", code="invalid_color")


def create(ctx: ServiceContext, agent: Agent, name: str, color: str | None = None
           ) -> store.TagRow:
    name, color = check_name(name), _check_color(color)
    with transaction(ctx) as tx:
        row = store.insert(tx.conn, agent.id, name, keyword_for(name), color)
    if row is None:
        raise Conflict(f"agent {agent.name} already has a tag {name!r}", code="tag_exists")
    return row


def list_tags(ctx: ServiceContext, agent: Agent) -> list[store.TagRow]:
    return store.list_tags(ctx.db, agent.id)


def get(ctx: ServiceContext, agent: Agent, name: str) -> store.TagRow:
    row = store.find(ctx.db, agent.id, name.strip())
    if row is None:
        raise NotFound(f"agent {agent.name} has no tag {name[:80]!r}", code="tag_not_found",
                       hint="create it first: agenticmail tags create --agent "
                            f"{agent.name} NAME")
    return row


def delete(ctx: ServiceContext, agent: Agent, name: str) -> dict[str, Any]:
    """Delete the tag and take its keyword off every message that carries it; ``409
    tag_in_use`` while a rule still puts it on mail."""
    row = get(ctx, agent, name)
    users = [r.name for r in rule_store.list_rules(ctx.db, agent.id)
             if any(a["type"] == "tag" and a["tag"].casefold() == row.name.casefold()
                    for a in r.actions)]
    if users:
        raise Conflict(f"the rules {', '.join(users)} put tag {row.name!r} on new mail",
                       code="tag_in_use", hint="change or delete those rules first")
    untagged = 0
    with open_session(ctx, agent) as session:
        for folder in _folders(session):
            uids = session.search(folder, SearchQuery(keyword=row.keyword))
            if uids:
                search.set_flags(ctx, agent, folder,
                                 session.set_flags(folder, uids, remove=[row.keyword]))
                untagged += len(uids)
    with transaction(ctx) as tx:
        store.delete(tx.conn, agent.id, row.name)
    return {"name": row.name, "deleted": True, "untagged": untagged}


def _folders(session: MailboxSession) -> list[str]:
    return [str(f["name"]) for f in session.list_folders()
            if "\\noselect" not in [str(x).lower() for x in f.get("flags") or ()]]


def apply(ctx: ServiceContext, agent: Agent, name: str, uids: list[int], folder: str = "INBOX",
          *, remove: bool = False) -> dict[str, Any]:
    """Tag (or untag) messages: their flags afterwards. A UID not in the folder is a 404
    ``message_not_found`` and nothing is changed."""
    row = get(ctx, agent, name)
    _check_uids(uids)
    with open_session(ctx, agent) as session:
        folder = resolve_folder(session, folder)
        try:
            flags = session.set_flags(folder, uids, add=[] if remove else [row.keyword],
                                      remove=[row.keyword] if remove else [])
        except NotFound as exc:
            raise NotFound(exc.message, code="message_not_found",
                           hint="list the folder's messages for their UIDs") from None
    search.set_flags(ctx, agent, folder, flags)  # tag: finds it at once, in any folder
    return {"tag": row.name, "keyword": row.keyword, "folder": folder,
            "messages": [{"uid": uid, "flags": list(f)} for uid, f in sorted(flags.items())]}


def tagged(ctx: ServiceContext, agent: Agent, name: str, folder: str | None = None
           ) -> dict[str, Any]:
    """The messages carrying the tag, newest first per folder (every folder by default)."""
    row = get(ctx, agent, name)
    found: list[dict[str, Any]] = []
    with open_session(ctx, agent) as session:
        folders = [resolve_folder(session, folder)] if folder else _folders(session)
        for where in folders:
            uids = sorted(session.search(where, SearchQuery(keyword=row.keyword)),
                          reverse=True)[:MAX_TAGGED]
            found += [s.to_dict() for s in session.summaries(where, uids)]
    return {"tag": row.name, "keyword": row.keyword, "total": len(found), "messages": found}
