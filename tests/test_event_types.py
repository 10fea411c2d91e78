"""One typed model per event type, in one registry: a payload that does not fit its model fails
where it is emitted, and every event the code emits has a model whose JSON is the payload as
consumers have always read it."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenticmail import event_types
from agenticmail.event_types import REGISTRY, InvalidEventPayload, MessageFlags, payload
from agenticmail.services.context import Tx
from agenticmail.store import events as event_log
from agenticmail.store.db import Database
from agenticmail.store.migrations import migrate

PACKAGE = Path(__file__).resolve().parent.parent / "agenticmail"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "events.db")
    migrate(database)
    yield database
    database.close()


def test_a_payload_that_fits_is_recorded_as_json_in_field_order(db: Database) -> None:
    with db.write() as conn:
        tx = Tx(conn)
        tx.emit("message.flags", "alice",
                {"agent": "alice", "folder": "INBOX", "uid": 7, "flags": ["\\Seen"]})
        tx.emit("relay.disabled", None, {})
    stored = event_log.after(db, 0)
    assert [e.type for e in stored] == ["message.flags", "relay.disabled"]
    row = db.one("SELECT data FROM events WHERE type = 'message.flags'")
    assert row is not None
    assert row["data"] == json.dumps(
        {"agent": "alice", "folder": "INBOX", "uid": 7, "flags": ["\\Seen"]})


def test_the_model_itself_can_be_emitted(db: Database) -> None:
    with db.write() as conn:
        event = Tx(conn).emit("message.flags", "a", MessageFlags("a", "INBOX", 1, []))
    assert event.data == {"agent": "a", "folder": "INBOX", "uid": 1, "flags": []}


@pytest.mark.parametrize(("type_", "data", "problem"), [
    ("message.flags", {"agent": "a", "folder": "INBOX", "uid": 1}, "missing ['flags']"),
    ("message.flags", {"agent": "a", "folder": "INBOX", "uid": 1, "flags": [], "x": 1},
     "unknown ['x']"),
    ("message.flags", {"agent": "a", "folder": "INBOX", "uid": "1", "flags": []}, "uid="),
    ("message.flags", {"agent": "a", "folder": "INBOX", "uid": True, "flags": []}, "uid="),
    ("message.flags", {"agent": "a", "folder": "INBOX", "uid": 1, "flags": [1]}, "flags="),
    ("relay.configured", {"address": "a@x", "provider": "gmail", "idle": None}, "idle="),
    ("message.teleported", {}, "unknown event type"),
])
def test_a_payload_that_does_not_fit_fails_at_emit(db: Database, type_: str,
                                                    data: dict[str, object],
                                                    problem: str) -> None:
    with pytest.raises(InvalidEventPayload, match=problem.replace("[", r"\[")), db.write() as conn:
        Tx(conn).emit(type_, None, data)
    assert event_log.after(db, 0) == []  # nothing recorded: the transaction rolled back


def test_a_model_emitted_under_another_type_fails() -> None:
    with pytest.raises(InvalidEventPayload, match="emitted as"):
        payload("message.expunged", MessageFlags("a", "INBOX", 1, []))


def _emitted_types() -> set[str]:
    """The event type of every ``*.emit(TYPE, ...)`` call in the package (names resolved
    through the registry module's constants)."""
    names = {n: getattr(event_types, n) for n in event_types.__all__
             if isinstance(getattr(event_types, n), str)}
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "emit" and node.args):
                first = node.args[0]
                if isinstance(first, ast.Name) and first.id in names:
                    found.add(names[first.id])
                elif isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
                elif isinstance(first, ast.Attribute) and first.attr in names:
                    found.add(names[first.attr])
    return found


def test_every_emitted_event_type_has_a_model() -> None:
    emitted = _emitted_types()
    assert {"message.new", "message.sent", "relay.delivered", "agent.created"} <= emitted
    assert emitted <= set(REGISTRY)


def test_the_delayed_event_model_for_the_sender() -> None:
    data = {"id": "ob_1", "agent": "a", "message_id": "<m@x>", "subject": "s",
            "error": "421 busy", "attempts": 2, "retrying_until": "2026-01-01T00:00:00Z"}
    assert payload("message.delayed", data).to_dict() == data


def test_a_field_added_with_a_default_is_optional_and_checked() -> None:
    """``message.new`` gained ``rules`` (issue 12): a payload without it still fits (and
    reads ``[]``), one with it is checked like any field."""
    base = {"agent": "a", "folder": "INBOX", "uid": 1, "thread_id": None, "message": {}}
    assert payload("message.new", base).to_dict() == {**base, "rules": []}
    acted = [{"id": "ru_1", "name": "r", "actions": [{"type": "stop", "result": "done"}]}]
    assert payload("message.spam", {**base, "rules": acted}).to_dict()["rules"] == acted
    with pytest.raises(InvalidEventPayload, match="rules="):
        payload("message.new", {**base, "rules": "r"})
