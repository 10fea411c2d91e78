"""The SQLite database: WAL, foreign keys, one writer at a time, readers alongside it.

One ``Database`` per process, shared by threads (watchers, API worker threads, the sender).
Writes go through ``Database.write()``: one connection behind a lock, ``BEGIN IMMEDIATE``, so
a group of rows commits together or not at all. Reads (``query``, ``one``, ``read()``) use
connections of their own from a small pool: with WAL each read sees a consistent snapshot of
what has committed, without waiting for a write in progress and without holding one up. A
read made by the thread that is inside a write transaction uses the writer's connection (it
sees its own uncommitted rows). sqlite-utils owns the schema (see ``migrations``).

A database that cannot be written or read (a full disk, an I/O error, a damaged file) raises
:class:`StorageUnavailable` with a hint, never a raw ``sqlite3`` error; ``problem()`` says
whether the last write failed that way or the disk is nearly full (``/v1/health``, doctor).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from ..errors import ConfigError, StorageUnavailable

IDLE_READERS = 8  # reader connections kept open between reads

# primary SQLite result codes that mean the storage itself is unusable
_FULL, _IOERR, _CORRUPT, _NOTADB = 13, 10, 11, 26
_READONLY, _CANTOPEN, _PERM = 8, 14, 3


def storage_error(exc: sqlite3.Error, path: Path) -> StorageUnavailable | None:
    """The error to raise for ``exc`` when it means the storage cannot be used, else None
    (constraint violations and the like stay the caller's business)."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code in (_FULL, _IOERR, _CANTOPEN) and path != Path(":memory:") and low_space(path):
        code = _FULL  # SQLite says "I/O error" when it cannot even create its WAL file
    if code == _FULL:
        return StorageUnavailable(
            f"the disk holding the database {path} is full",
            hint=f"free some space on the disk of {path.parent}; the daemon resumes by itself")
    if code in (_CORRUPT, _NOTADB):
        return StorageUnavailable(
            f"the database {path} is damaged ({exc})",
            hint=f"restore it from a backup, or move it away (mv {path} {path}.damaged) to "
                 "start with an empty one (agents and keys must then be created again)")
    if code == _IOERR:
        return StorageUnavailable(
            f"the database {path} cannot be read or written ({exc})",
            hint=f"check the disk of {path.parent} (free space, errors in the system log)")
    if code in (_READONLY, _CANTOPEN, _PERM):
        return StorageUnavailable(f"the database {path} cannot be written ({exc})",
                                  hint=f"check the permissions of {path} and its directory")
    return None


LOW_SPACE_BYTES = 16 * 1024 * 1024  # below this, writes are about to fail


def low_space(path: Path) -> StorageUnavailable | None:
    """A problem when the disk holding ``path`` is (nearly) full, else None."""
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return None
    if free >= LOW_SPACE_BYTES:
        return None
    return StorageUnavailable(
        f"the disk holding the database {path} is nearly full ({free // 1024} KiB free)",
        hint=f"free some space on the disk of {path.parent}; the daemon resumes by itself")


def check(path: Path) -> str:
    """Open the database at ``path`` and check its pages (``PRAGMA quick_check``) and the
    free space; what was found, or raises :class:`StorageUnavailable` with a hint."""
    db = Database(path)
    try:
        with db.mapped():
            result = db.conn.execute("PRAGMA quick_check").fetchone()[0]
        if result != "ok":
            raise StorageUnavailable(
                f"the database {path} is damaged ({result})",
                hint=f"restore it from a backup, or move it away (mv {path} {path}.damaged) "
                     "to start with an empty one (agents and keys must then be created again)")
    finally:
        db.close()
    problem = low_space(path)
    if problem is not None:
        raise problem
    return f"{path}: pages ok, {shutil.disk_usage(path.parent).free // 2**20} MiB free"


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            if self.path != Path(":memory:"):
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
                os.close(fd)
            self.conn = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None, timeout=10
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the database {self.path}: {exc}",
                              hint=f"check the disk and the permissions of {self.path}"
                              ) from exc
        self.conn.row_factory = sqlite3.Row
        self._shared = self.path == Path(":memory:")  # one connection: nothing to share with
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer: int | None = None  # the thread inside a write transaction
        self._lock = threading.RLock()
        self._depth = 0
        self.write_error: StorageUnavailable | None = None
        with self.mapped():
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA busy_timeout=10000")
        self.utils = sqlite_utils.Database(self.conn)

    @contextmanager
    def mapped(self) -> Iterator[None]:
        """Raise :class:`StorageUnavailable` for a storage failure inside the block."""
        try:
            yield
        except sqlite3.Error as exc:
            mapped = storage_error(exc, self.path)
            if mapped is None:
                raise
            raise mapped from exc

    def problem(self) -> StorageUnavailable | None:
        """Why writes fail or are about to (the last write failed, the disk is nearly full),
        or None."""
        if self._shared:
            return self.write_error
        return self.write_error or low_space(self.path)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            try:
                with self.mapped():
                    self.conn.execute("BEGIN IMMEDIATE")
                    self._depth, self._writer = 1, threading.get_ident()
                    try:
                        yield self.conn
                    except BaseException:
                        if self.conn.in_transaction:
                            self.conn.execute("ROLLBACK")
                        raise
                    self.conn.execute("COMMIT")
            except StorageUnavailable as exc:
                self.write_error = exc
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                raise
            else:
                self.write_error = None
            finally:
                self._depth, self._writer = 0, None

    @contextmanager
    def writer_within(self, seconds: float) -> Iterator[bool]:
        """Take the writer lock if it comes free within ``seconds`` and hold it for the block
        (True), or not at all (False): for work that must not wait longer for another
        thread's transaction. A :meth:`write` inside the block, in this thread, takes it
        again at once."""
        if not self._lock.acquire(timeout=seconds):
            yield False
            return
        try:
            yield True
        finally:
            self._lock.release()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the writer lock without a transaction: meanwhile no other thread's write
        transaction begins or commits (a :meth:`write` inside it, in this thread, does). For
        what must follow a commit before the next one does, such as publishing its events."""
        with self._lock:
            yield

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one snapshot for every statement inside it, on a connection of
        its own (the writer's, inside this thread's write transaction)."""
        with self._reader(begin=True) as conn:
            yield conn

    def _take_reader(self) -> sqlite3.Connection:
        with self._readers_lock:
            if self._readers:
                return self._readers.pop()
        try:
            conn = sqlite3.connect(str(self.path), check_same_thread=False,
                                   isolation_level=None, timeout=10)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA busy_timeout=10000")
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) or ConfigError(
                f"cannot open the database {self.path}: {exc}") from exc
        return conn

    def _give_back(self, conn: sqlite3.Connection) -> None:
        with self._readers_lock:
            if len(self._readers) < IDLE_READERS:
                self._readers.append(conn)
                return
        conn.close()

    @contextmanager
    def _statement(self) -> Iterator[sqlite3.Connection]:
        """A connection for one read statement: in autocommit mode a statement is its own
        read transaction (one snapshot), so no BEGIN/ROLLBACK round trip is needed."""
        with self._reader(begin=False) as conn:
            yield conn

    @contextmanager
    def _reader(self, *, begin: bool) -> Iterator[sqlite3.Connection]:
        """A pooled read-only connection (``begin``: inside an explicit read transaction), or
        the writer's own connection in the thread holding the write transaction, so it sees
        its uncommitted rows. A connection whose state is unknown is closed, not pooled."""
        if self._shared or self._writer == threading.get_ident():
            with self._lock, self.mapped():
                yield self.conn
            return
        conn = self._take_reader()
        try:
            with self.mapped():
                if begin:
                    conn.execute("BEGIN")
                yield conn
        finally:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")  # read only: nothing to keep
            except sqlite3.Error:
                conn.close()
            else:
                self._give_back(conn)

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._statement() as conn:
            return conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Row | None:
        with self._statement() as conn:
            cursor = conn.execute(sql, params)
            row: sqlite3.Row | None = cursor.fetchone()
            cursor.close()  # a statement left unfinished would hold its read snapshot open
            return row

    def close(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()
        with self._lock:
            self.conn.close()


def where_equal(**filters: str | int | None) -> tuple[str, list[Any]]:
    """A WHERE clause matching every filter that is set (column names are ours, not input)."""
    set_ = {k: v for k, v in filters.items() if v is not None}
    clause = " AND ".join(f"{column} = ?" for column in set_)
    return (f"WHERE {clause}" if clause else ""), list(set_.values())
