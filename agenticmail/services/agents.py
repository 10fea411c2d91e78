"""Agent lifecycle: create, list, show, delete (with an archive), rotate key, metadata.

Consistency with the mail host: create makes the mailbox account first and the database row
second, undoing the account if the row fails; delete archives the mail, removes the account,
then in one transaction archives and removes what the agent owned, and the agent row.
"""

from __future__ import annotations

import base64
import collections
import email
import json
import logging
import re
from dataclasses import dataclass
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from ..config import write_private
from ..errors import AgenticMailError, Conflict, InvalidRequest
from ..events import AGENT_CREATED, AGENT_DELETED
from ..models import Agent, Credentials, Role, SearchQuery
from ..security.keys import generate_api_key, generate_password, hash_key, key_prefix
from ..store import agents as agent_store
from ..store import deletions
from ..store._time import now_iso
from . import domain_setup
from .context import ServiceContext, transaction
from .sessions import credentials, open_session

log = logging.getLogger(__name__)
NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
_ALL = SearchQuery()
RESERVED_NAMES = frozenset({"postmaster", "abuse", "mailer-daemon", "root", "admin", "owner"})


@dataclass(frozen=True)
class CreatedAgent:
    agent: Agent
    api_key: str
    credentials: Credentials


def validate_name(name: str) -> str:
    lowered = name.strip().lower()
    if not NAME_RE.fullmatch(lowered) or ".." in lowered:
        raise InvalidRequest(
            f"invalid agent name {name!r}: use 1-64 letters, digits, '.', '-' or '_', "
            "starting and ending with a letter or digit"
        )
    if lowered in RESERVED_NAMES:
        raise InvalidRequest(f"the name {lowered!r} is reserved for the mail system")
    return lowered


def _user_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    metadata = dict(metadata or {})
    private = sorted(k for k in metadata if str(k).startswith("_"))
    if private:
        raise InvalidRequest(
            f"metadata fields starting with '_' are reserved: {', '.join(private)}")
    return metadata


def create_agent(ctx: ServiceContext, name: str, *, role: str | Role = Role.SECRETARY,
                 display_name: str | None = None,
                 metadata: dict[str, Any] | None = None) -> CreatedAgent:
    name = validate_name(name)
    try:
        role = Role(str(role).lower())
    except ValueError:
        raise InvalidRequest(
            f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}"
        ) from None
    user_meta = _user_metadata(metadata)
    if agent_store.find_agent(ctx.db, name) is not None:
        raise Conflict(f"an agent named {name!r} already exists")
    address = f"{name}@{ctx.settings.domain}"
    password, api_key = generate_password(), generate_api_key()
    ctx.host.create_account(address, password)
    try:
        with transaction(ctx) as tx:
            agent_id = agent_store.insert_agent(
                tx.conn, name=name, address=address, role=role,
                display_name=display_name or name.capitalize(),
                metadata={**user_meta, "_created_by": "agenticmail"},
                password_enc=ctx.secrets.encrypt(password),
            )
            agent_store.insert_key(tx.conn, kind="agent", agent_id=agent_id,
                                   key_hash=hash_key(api_key), prefix=key_prefix(api_key))
            tx.emit(AGENT_CREATED, name, {"name": name, "address": address, "role": str(role)},
                    agent_id=agent_id)
    except BaseException:
        ctx.host.delete_account(address)
        raise
    agent = agent_store.get_agent(ctx.db, name)
    domain_setup.agent_created(ctx, agent)  # domain mode: agent@domain too
    return CreatedAgent(agent, api_key, Credentials(address, password))


def mail_login(ctx: ServiceContext, creds: Credentials) -> dict[str, Any]:
    """How a mail client logs in as an agent: its login, and the IMAP and SMTP endpoints."""
    endpoints = ctx.host.endpoints()
    return {"username": creds.username, "password": creds.password,
            "imap_host": endpoints.imap_host, "imap_port": endpoints.imap_port,
            "smtp_host": endpoints.submission_host, "smtp_port": endpoints.submission_port}


def list_agents(ctx: ServiceContext) -> list[Agent]:
    return agent_store.list_agents(ctx.db)


def count_agents(ctx: ServiceContext) -> int:
    return agent_store.count_agents(ctx.db)


def find_by_id(ctx: ServiceContext, agent_id: int | None) -> Agent | None:
    """The agent with ``agent_id``, or None (deleted meanwhile, or no id)."""
    return None if agent_id is None else agent_store.find_agent_by_id(ctx.db, agent_id)


def get_agent(ctx: ServiceContext, name: str) -> Agent:
    return agent_store.get_agent(ctx.db, name.lower())


def rotate_key(ctx: ServiceContext, name: str) -> tuple[Agent, str]:
    agent = get_agent(ctx, name)
    api_key = generate_api_key()
    with transaction(ctx) as tx:
        agent_store.revoke_keys(tx.conn, kind="agent", agent_id=agent.id)
        agent_store.insert_key(tx.conn, kind="agent", agent_id=agent.id,
                               key_hash=hash_key(api_key), prefix=key_prefix(api_key))
    return get_agent(ctx, name), api_key


