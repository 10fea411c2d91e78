"""Stored security verdicts, keyed by the message itself: the agent and a SHA-256 of the
message's bytes (never its Message-ID, which any sender chooses).

A move between folders keeps the bytes, so a moved message keeps its verdict; another message
that reuses a Message-ID has other bytes and gets a verdict of its own.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3

from ..security.verdict import SecurityVerdict
from ._time import now_iso
from .db import Database


def content_key(raw: bytes) -> str:
    """The key of a message's verdict: the SHA-256 of its bytes, hex."""
    return hashlib.sha256(raw).hexdigest()


def save(conn: sqlite3.Connection, agent_id: int, raw: bytes, security: SecurityVerdict
         ) -> None:
    """Record the verdict given to exactly these bytes in this agent's mailbox."""
    conn.execute(
        "INSERT INTO verdicts (agent_id, content_sha256, security, created_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (agent_id, content_sha256) DO UPDATE SET "
        "security = excluded.security, created_at = excluded.created_at",
        (agent_id, content_key(raw), json.dumps(security.to_dict()), now_iso()))


def find(db: Database, agent_id: int, raw: bytes) -> SecurityVerdict | None:
    """The verdict recorded for exactly these bytes in this agent's mailbox, if any."""
    row = db.one("SELECT security FROM verdicts WHERE agent_id = ? AND content_sha256 = ?",
                 (agent_id, content_key(raw)))
    return SecurityVerdict.from_dict(json.loads(row["security"])) if row else None
