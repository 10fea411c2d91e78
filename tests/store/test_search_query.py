"""The search box's language: user text never reaches FTS5 as syntax. Any string, run
through the parser and the index's real query on a real SQLite database, answers without an
FTS5 error; field filters land where they should."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agenticmail.errors import InvalidRequest
from agenticmail.store import search as store
from agenticmail.store.db import Database
from agenticmail.store.migrations import migrate
from agenticmail.store.search_query import parse, quote


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(Path(tmp_path_factory.mktemp("search")) / "search.db")
    migrate(database)
    with database.write() as conn:
        conn.execute("INSERT INTO agents (id, name, address, role, display_name, "
                     "mail_password_enc, created_at) VALUES (1, 'a', 'a@x.test', 'r', 'A', "
                     "'x', 'now')")
        for uid, (subject, body, flags) in enumerate([
                ("Quarterly report", "numbers AND more numbers", ("\\Seen",)),
                ('He said "hi"', "NEAR(a b) col:x ^start", ("urgent",)),
                ("Réunion", "café crème", ())], start=1):
            store.put(conn, store.Doc(1, "INBOX", 1, uid, f"<{uid}@x>", "bob@example.org",
                                      ("a@x.test",), subject, None, 1000.0 + uid, flags, 10,
                                      body, ()))
    yield database
    database.close()


def _total(db: Database, query: str) -> int:
    """Matches of ``query``, the same with and without the agent's scope token in FTS5."""
    totals = {store.fulltext(db, 1, parse(query), order="rank", limit=10, offset=0,
                             scoped=scoped)[0] for scoped in (True, False)}
    assert len(totals) == 1, (query, totals)
    return totals.pop()


SYNTAX = '"*():^+-{},.\'\\\x00\x1f'


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*SYNTAX, "a", "b", " ", "AND", "OR", "NOT", "NEAR", "from:",
                                  "is:", "tag:", "subject:", "é"]), max_size=30).map("".join))
def test_any_query_of_fts5_syntax_runs(db: Database, query: str) -> None:
    _total(db, query)  # no sqlite3.OperationalError, whatever the text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_runs(db: Database, query: str) -> None:
    try:
        _total(db, query)
    except InvalidRequest as exc:  # only a bad date is refused, with a clear message
        assert "date" in exc.message


def test_every_syntax_character_alone(db: Database) -> None:
    for char in SYNTAX:
        assert _total(db, char) == (0 if char.isprintable() else 3)  # control chars: blank
        assert _total(db, f"{char}quarterly{char}") <= 3


def test_words_filters_and_operators_are_text(db: Database) -> None:
    assert _total(db, "quarterly") == 1
    assert _total(db, "quart*") == 1
    assert _total(db, '"numbers and more"') == 1  # AND inside a phrase is a word
    assert _total(db, "NEAR(a") == 1  # the text of message 2, not an operator
    assert _total(db, '"hi') == 1  # an odd quote
    assert _total(db, "cafe") == 1  # diacritics folded
    assert _total(db, "is:unread") == 2
    assert _total(db, "is:read") == 1
    assert _total(db, "tag:URGENT") == 1  # IMAP keywords are case-insensitive
    assert _total(db, "-tag:urgent") == 2
    assert _total(db, "from:bob@example.org") == 3
    assert _total(db, "subject:numbers") == 0
    assert _total(db, "more:numbers") == 1  # an unknown key is plain text (a phrase)
    assert quote("(") is None and quote('a"b') == '"a""b"'
    with pytest.raises(InvalidRequest, match="date"):
        parse("before:someday")
    with pytest.raises(InvalidRequest):
        parse("x" * 1001)


def test_a_deleted_agent_leaves_no_text_behind(tmp_path: Path) -> None:
    database = Database(tmp_path / "gone.db")
    migrate(database)
    with database.write() as conn:
        conn.execute("INSERT INTO agents (id, name, address, role, display_name, "
                     "mail_password_enc, created_at) VALUES (7, 'g', 'g@x.test', 'r', 'G', "
                     "'x', 'now')")
        store.put(conn, store.Doc(7, "INBOX", 1, 1, None, "x@y", (), "s", None, 1.0, (), 1,
                                  "body", ()))
        conn.execute("DELETE FROM agents WHERE id = 7")
    assert database.one("SELECT count(*) AS n FROM search_fts")["n"] == 0
    database.close()