def rotate_password(ctx: ServiceContext, name: str) -> tuple[Agent, Credentials]:
    """Give an agent a new mail password (IMAP and SMTP logins; the API key is unchanged).

    The mail host takes it first, then the encrypted copy the daemon logs in with; if storing
    it fails the host gets the old password back. Sessions already logged in stay open; every
    new login (the daemon's watchers reconnect with the stored copy) needs the new one.
    """
    agent = get_agent(ctx, name)
    old = credentials(ctx, agent).password
    password = generate_password()
    ctx.host.change_password(agent.address, password)
    try:
        with transaction(ctx) as tx:
            agent_store.set_password_enc(tx.conn, agent.id, ctx.secrets.encrypt(password))
    except BaseException:
        ctx.host.change_password(agent.address, old)
        raise
    return get_agent(ctx, name), Credentials(agent.address, password)


def update_metadata(ctx: ServiceContext, name: str, patch: dict[str, Any]) -> Agent:
    agent = get_agent(ctx, name)
    patch = _user_metadata(patch)
    merged = {**agent.metadata, **patch}
    merged = {k: v for k, v in merged.items() if v is not None or k.startswith("_")}
    with transaction(ctx) as tx:
        agent_store.update_metadata(tx.conn, agent.id, merged)
    return get_agent(ctx, name)


# -- deletion ------------------------------------------------------------------------------

def _report(folders: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    dates: list[str] = []
    correspondents: collections.Counter[str] = collections.Counter()
    for messages in folders.values():
        for m in messages:
            if m.get("date"):
                dates.append(m["date"])
            for _, addr in getaddresses([m.get("from") or "", m.get("to") or ""]):
                if addr:
                    correspondents[addr.lower()] += 1
    return {
        "message_count": sum(len(v) for v in folders.values()),
        "first_date": min(dates) if dates else None,
        "last_date": max(dates) if dates else None,
        "top_correspondents": correspondents.most_common(10),
        "folders": {name: len(v) for name, v in folders.items()},
    }


def _iso_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError):
        return None


def _archive_mail(ctx: ServiceContext, agent: Agent) -> dict[str, list[dict[str, Any]]]:
    folders: dict[str, list[dict[str, Any]]] = {}
    with open_session(ctx, agent) as session:
        for folder in session.list_folders():
            name = folder["name"]
            items: list[dict[str, Any]] = []
            for uid in session.search(name, _ALL):
                raw, flags = session.fetch_raw(name, uid)
                head = email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0])
                items.append({
                    "uid": uid, "flags": list(flags), "subject": head.get("Subject", ""),
                    "from": head.get("From", ""), "to": head.get("To", ""),
                    "date": _iso_date(head.get("Date")),
                    "raw_base64": base64.b64encode(raw).decode(),
                })
            folders[name] = items
    return folders


def delete_agent(ctx: ServiceContext, name: str) -> dict[str, Any]:
    """Archive the agent's mail and everything it owned to ``deletions/``, then remove them,
    the agent and its account.

    The mail host is done with before the database is written (no write lock is held while
    talking to it): the mail is archived, the account removed (nothing else changes if that
    fails), then one transaction takes the agent's rows (events, outbox, held mail, spam log,
    relay and sent records) into the archive and removes them with the agent. A name given
    again later starts empty: a new agent never gets a deleted one's id.
    """
    agent = get_agent(ctx, name)
    if agent_store.count_agents(ctx.db) <= 1:
        raise Conflict("the last remaining agent cannot be deleted",
                       hint="create another agent first")
    folders = _archive_mail(ctx, agent)
    report = _report(folders)
    stamp = now_iso().replace(":", "").replace("-", "")
    archive: Path = ctx.settings.deletions_dir / f"{agent.name}-{stamp}.json"
    ctx.settings.deletions_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    document = {"agent": agent.to_dict(), "deleted_at": now_iso(), "report": report,
                "folders": folders}
    write_private(archive, json.dumps(document, indent=1).encode())
    password = credentials(ctx, agent).password
    try:
        ctx.host.delete_account(agent.address)
    except AgenticMailError:
        archive.unlink(missing_ok=True)
        raise
    try:
        with transaction(ctx) as tx:
            owned = deletions.take_owned(tx.conn, agent.id)
            write_private(archive, json.dumps({**document, "rows": owned}, indent=1).encode())
            agent_store.delete_agent_row(tx.conn, agent.id)
            deletions.record(tx.conn, agent_name=agent.name, agent_id=agent.id,
                             address=agent.address, archive_path=str(archive), report=report)
            tx.emit(AGENT_DELETED, agent.name, {"name": agent.name, "address": agent.address},
                    agent_id=agent.id)
    except BaseException:
        # the agent stays: give it back a (now empty) account, so that a retry can archive
        # and delete it; its mail is kept in the archive written above
        try:
            ctx.host.create_account(agent.address, password)
        except AgenticMailError as exc:
            log.error("agent %s stays without a mail account: %s", agent.name, exc)
        raise
    return {"deleted": agent.name, "archive": str(archive), "report": report}
