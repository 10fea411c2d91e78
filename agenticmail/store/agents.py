"""Agents and API keys (stored only as SHA-256 hashes with a display prefix)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from ..errors import Conflict, NotFound
from ..models import Agent, Role
from ._time import now_iso
from .db import Database

_AGENT_COLS = (
    "a.id, a.name, a.address, a.role, a.display_name, a.metadata, a.created_at, "
    "(SELECT prefix FROM api_keys k WHERE k.agent_id = a.id AND k.revoked_at IS NULL "
    " AND k.name IS NULL"
    " ORDER BY k.id DESC LIMIT 1) AS key_prefix"
)


def _agent(row: sqlite3.Row) -> Agent:
    return Agent(
        id=row["id"], name=row["name"], address=row["address"], role=Role(row["role"]),
        display_name=row["display_name"], metadata=json.loads(row["metadata"] or "{}"),
        key_prefix=row["key_prefix"] or "", created_at=row["created_at"],
    )


def insert_agent(conn: sqlite3.Connection, *, name: str, address: str, role: Role,
                 display_name: str, metadata: dict[str, Any], password_enc: str) -> int:
    """A new agent with an id never given before (not even to a deleted agent)."""
    try:
        cur = conn.execute(
            "INSERT INTO agents (id, name, address, role, display_name, metadata, "
            "mail_password_enc, created_at) VALUES ((SELECT last + 1 FROM agent_id_seq), "
            "?, ?, ?, ?, ?, ?, ?)",
            (name, address, str(role), display_name, json.dumps(metadata), password_enc,
             now_iso()),
        )
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" not in str(exc):
            raise
        raise Conflict(f"an agent named {name!r} already exists") from exc
    assert cur.lastrowid is not None
    return cur.lastrowid


def get_agent(db: Database, name: str) -> Agent:
    row = db.one(f"SELECT {_AGENT_COLS} FROM agents a WHERE a.name = ?", (name,))
    if row is None:
        raise NotFound(f"no agent named {name!r}")
    return _agent(row)


def find_agent(db: Database, name: str) -> Agent | None:
    row = db.one(f"SELECT {_AGENT_COLS} FROM agents a WHERE a.name = ?", (name,))
    return None if row is None else _agent(row)


def find_agent_by_address(db: Database, address: str) -> Agent | None:
    row = db.one(f"SELECT {_AGENT_COLS} FROM agents a WHERE a.address = ?", (address.lower(),))
    return None if row is None else _agent(row)


def find_agent_by_id(db: Database, agent_id: int | None) -> Agent | None:
    if agent_id is None:
        return None
    row = db.one(f"SELECT {_AGENT_COLS} FROM agents a WHERE a.id = ?", (agent_id,))
    return None if row is None else _agent(row)


def get_agent_by_id(db: Database, agent_id: int) -> Agent:
    row = db.one(f"SELECT {_AGENT_COLS} FROM agents a WHERE a.id = ?", (agent_id,))
    if row is None:
        raise NotFound(f"no agent with id {agent_id}")
    return _agent(row)


def list_agents(db: Database) -> list[Agent]:
    return [_agent(r) for r in db.query(f"SELECT {_AGENT_COLS} FROM agents a ORDER BY a.name")]


def count_agents(db: Database) -> int:
    row = db.one("SELECT count(*) AS n FROM agents")
    return int(row["n"]) if row else 0


def password_enc(db: Database, agent_id: int) -> str:
    row = db.one("SELECT mail_password_enc FROM agents WHERE id = ?", (agent_id,))
    if row is None:
        raise NotFound(f"no agent with id {agent_id}")
    return str(row["mail_password_enc"])


def set_password_enc(conn: sqlite3.Connection, agent_id: int, password_enc: str) -> None:
    conn.execute("UPDATE agents SET mail_password_enc = ? WHERE id = ?", (password_enc, agent_id))


def update_metadata(conn: sqlite3.Connection, agent_id: int, metadata: dict[str, Any]) -> None:
    conn.execute("UPDATE agents SET metadata = ? WHERE id = ?", (json.dumps(metadata), agent_id))


def delete_agent_row(conn: sqlite3.Connection, agent_id: int) -> None:
    conn.execute("DELETE FROM agents WHERE id = ?", (agent_id,))


# -- API keys --------------------------------------------------------------------------------

def insert_key(conn: sqlite3.Connection, *, kind: str, key_hash: str, prefix: str,
               agent_id: int | None = None) -> None:
    conn.execute(
        "INSERT INTO api_keys (kind, agent_id, key_hash, prefix, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (kind, agent_id, key_hash, prefix, now_iso()),
    )


def revoke_keys(conn: sqlite3.Connection, *, kind: str, agent_id: int | None = None) -> None:
    """Revoke the unnamed (main) key(s) of that kind; named agent keys are revoked by name."""
    conn.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE kind = ? AND agent_id IS ? "
        "AND revoked_at IS NULL AND name IS NULL",
        (now_iso(), kind, agent_id),
    )


@dataclass(frozen=True)
class KeyHolder:
    kind: str  # "master" | "agent"
    key_hash: str
    agent: Agent | None  # None for the master key (and for an agent key whose agent is gone)


def key_holder(db: Database, key_hash: str) -> KeyHolder | None:
    """Who holds the current key with this hash, in one statement (every request asks)."""
    row = db.one(
        f"SELECT k.kind AS key_kind, k.key_hash AS key_hash, {_AGENT_COLS} FROM api_keys k "
        "LEFT JOIN agents a ON a.id = k.agent_id WHERE k.key_hash = ? AND k.revoked_at IS NULL",
        (key_hash,))
    if row is None:
        return None
    agent = _agent(row) if row["id"] is not None else None
    return KeyHolder(row["key_kind"], row["key_hash"], agent)


def has_master_key(db: Database) -> bool:
    return db.one(
        "SELECT 1 FROM api_keys WHERE kind = 'master' AND revoked_at IS NULL"
    ) is not None
