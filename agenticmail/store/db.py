"""The SQLite database: WAL, foreign keys, one writer at a time, readers alongside it.

One ``Database`` per process, shared by threads (watchers, API worker threads, the sender).
Writes go through ``Database.write()``: one connection behind a lock, ``BEGIN IMMEDIATE``, so
a group of rows commits together or not at all. Reads (``query``, ``one``, ``read()``) use
connections of their own from a small pool: with WAL each read sees a consistent snapshot of
what has committed, without waiting for a write in progress and without holding one up. A
read made by the thread that is inside a write transaction uses the writer's connection (it
sees its own uncommitted rows). sqlite-utils owns the schema (see ``migrations``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from ..errors import ConfigError

IDLE_READERS = 8  # reader connections kept open between reads



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
            raise ConfigError(f"cannot open the database {self.path}: {exc}") from exc
        self.conn.row_factory = sqlite3.Row
        self._shared = self.path == Path(":memory:")  # one connection: nothing to share with
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer: int | None = None  # the thread inside a write transaction
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=10000")
        self.utils = sqlite_utils.Database(self.conn)
        self._lock = threading.RLock()
        self._depth = 0

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
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth, self._writer = 1, threading.get_ident()
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth, self._writer = 0, None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one snapshot for every statement inside it, on a connection of
        its own (the writer's, inside this thread's write transaction)."""
        if self._shared or self._writer == threading.get_ident():
            with self._lock:
                yield self.conn
            return
        conn = self._take_reader()
        try:
            conn.execute("BEGIN")
            yield conn
        finally:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")  # read only: nothing to keep
            except sqlite3.Error:
                conn.close()  # its state is unknown: never handed out again
            else:
                self._give_back(conn)

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
            raise ConfigError(f"cannot open the database {self.path}: {exc}") from exc
        return conn

    def _give_back(self, conn: sqlite3.Connection) -> None:
        with self._readers_lock:
            if len(self._readers) < IDLE_READERS:
                self._readers.append(conn)
                return
        conn.close()

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self.read() as conn:
            return conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Row | None:
        with self.read() as conn:
            row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
            return row

    def close(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()
        with self._lock:
            self.conn.close()
