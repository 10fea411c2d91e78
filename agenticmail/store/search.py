"""The search index: one document per message in any folder of an agent's mailbox (metadata in
``search_docs``, text in the FTS5 table ``search_fts`` under the same rowid) and its optional
embedding (``search_vectors``). Queries come parsed (:mod:`.search_query`): no user text is
ever FTS5 syntax here."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ._time import now_iso
from .db import Database
from .search_query import Parsed

MARK = ("**", "**")  # how snippets and subjects highlight a match
SNIPPET_TOKENS = 16


@dataclass(frozen=True)
class Doc:
    agent_id: int
    folder: str
    uidvalidity: int
    uid: int
    message_id: str | None
    from_addr: str
    recipients: tuple[str, ...]
    subject: str
    date: str | None
    date_ts: float
    flags: tuple[str, ...]
    size: int
    body: str
    attachments: tuple[str, ...]
    to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    doc_id: int
    folder: str
    uid: int
    message_id: str | None
    subject: str
    from_addr: str
    to: tuple[str, ...]
    date: str | None
    date_ts: float
    flags: tuple[str, ...]
    has_attachments: bool
    size: int
    snippet: str
    highlighted_subject: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "uid": self.uid, "message_id": self.message_id,
                "subject": self.subject, "from": self.from_addr, "to": list(self.to),
                "date": self.date, "flags": list(self.flags),
                "has_attachments": self.has_attachments, "size": self.size,
                "snippet": self.snippet, "highlighted_subject": self.highlighted_subject,
                "score": self.score}


def scope(agent_id: int) -> str:
    """The token that names an agent in the ``scope`` column."""
    return f"a{agent_id}"


def _scope_match(agent_id: int) -> str:
    return f'scope : "{scope(agent_id)}"'


def put(conn: sqlite3.Connection, doc: Doc) -> int:
    """Index ``doc`` (replacing whatever was indexed at its folder and UID); its row id."""
    conn.execute("DELETE FROM search_docs WHERE agent_id = ? AND folder = ? AND uid = ?",
                 (doc.agent_id, doc.folder, doc.uid))
    seen = int("\\Seen" in doc.flags)
    cur = conn.execute(
        "INSERT INTO search_docs (agent_id, folder, uidvalidity, uid, message_id, from_addr, "
        "to_addrs, subject, date, date_ts, flags, seen, has_attachment, size) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (doc.agent_id, doc.folder, doc.uidvalidity, doc.uid, doc.message_id, doc.from_addr,
         json.dumps(doc.to or doc.recipients), doc.subject, doc.date, doc.date_ts,
         json.dumps(doc.flags), seen, int(bool(doc.attachments)), doc.size))
    doc_id = int(cur.lastrowid or 0)
    conn.execute(
        "INSERT INTO search_fts (rowid, scope, subject, sender, recipients, body, attachments) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (doc_id, scope(doc.agent_id), doc.subject, doc.from_addr, " ".join(doc.recipients),
         doc.body, " ".join(doc.attachments)))
    return doc_id


def set_flags(conn: sqlite3.Connection, agent_id: int, folder: str, uid: int,
              flags: Sequence[str]) -> None:
    conn.execute("UPDATE search_docs SET flags = ?, seen = ? WHERE agent_id = ? AND folder = ? "
                 "AND uid = ?", (json.dumps(list(flags)), int("\\Seen" in flags), agent_id,
                                 folder, uid))


def move(conn: sqlite3.Connection, agent_id: int, folder: str, uid: int, dest: str,
         dest_validity: int, new_uid: int) -> bool:
    """The message at ``folder``/``uid`` is now ``dest``/``new_uid``; False if not indexed."""
    conn.execute("DELETE FROM search_docs WHERE agent_id = ? AND folder = ? AND uid = ?",
                 (agent_id, dest, new_uid))
    cur = conn.execute("UPDATE search_docs SET folder = ?, uidvalidity = ?, uid = ? "
                       "WHERE agent_id = ? AND folder = ? AND uid = ?",
                       (dest, dest_validity, new_uid, agent_id, folder, uid))
    return cur.rowcount == 1


def remove(conn: sqlite3.Connection, agent_id: int, folder: str, uids: Iterable[int]) -> None:
    conn.executemany("DELETE FROM search_docs WHERE agent_id = ? AND folder = ? AND uid = ?",
                     [(agent_id, folder, uid) for uid in uids])


def remove_ids(conn: sqlite3.Connection, doc_ids: Iterable[int]) -> None:
    conn.executemany("DELETE FROM search_docs WHERE id = ?", [(i,) for i in doc_ids])


def clear(conn: sqlite3.Connection, agent_id: int) -> None:
    conn.execute("DELETE FROM search_docs WHERE agent_id = ?", (agent_id,))


def mark_rebuilt(conn: sqlite3.Connection, agent_id: int) -> None:
    conn.execute("INSERT INTO search_state (agent_id, rebuilt_at) VALUES (?, ?) "
                 "ON CONFLICT (agent_id) DO UPDATE SET rebuilt_at = excluded.rebuilt_at",
                 (agent_id, now_iso()))


def rebuilt_at(db: Database, agent_id: int) -> str | None:
    row = db.one("SELECT rebuilt_at FROM search_state WHERE agent_id = ?", (agent_id,))
    return None if row is None else row["rebuilt_at"]


def locations(db: Database, agent_id: int) -> dict[str, dict[int, tuple[int, int]]]:
    """``{folder: {uid: (uidvalidity, doc_id)}}`` of what is indexed for the agent."""
    out: dict[str, dict[int, tuple[int, int]]] = {}
    for row in db.query("SELECT id, folder, uidvalidity, uid FROM search_docs "
                        "WHERE agent_id = ?", (agent_id,)):
        out.setdefault(row["folder"], {})[int(row["uid"])] = (int(row["uidvalidity"]),
                                                              int(row["id"]))
    return out


def count(db: Database, agent_id: int) -> int:
    row = db.one("SELECT count(*) AS n FROM search_docs WHERE agent_id = ?", (agent_id,))
    return int(row["n"]) if row else 0


# -- queries ---------------------------------------------------------------------------------

def _filters(agent_id: int, q: Parsed) -> tuple[list[str], list[Any]]:
    where: list[str] = ["d.agent_id = ?"]
    args: list[Any] = [agent_id]
    if q.folder is not None:
        where.append("d.folder = ? COLLATE NOCASE")
        args.append(q.folder)
    if q.seen is not None:
        where.append("d.seen = ?")
        args.append(q.seen)
    if q.has_attachment is not None:
        where.append("d.has_attachment = ?")
        args.append(int(q.has_attachment))
    if q.before is not None:
        where.append("d.date_ts < ?")
        args.append(q.before)
    if q.after is not None:
        where.append("d.date_ts >= ?")
        args.append(q.after)
    for flag, present in q.flags:
        where.append(("" if present else "NOT ") + "EXISTS (SELECT 1 FROM json_each(d.flags) "
                     "WHERE lower(json_each.value) = lower(?))")
        args.append(flag)
    for keywords, present in q.tags:
        marks = ", ".join("lower(?)" for _ in keywords)
        where.append(("" if present else "NOT ") + "EXISTS (SELECT 1 FROM json_each(d.flags) "
                     f"WHERE lower(json_each.value) IN ({marks}))")
        args.extend(keywords)
    return where, args


def scope_pays(db: Database, agent_id: int) -> bool:
    """Whether matching the agent's scope token in FTS5 is cheaper than filtering the matches
    by agent afterwards: only when the agent has less than half of the documents (the token's
    list of every one of the agent's documents costs its length on every query)."""
    mine = db.one("SELECT count(*) AS n FROM search_docs WHERE agent_id = ?", (agent_id,))
    top = db.one("SELECT coalesce(max(id), 0) AS n FROM search_docs")
    return mine is not None and top is not None and int(mine["n"]) * 2 < int(top["n"])


def _match(agent_id: int, q: Parsed, *, text: bool = True, scoped: bool = True) -> str | None:
    """The FTS5 expression of ``q`` (every fragment already quoted), or None when ``q`` has
    nothing for FTS5 to match (``text=False``: its field filters only). ``scoped``: with the
    agent's scope token (always when the query has only exclusions)."""
    terms = [*q.fields, *(q.text if text else [])]
    if not terms and not q.excluded:
        return None
    expr = " AND ".join([_scope_match(agent_id)] * (scoped or not terms) + terms)
    for excluded in q.excluded:
        expr = f"({expr}) NOT ({excluded})"
    return expr


_COLUMNS = ("d.id, d.folder, d.uid, d.message_id, d.subject, d.from_addr, d.to_addrs, d.date, "
            "d.date_ts, d.flags, d.has_attachment, d.size")


def _hit(row: sqlite3.Row, snippet: str, subject: str, score: float | None) -> Hit:
    return Hit(doc_id=int(row["id"]), folder=row["folder"], uid=int(row["uid"]),
               message_id=row["message_id"], subject=row["subject"], from_addr=row["from_addr"],
               to=tuple(json.loads(row["to_addrs"])), date=row["date"],
               date_ts=float(row["date_ts"]), flags=tuple(json.loads(row["flags"])),
               has_attachments=bool(row["has_attachment"]), size=int(row["size"]),
               snippet=snippet, highlighted_subject=subject, score=score)


def fulltext(db: Database, agent_id: int, q: Parsed, *, order: str, limit: int,
             offset: int, scoped: bool = True) -> tuple[int, list[Hit]]:
    """``(total, page)`` of the documents matching ``q``, by bm25 rank or newest first
    (``scoped``: see :func:`scope_pays`)."""
    if q.unmatchable:
        return 0, []
    where, args = _filters(agent_id, q)
    expr = _match(agent_id, q, scoped=scoped)
    open_, close = MARK
    with db.read() as conn:
        if expr is None:
            sql_where = " AND ".join(where)
            total = conn.execute(f"SELECT count(*) FROM search_docs d WHERE {sql_where}",
                                 args).fetchone()[0]
            rows = conn.execute(
                f"SELECT {_COLUMNS}, substr(f.body, 1, 200) AS snip, f.subject AS hsub, "
                f"NULL AS score FROM search_docs d JOIN search_fts f ON f.rowid = d.id "
                f"WHERE {sql_where} ORDER BY d.date_ts DESC, d.id DESC LIMIT ? OFFSET ?",
                [*args, limit, offset]).fetchall()
        else:
            sql_where = " AND ".join(["search_fts MATCH ?", *where])
            joined = "FROM search_fts f CROSS JOIN search_docs d ON d.id = f.rowid"
            if len(where) == 1 and scoped:  # the agent alone: its scope token says as much
                total = conn.execute("SELECT count(*) FROM search_fts WHERE search_fts MATCH ?",
                                     [expr]).fetchone()[0]
            else:
                total = conn.execute(f"SELECT count(*) {joined} WHERE {sql_where}",
                                     [expr, *args]).fetchone()[0]
            order_by = "f.rank" if order == "rank" else "d.date_ts DESC, d.id DESC"
            rows = conn.execute(
                f"SELECT {_COLUMNS}, snippet(search_fts, 4, ?, ?, '…', {SNIPPET_TOKENS}) AS snip,"
                f" highlight(search_fts, 1, ?, ?) AS hsub, f.rank AS score {joined} "
                f"WHERE {sql_where} ORDER BY {order_by} LIMIT ? OFFSET ?",
                [open_, close, open_, close, expr, *args, limit, offset]).fetchall()
    return int(total), [_hit(r, r["snip"] or "", r["hsub"] or r["subject"],
                             None if r["score"] is None else -float(r["score"]))
                        for r in rows]


def ranked_ids(db: Database, agent_id: int, q: Parsed, limit: int, scoped: bool = True
               ) -> list[int]:
    """Document ids of the best ``limit`` full-text matches of ``q``, best first."""
    expr = _match(agent_id, q, scoped=scoped)
    if expr is None or not q.text:
        return []
    where, args = _filters(agent_id, q)
    return [int(r[0]) for r in db.query(
        "SELECT d.id FROM search_fts f CROSS JOIN search_docs d ON d.id = f.rowid WHERE "
        + " AND ".join(["search_fts MATCH ?", *where]) + " ORDER BY f.rank LIMIT ?",
        (expr, *args, limit))]


def allowed_ids(db: Database, agent_id: int, q: Parsed) -> list[int] | None:
    """Document ids that pass ``q``'s filters and field terms (not its free text), or None
    when ``q`` restricts nothing."""
    where, args = _filters(agent_id, q)
    expr = _match(agent_id, q, text=False)
    if expr is None and len(where) == 1:
        return None
    if expr is None:
        sql = f"SELECT d.id FROM search_docs d WHERE {' AND '.join(where)}"
        return [int(r[0]) for r in db.query(sql, tuple(args))]
    sql = ("SELECT d.id FROM search_fts f CROSS JOIN search_docs d ON d.id = f.rowid WHERE "
           + " AND ".join(["search_fts MATCH ?", *where]))
    return [int(r[0]) for r in db.query(sql, (expr, *args))]


def hits(db: Database, doc_ids: Sequence[int], scores: Sequence[float]) -> list[Hit]:
    """Hits for ``doc_ids`` in that order (ids no longer indexed are skipped)."""
    if not doc_ids:
        return []
    marks = ",".join("?" * len(doc_ids))
    rows = {int(r["id"]): r for r in db.query(
        f"SELECT {_COLUMNS}, substr(f.body, 1, 200) AS snip FROM search_docs d "
        f"JOIN search_fts f ON f.rowid = d.id WHERE d.id IN ({marks})", tuple(doc_ids))}
    return [_hit(rows[i], rows[i]["snip"] or "", rows[i]["subject"], s)
            for i, s in zip(doc_ids, scores, strict=True) if i in rows]


# -- vectors ---------------------------------------------------------------------------------

def unembedded(db: Database, limit: int) -> list[tuple[int, int, str]]:
    """Up to ``limit`` documents without an embedding: ``(doc_id, agent_id, text)``."""
    rows = db.query(
        "SELECT d.id, d.agent_id, f.subject, substr(f.body, 1, 2000) AS body "
        "FROM search_docs d JOIN search_fts f ON f.rowid = d.id "
        "LEFT JOIN search_vectors v ON v.doc_id = d.id WHERE v.doc_id IS NULL "
        "ORDER BY d.id DESC LIMIT ?", (limit,))
    return [(int(r["id"]), int(r["agent_id"]), f"{r['subject']}\n{r['body']}") for r in rows]


def put_vectors(conn: sqlite3.Connection, model: str,
                rows: Iterable[tuple[int, int, bytes]]) -> None:
    """Store ``(doc_id, agent_id, float32 bytes)``; a document deleted meanwhile is skipped."""
    conn.executemany(
        "INSERT OR REPLACE INTO search_vectors (doc_id, agent_id, model, vector) "
        "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM search_docs WHERE id = ?)",
        [(doc_id, agent_id, model, blob, doc_id) for doc_id, agent_id, blob in rows])


def vector_stamp(db: Database, agent_id: int, model: str) -> tuple[int, int]:
    """``(count, max doc_id)`` of the agent's vectors: changes whenever they do (mostly)."""
    row = db.one("SELECT count(*) AS n, coalesce(max(doc_id), 0) AS top FROM search_vectors "
                 "WHERE agent_id = ? AND model = ?", (agent_id, model))
    return (int(row["n"]), int(row["top"])) if row else (0, 0)


def vectors(db: Database, agent_id: int, model: str) -> list[tuple[int, bytes]]:
    return [(int(r[0]), bytes(r[1])) for r in db.query(
        "SELECT doc_id, vector FROM search_vectors WHERE agent_id = ? AND model = ? "
        "ORDER BY doc_id", (agent_id, model))]


def vector_count(db: Database, agent_id: int | None = None) -> int:
    if agent_id is None:
        row = db.one("SELECT count(*) AS n FROM search_vectors")
    else:
        row = db.one("SELECT count(*) AS n FROM search_vectors WHERE agent_id = ?", (agent_id,))
    return int(row["n"]) if row else 0


def unembedded_count(db: Database) -> int:
    row = db.one("SELECT count(*) AS n FROM search_docs d LEFT JOIN search_vectors v "
                 "ON v.doc_id = d.id WHERE v.doc_id IS NULL")
    return int(row["n"]) if row else 0
