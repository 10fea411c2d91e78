"""Small key/value settings kept in the database (not secrets)."""

from __future__ import annotations

import sqlite3

from .db import Database


def get(db: Database, key: str, default: str | None = None) -> str | None:
    row = db.one("SELECT value FROM config WHERE key = ?", (key,))
    return default if row is None else str(row["value"])


def put(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO config (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
