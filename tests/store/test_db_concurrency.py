"""Reads and writes do not wait for each other (issue 16 item 7): reads run on connections
of their own (WAL readers, each a consistent snapshot), the single writer on its own.

Deterministic: one side holds its transaction open until the other side has finished.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenticmail.store.db import Database

BOUND = 10.0  # generous: the other side must finish while this one is still open


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "test.db")
    with database.write() as conn:
        conn.execute("CREATE TABLE t (n INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
    yield database
    database.close()


def _count(db: Database) -> int:
    row = db.one("SELECT count(*) AS c FROM t")
    assert row is not None
    return int(row["c"])


def test_a_write_commits_while_a_long_read_is_open(db: Database) -> None:
    reading, release, seen = threading.Event(), threading.Event(), []

    def long_read() -> None:
        with db.read() as conn:
            seen.append(conn.execute("SELECT count(*) FROM t").fetchone()[0])
            reading.set()
            release.wait(BOUND)
            # still the snapshot it started with, although a write committed meanwhile
            seen.append(conn.execute("SELECT count(*) FROM t").fetchone()[0])

    reader = threading.Thread(target=long_read)
    reader.start()
    try:
        assert reading.wait(BOUND)
        with db.write() as conn:  # does not wait for the reader
            conn.execute("INSERT INTO t VALUES (2)")
        assert not release.is_set() and reader.is_alive()  # the read is still open
        assert _count(db) == 2  # a new read sees the commit at once
    finally:
        release.set()
        reader.join(BOUND)
    assert seen == [1, 1]


def test_reads_do_not_wait_for_a_write_in_progress(db: Database) -> None:
    answered = threading.Event()
    counts: list[int] = []

    def read() -> None:
        counts.append(_count(db))
        answered.set()

    with db.write() as conn:
        conn.execute("INSERT INTO t VALUES (2)")
        assert _count(db) == 2  # the writing thread sees its own uncommitted row
        reader = threading.Thread(target=read)
        reader.start()
        # answered while the write is still open, with what had committed before it
        assert answered.wait(BOUND), "a read waited for the write transaction"
        assert counts == [1]
    reader.join(BOUND)
    assert _count(db) == 2


def test_a_failed_read_leaves_the_pool_usable(db: Database) -> None:
    with pytest.raises(Exception, match="no such table"):
        db.query("SELECT * FROM missing")
    assert _count(db) == 1
    with db.read() as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1
