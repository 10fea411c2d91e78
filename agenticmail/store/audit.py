"""The audit log: an append-only, hash-chained record of what was done and by whom.

Each row carries ``prev_hash`` (the previous row's ``hash``; 64 zeros for row 1) and ``hash`` =
SHA-256 of the canonical JSON of ``[id, at, actor, action, subject, detail, prev_hash]``. Ids are
assigned here, contiguous from 1, and are part of the hash. The newest row (the *chain head*:
its id and hash) is also kept in the ``config`` table, written in the same transaction as the
row, so deleting the last row(s) is detectable, not only a gap in the middle.

Two layers of protection:

- the migration's triggers make SQLite refuse ``UPDATE`` and ``DELETE`` on ``audit_log``;
- :func:`verify` recomputes the whole chain, so an edit by someone who dropped the triggers
  first is still found: an edited row (its hash no longer matches its contents), a deleted row
  (a gap in the ids, or a head that points past the last row), a reordered or replaced row (a
  ``prev_hash`` that does not link to the row before), a head mismatch, and missing triggers.

What this cannot do on its own: the chain is keyed by nothing secret, so someone with write
access to the database who recomputes every hash *and* the stored head leaves a consistent
chain. Against that, note a head (``audit verify`` prints it) somewhere else and later pass it
back as an *anchor*: :func:`verify` then also checks that row still has that hash.

``append`` must run inside a write transaction (``Database.write()`` or
``services.context.transaction``) so the row, the head and the state change it records commit
together.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from . import kv
from ._time import now_iso
from .db import Database

GENESIS_HASH = "0" * 64
HEAD_KEY = "audit.head"
TRIGGERS = ("audit_log_no_update", "audit_log_no_delete")
MAX_PROBLEMS = 50

_COLUMNS = "id, at, actor, action, subject, detail, prev_hash, hash"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    subject: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChainHead:
    id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.id}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> ChainHead:
        """``"<id>:<hash>"`` (how heads are stored and how anchors are given on the CLI)."""
        raw_id, sep, digest = text.strip().partition(":")
        digest = digest.lower()
        if (not sep or not raw_id.isdigit() or len(digest) != 64
                or any(c not in "0123456789abcdef" for c in digest)):
            raise ValueError(f"not a chain head (expected <id>:<64 hex digits>): {text!r}")
        return cls(int(raw_id), digest)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str] = field(default_factory=list)
    head: ChainHead | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "checked": self.checked, "problems": list(self.problems),
            "head": None if self.head is None else {"id": self.head.id, "hash": self.head.hash},
        }


# -- hashing ---------------------------------------------------------------------------------
def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, ASCII only, no NaN/Infinity."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def entry_hash(id_: int, at: str, actor: str, action: str, subject: str | None,
               detail: Any, prev_hash: str) -> str:
    material = canonical_json([id_, at, actor, action, subject, detail, prev_hash])
    return hashlib.sha256(material.encode("ascii")).hexdigest()


# -- writing ---------------------------------------------------------------------------------
def _stored_head(conn: sqlite3.Connection) -> ChainHead | None:
    row = conn.execute("SELECT value FROM config WHERE key = ?", (HEAD_KEY,)).fetchone()
    if row is None:
        return None
    try:
        return ChainHead.parse(str(row[0]))
    except ValueError:
        return None


def append(conn: sqlite3.Connection, *, actor: str, action: str, subject: str | int | None,
           detail: Mapping[str, Any]) -> AuditEntry:
    """Add one row at the end of the chain and move the stored head to it.

    ``detail`` is stored as canonical JSON (values JSON cannot hold become strings); it must
    not contain secrets. Raises ``RuntimeError`` outside a transaction.
    """
    if not conn.in_transaction:
        raise RuntimeError("audit.append must run inside a write transaction")
    # Hash exactly what the TEXT columns will give back (an int subject would come back '5').
    actor, action = str(actor), str(action)
    subject = None if subject is None else str(subject)
    # Round-trip so the hash covers exactly what is stored (and read back by verify).
    detail_json = canonical_json(json.loads(json.dumps(dict(detail), default=str)))
    stored = json.loads(detail_json)
    last = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    table_head = None if last is None else ChainHead(int(last[0]), str(last[1]))
    head = _stored_head(conn)
    # Normally both agree. If rows were deleted from the end, continue after the stored head so
    # the gap stays visible; if the stored head is missing or behind, continue after the table.
    if head is None or (table_head is not None and table_head.id > head.id):
        head = table_head
    new_id = 1 if head is None else head.id + 1
    prev_hash = GENESIS_HASH if head is None else head.hash
    at = now_iso()
    digest = entry_hash(new_id, at, actor, action, subject, stored, prev_hash)
    conn.execute(
        f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (new_id, at, actor, action, subject, detail_json, prev_hash, digest),
    )
    kv.put(conn, HEAD_KEY, str(ChainHead(new_id, digest)))
    return AuditEntry(new_id, at, actor, action, subject, stored, prev_hash, digest)


# -- reading ---------------------------------------------------------------------------------
def _entry(row: sqlite3.Row) -> AuditEntry:
    try:
        detail = json.loads(row["detail"])
    except (TypeError, ValueError):
        detail = {"unparsable": str(row["detail"])}
    return AuditEntry(id=int(row["id"]), at=row["at"], actor=row["actor"], action=row["action"],
                      subject=row["subject"], detail=detail, prev_hash=row["prev_hash"],
                      hash=row["hash"])


def _filters(action: str | None, actor: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if action is not None:
        clauses.append("action = ?")
        params.append(action)
    if actor is not None:
        clauses.append("actor = ?")
        params.append(actor)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_entries(db: Database, *, limit: int = 50, offset: int = 0, action: str | None = None,
                 actor: str | None = None) -> list[AuditEntry]:
    """Entries newest first, optionally only one ``action`` and/or ``actor``."""
    where, params = _filters(action, actor)
    rows = db.query(f"SELECT {_COLUMNS} FROM audit_log{where} ORDER BY id DESC LIMIT ? OFFSET ?",
                    (*params, max(0, limit), max(0, offset)))
    return [_entry(r) for r in rows]


def count(db: Database, *, action: str | None = None, actor: str | None = None) -> int:
    where, params = _filters(action, actor)
    row = db.one(f"SELECT count(*) AS n FROM audit_log{where}", tuple(params))
    return int(row["n"]) if row else 0


def head(db: Database) -> ChainHead | None:
    """The stored chain head (``None`` before the first entry)."""
    value = kv.get(db, HEAD_KEY)
    try:
        return None if value is None else ChainHead.parse(value)
    except ValueError:
        return None


# -- verifying -------------------------------------------------------------------------------
def _has_table(db: Database) -> bool:
    return db.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'") \
        is not None


def _migrated(db: Database) -> bool:
    if db.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'") is None:
        return False
    return db.one("SELECT 1 FROM _migrations WHERE name = '0002_audit_log'") is not None


def _snapshot(db: Database) -> tuple[str | None, list[sqlite3.Row]]:
    """The stored head and every row, read by ONE statement so both come from one snapshot
    (a writer appending in between would otherwise look like a head mismatch)."""
    rows = db.query(
        f"SELECT 0 AS part, NULL AS id, NULL AS at, NULL AS actor, NULL AS action, "
        f"NULL AS subject, NULL AS detail, NULL AS prev_hash, value AS hash "
        f"FROM config WHERE key = ? "
        f"UNION ALL SELECT 1 AS part, {_COLUMNS} FROM audit_log ORDER BY part, id",
        (HEAD_KEY,),
    )
    stored = next((str(r["hash"]) for r in rows if r["part"] == 0), None)
    return stored, [r for r in rows if r["part"] == 1]


def _check_rows(rows: list[sqlite3.Row], problems: list[str]) -> None:
    expected_id, expected_prev = 1, GENESIS_HASH
    for row in rows:
        row_id = int(row["id"])
        try:
            detail = json.loads(row["detail"])
        except (TypeError, ValueError):
            problems.append(f"row {row_id}: edited (its detail is no longer valid JSON)")
            detail = None
        if detail is not None and entry_hash(
            row_id, row["at"], row["actor"], row["action"], row["subject"], detail,
            row["prev_hash"],
        ) != row["hash"]:
            problems.append(
                f"row {row_id}: edited or moved (its contents no longer match its hash)")
        if row_id != expected_id:
            missing = (f"row {expected_id}" if row_id == expected_id + 1
                       else f"rows {expected_id}-{row_id - 1}")
            problems.append(f"{missing} deleted (ids jump from {expected_id - 1} to {row_id})")
        elif row["prev_hash"] != expected_prev:
            before = "the genesis value" if row_id == 1 else f"the hash of row {row_id - 1}"
            problems.append(
                f"row {row_id}: chain broken (its prev_hash is not {before}; "
                f"a row was replaced, re-hashed or reordered)"
            )
        expected_id, expected_prev = row_id + 1, row["hash"]


def _check_head(stored: str | None, rows: list[sqlite3.Row], problems: list[str]) -> None:
    last = None if not rows else ChainHead(int(rows[-1]["id"]), str(rows[-1]["hash"]))
    if stored is None:
        if last is not None:
            problems.append(f"chain head missing (the log has {len(rows)} rows but no "
                            f"'{HEAD_KEY}' record)")
        return
    try:
        head_ = ChainHead.parse(stored)
    except ValueError:
        problems.append(f"chain head unreadable: {stored!r}")
        return
    if last is None or head_.id > last.id:
        after = 0 if last is None else last.id
        missing = (f"row {head_.id}" if head_.id == after + 1
                   else f"rows {after + 1}-{head_.id}")
        problems.append(f"{missing} deleted from the end (the chain head records row {head_.id})")
    elif head_.id < last.id:
        problems.append(f"head mismatch: rows {head_.id + 1}-{last.id} were added after the "
                        f"recorded chain head (row {head_.id}) without going through the log")
    elif head_.hash != last.hash:
        problems.append(f"head mismatch: row {last.id} is not the row the chain head recorded "
                        f"(replaced or re-hashed)")


def _check_anchors(anchors: Iterable[ChainHead], rows: list[sqlite3.Row],
                   problems: list[str]) -> None:
    by_id = {int(r["id"]): str(r["hash"]) for r in rows}
    for anchor in anchors:
        found = by_id.get(anchor.id)
        if found is None:
            problems.append(f"anchor row {anchor.id} deleted (it is no longer in the log)")
        elif found != anchor.hash:
            problems.append(f"anchor row {anchor.id}: its hash changed since it was noted "
                            f"(the chain was rewritten)")


def verify(db: Database, anchors: Iterable[ChainHead] = ()) -> VerifyResult:
    """Recompute the chain; ``problems`` name the first bad row first, then the head, anchors
    and triggers. Read-only."""
    anchors = list(anchors)
    if not _has_table(db):
        if _migrated(db):
            return VerifyResult(False, 0, ["the audit_log table is missing (it was dropped)"])
        gone = [f"anchor row {a.id} deleted (there is no audit log)" for a in anchors]
        return VerifyResult(not gone, 0, gone)
    stored, rows = _snapshot(db)
    problems: list[str] = []
    _check_rows(rows, problems)
    _check_head(stored, rows, problems)
    _check_anchors(anchors, rows, problems)
    present = {r["name"] for r in db.query(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")}
    for name in TRIGGERS:
        if name not in present:
            problems.append(f"trigger {name} is missing (someone removed the append-only guard)")
    last = None if not rows else ChainHead(int(rows[-1]["id"]), str(rows[-1]["hash"]))
    return VerifyResult(not problems, len(rows), problems[:MAX_PROBLEMS], last)
