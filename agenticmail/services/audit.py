"""Audit use-cases: record an action in the same transaction as the change it describes;
verify the chain; list entries.

Record inside the transaction that makes the change, so the audit row and the change commit
together or not at all::

    with transaction(ctx) as tx:
        ...                                   # the state change
        audit.record(tx, actor_of(principal), audit.SEND, subject=message_id,
                     detail={"agent": name, "to": recipients})

Actors: ``"owner"`` (the master key), ``"agent:<name>"`` (an agent key), ``"system"`` (the
daemon on its own: workers, scheduler); a qualifier in parentheses, as in ``"owner (email
reply)"``, is kept as ``detail["via"]`` and the actor stored as ``owner``. Actions are dotted
lowercase names; the ones the issue names are the constants below. ``detail`` is a small JSON
object that must never contain secrets (keys, passwords) or message bodies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..config import Settings
from ..errors import NotConfigured
from ..store import audit as audit_store
from ..store.audit import AuditEntry, ChainHead, VerifyResult
from ..store.db import Database
from .auth import Principal
from .context import ServiceContext, Tx, transaction

__all__ = [
    "APPROVE", "CANCEL", "HOLD", "KEY_USE", "OWNER", "REJECT", "SEND", "SYSTEM", "AuditEntry",
    "ChainHead", "VerifyResult", "actor_of", "agent_actor", "list_entries", "record",
    "record_key_use", "record_outcome", "verify", "verify_database",
]

OWNER = "owner"
SYSTEM = "system"

SEND = "mail.send"  # a message accepted for delivery (outbox) or delivered locally
HOLD = "mail.hold"  # outbound mail held for the owner's approval (DLP)
APPROVE = "mail.approve"  # a held message approved (by the master key or the owner's reply)
REJECT = "mail.reject"  # a held message rejected
CANCEL = "mail.cancel"  # a send (a scheduled one) cancelled before it left
KEY_USE = "key.master"  # the master key used to read an owner-only route
OK = "ok"  # the outcome of a change that succeeded (a failed one records its error code)

# A base actor, optionally qualified: "owner (email reply)" is stored as actor "owner" with
# detail {"via": "email reply"}, so filtering by actor still finds it.
_ACTOR = re.compile(r"^(?P<actor>owner|system|agent:[^\s:()]+)(?: \((?P<via>[^()]{1,100})\))?$")
_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


def agent_actor(name: str) -> str:
    return f"agent:{name}"


def actor_of(principal: Principal) -> str:
    """The actor for an authenticated caller: ``owner`` or ``agent:<name>``."""
    if principal.agent is not None:
        return agent_actor(principal.agent.name)
    return OWNER


def record(tx: Tx, actor: str, action: str, subject: str | int | None = None,
           detail: Mapping[str, Any] | None = None) -> AuditEntry:
    """Append one audit entry inside ``tx`` (a ``services.context.transaction``)."""
    found = _ACTOR.match(actor)
    if not found:
        raise ValueError(f"invalid audit actor {actor!r} (owner, system or agent:<name>)")
    if not _ACTION.match(action):
        raise ValueError(f"invalid audit action {action!r} (dotted lowercase, e.g. mail.send)")
    details = dict(detail or {})
    if found["via"]:
        details.setdefault("via", found["via"])
    return audit_store.append(tx.conn, actor=found["actor"], action=action, subject=subject,
                              detail=details)


def record_key_use(ctx: ServiceContext, method: str, path: str) -> AuditEntry:
    """Record one use of the master key on an owner-only route, in its own transaction."""
    with transaction(ctx) as tx:
        return record(tx, OWNER, KEY_USE, subject=f"{method.upper()} {path}")


def record_outcome(ctx: ServiceContext, actor: str, action: str, subject: str | None,
                   outcome: str, detail: Mapping[str, Any] | None = None) -> AuditEntry:
    """Record a change requested through the API once its outcome is known (``ok`` or the
    error code), in its own transaction: failed attempts are recorded too."""
    with transaction(ctx) as tx:
        return record(tx, actor, action, subject=subject,
                      detail={**(detail or {}), "outcome": outcome})


def verify(ctx: ServiceContext, anchors: Iterable[ChainHead] = ()) -> VerifyResult:
    return audit_store.verify(ctx.db, anchors)


def verify_database(settings: Settings, anchors: Iterable[ChainHead] = ()) -> VerifyResult:
    """Verify straight from the database file, without a daemon or a ``ServiceContext``.

    Nothing is migrated or written: a tamper check must not change what it checks, and it
    should not depend on the process whose records it checks.
    """
    if not settings.db_path.exists():
        raise NotConfigured(f"no agenticmail database at {settings.db_path}",
                            hint="run: agenticmail setup")
    db = Database(settings.db_path)
    try:
        return audit_store.verify(db, anchors)
    finally:
        db.close()


def list_entries(ctx: ServiceContext, *, limit: int = 50, offset: int = 0,
                 action: str | None = None, actor: str | None = None) -> dict[str, Any]:
    """A page of entries, newest first, with the total that matches the filters."""
    entries = audit_store.list_entries(ctx.db, limit=limit, offset=offset, action=action,
                                       actor=actor)
    return {
        "entries": [e.to_dict() for e in entries],
        "total": audit_store.count(ctx.db, action=action, actor=actor),
        "limit": limit, "offset": offset,
    }
