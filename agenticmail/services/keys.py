"""Named agent keys: an agent may hold several keys, one per tool, each separately revocable.

Keys are shown once at creation and stored only as SHA-256 hashes (``security.keys``);
authentication compares in constant time (``services.auth``). The agent's unnamed key (the
one ``rotate-key`` replaces) is listed as ``default``.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import Conflict, InvalidRequest, NotFound
from ..models import Agent
from ..security.keys import generate_api_key, hash_key, key_prefix
from ..store._time import now_iso
from .context import ServiceContext, transaction

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def _check_name(name: str) -> str:
    name = name.strip().lower()
    if not _NAME_RE.match(name) or name == "default":
        raise InvalidRequest(f"invalid key name {name!r}: 1-64 of a-z 0-9 _ . - "
                             "('default' is the agent's main key)")
    return name


def list_keys(ctx: ServiceContext, agent: Agent) -> list[dict[str, Any]]:
    rows = ctx.db.query(
        "SELECT name, prefix, created_at FROM api_keys WHERE kind = 'agent' AND agent_id = ? "
        "AND revoked_at IS NULL ORDER BY id", (agent.id,))
    return [{"name": r["name"] or "default", "prefix": r["prefix"],
             "created_at": r["created_at"]} for r in rows]


def create_key(ctx: ServiceContext, agent: Agent, name: str) -> tuple[dict[str, Any], str]:
    """A new named key for ``agent``: (its listing, the key itself — shown only now)."""
    name = _check_name(name)
    key = generate_api_key()
    with transaction(ctx) as tx:
        found = tx.conn.execute(
            "SELECT 1 FROM api_keys WHERE agent_id = ? AND name = ? AND revoked_at IS NULL",
            (agent.id, name)).fetchone()
        if found:
            raise Conflict(f"agent {agent.name} already has a key named {name!r}",
                           hint=f"revoke it first: agenticmail agents keys revoke {agent.name} "
                                f"{name}")
        tx.conn.execute(
            "INSERT INTO api_keys (kind, agent_id, key_hash, prefix, created_at, name) "
            "VALUES ('agent', ?, ?, ?, ?, ?)",
            (agent.id, hash_key(key), key_prefix(key), now_iso(), name))
    return {"name": name, "prefix": key_prefix(key)}, key


def revoke_key(ctx: ServiceContext, agent: Agent, name: str) -> None:
    name = name.strip().lower()
    with transaction(ctx) as tx:
        if name == "default":
            cur = tx.conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE kind = 'agent' AND agent_id = ? "
                "AND name IS NULL AND revoked_at IS NULL", (now_iso(), agent.id))
        else:
            cur = tx.conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE kind = 'agent' AND agent_id = ? "
                "AND name = ? AND revoked_at IS NULL", (now_iso(), agent.id, name))
        if cur.rowcount == 0:
            raise NotFound(f"agent {agent.name} has no key named {name!r}")
