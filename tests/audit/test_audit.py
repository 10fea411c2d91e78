"""The hash-chained audit log: append, tamper (as an attacker with SQLite access would), verify.

Store-level tests run on a temporary migrated database; the CLI tests run ``audit verify``
against a home created by the real ``run_setup``; the API tests serve the audit router with the
app's real authentication and error mapping in-process.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner, Result

from agenticmail.api import errors as api_errors
from agenticmail.api.routes import audit as audit_routes
from agenticmail.cli import audit as audit_cli
from agenticmail.cli import main as cli_main
from agenticmail.config import Settings, load_settings
from agenticmail.models import Role
from agenticmail.security.keys import generate_api_key, hash_key, key_prefix
from agenticmail.services import audit as audit_svc
from agenticmail.services.context import ServiceContext, Tx, build_context
from agenticmail.services.setup import run_setup
from agenticmail.store import agents as agent_store
from agenticmail.store import audit
from agenticmail.store.db import Database
from agenticmail.store.migrations import migrate
from agenticmail_testing.daemon import wait_until
from agenticmail_testing.ports import free_ports

N = 10


# -- helpers ---------------------------------------------------------------------------------
def add(db: Database, n: int, action: str = "mail.send", actor: str = "owner") -> list[Any]:
    out = []
    for i in range(n):
        with db.write() as conn:
            out.append(audit.append(conn, actor=actor, action=action, subject=f"<m{i}@x>",
                                    detail={"i": i, "to": [f"r{i}@example.com"]}))
    return out


def drop_triggers(db: Database) -> None:
    for name in audit.TRIGGERS:
        db.conn.execute(f"DROP TRIGGER {name}")


def restore_triggers(db: Database) -> None:
    for name in audit.TRIGGERS:
        verb = "UPDATE" if "update" in name else "DELETE"
        db.conn.execute(f"CREATE TRIGGER {name} BEFORE {verb} ON audit_log "
                        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def rehash(db: Database, row_id: int, prev_hash: str | None = None) -> str:
    """Recompute (and store) one row's hash the way an informed attacker would."""
    row = db.one("SELECT * FROM audit_log WHERE id = ?", (row_id,))
    assert row is not None
    prev = row["prev_hash"] if prev_hash is None else prev_hash
    digest = audit.entry_hash(row_id, row["at"], row["actor"], row["action"], row["subject"],
                              json.loads(row["detail"]), prev)
    db.conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?",
                    (prev, digest, row_id))
    return digest


def set_head(db: Database, head: audit.ChainHead) -> None:
    db.conn.execute("UPDATE config SET value = ? WHERE key = ?", (str(head), audit.HEAD_KEY))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "audit.db")
    migrate(database)
    yield database
    database.close()


@pytest.fixture
def filled(db: Database) -> Database:
    add(db, N)
    return db


# -- appending -------------------------------------------------------------------------------
def test_append_builds_a_contiguous_verifiable_chain(filled: Database) -> None:
    rows = filled.query("SELECT * FROM audit_log ORDER BY id")
    assert [r["id"] for r in rows] == list(range(1, N + 1))
    assert rows[0]["prev_hash"] == audit.GENESIS_HASH == "0" * 64
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["hash"]
    for r in rows:
        assert r["hash"] == audit.entry_hash(r["id"], r["at"], r["actor"], r["action"],
                                             r["subject"], json.loads(r["detail"]),
                                             r["prev_hash"])
    result = audit.verify(filled)
    assert result.ok, result.problems
    assert result.checked == N
    assert result.problems == []
    assert result.head == audit.head(filled) == audit.ChainHead(N, rows[-1]["hash"])


def test_empty_log_verifies(db: Database) -> None:
    result = audit.verify(db)
    assert (result.ok, result.checked, result.head) == (True, 0, None)


def test_the_id_is_part_of_the_hash() -> None:
    args = ("2024-01-01T00:00:00.000+00:00", "owner", "mail.send", "s", {"a": 1}, "0" * 64)
    assert audit.entry_hash(1, *args) != audit.entry_hash(2, *args)


def test_append_refuses_to_run_outside_a_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError, match="transaction"):
        audit.append(db.conn, actor="owner", action="mail.send", subject=None, detail={})
    assert audit.verify(db).checked == 0


def test_detail_that_json_cannot_hold_is_stored_as_text_and_still_verifies(
        db: Database) -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    with db.write() as conn:
        entry = audit.append(conn, actor="system", action="mail.hold", subject=None,
                             detail={"when": when, "path": Path("/x"), "ü": "ß"})
    assert entry.detail == {"when": str(when), "path": "/x", "ü": "ß"}
    assert audit.list_entries(db, limit=1)[0] == entry
    assert audit.verify(db).ok


def test_a_non_text_subject_is_hashed_as_stored(db: Database) -> None:
    with db.write() as conn:
        entry = audit_svc.record(Tx(conn), "owner", audit_svc.APPROVE, 42, {"outbox_id": 7})
    assert entry.subject == "42"
    assert audit.list_entries(db)[0] == entry
    assert audit.verify(db).ok


def test_a_qualified_actor_is_stored_as_the_base_actor_with_via(db: Database) -> None:
    with db.write() as conn:
        entry = audit_svc.record(Tx(conn), "owner (email reply)", "approve", "p1", {"x": 1})
    assert (entry.actor, entry.detail) == ("owner", {"x": 1, "via": "email reply"})
    assert [e.id for e in audit.list_entries(db, actor="owner")] == [entry.id]
    assert audit.verify(db).ok


def test_a_rolled_back_transaction_leaves_neither_row_nor_head(filled: Database) -> None:
    before = audit.head(filled)
    with pytest.raises(ZeroDivisionError), filled.write() as conn:
        audit_svc.record(Tx(conn), "agent:ann", audit_svc.SEND, "s", {"x": 1})
        _ = 1 / 0
    assert audit.head(filled) == before
    assert audit.verify(filled).checked == N


# -- the triggers ----------------------------------------------------------------------------
@pytest.mark.parametrize("sql", ["UPDATE audit_log SET actor = 'system' WHERE id = 3",
                                 "DELETE FROM audit_log WHERE id = 3",
                                 "DELETE FROM audit_log"])
def test_triggers_refuse_update_and_delete(filled: Database, sql: str) -> None:
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        filled.conn.execute(sql)
    assert audit.verify(filled).ok


# -- tampering -------------------------------------------------------------------------------
@pytest.mark.parametrize("restore", [False, True], ids=["triggers-dropped", "triggers-restored"])
@pytest.mark.parametrize("column,value", [
    ("detail", '{"i":4,"to":["attacker@evil.example"]}'),
    ("actor", "system"),
    ("action", "mail.reject"),
    ("subject", None),
    ("at", "2020-01-01T00:00:00.000+00:00"),
    ("detail", "{not json"),
])
def test_an_edited_row_is_named(filled: Database, column: str, value: Any,
                                restore: bool) -> None:
    drop_triggers(filled)
    filled.conn.execute(f"UPDATE audit_log SET {column} = ? WHERE id = 5", (value,))
    if restore:
        restore_triggers(filled)
    result = audit.verify(filled)
    assert not result.ok
    assert result.problems[0].startswith("row 5: edited")
    assert len([p for p in result.problems if p.startswith("row")]) == 1
    assert any("trigger" in p for p in result.problems) is not restore


def test_a_deleted_middle_row_is_named(filled: Database) -> None:
    drop_triggers(filled)
    filled.conn.execute("DELETE FROM audit_log WHERE id = 4")
    result = audit.verify(filled)
    assert not result.ok
    assert result.problems[0] == "row 4 deleted (ids jump from 3 to 5)"
    assert result.checked == N - 1


def test_several_deleted_rows_are_named_as_a_range(filled: Database) -> None:
    drop_triggers(filled)
    filled.conn.execute("DELETE FROM audit_log WHERE id BETWEEN 1 AND 3")
    assert audit.verify(filled).problems[0] == "rows 1-3 deleted (ids jump from 0 to 4)"


def test_a_deleted_last_row_is_caught_by_the_head(filled: Database) -> None:
    drop_triggers(filled)
    filled.conn.execute("DELETE FROM audit_log WHERE id = ?", (N,))
    result = audit.verify(filled)
    assert not result.ok
    assert result.problems[0] == (
        f"row {N} deleted from the end (the chain head records row {N})")


def test_every_row_deleted_is_caught_by_the_head(filled: Database) -> None:
    drop_triggers(filled)
    filled.conn.execute("DELETE FROM audit_log")
    result = audit.verify(filled)
    assert not result.ok
    assert result.problems[0] == f"rows 1-{N} deleted from the end (the chain head records row {N})"


def test_appending_after_a_deleted_tail_keeps_the_gap_visible(filled: Database) -> None:
    drop_triggers(filled)
    filled.conn.execute("DELETE FROM audit_log WHERE id = ?", (N,))
    restore_triggers(filled)
    (entry,) = add(filled, 1)
    assert entry.id == N + 1
    result = audit.verify(filled)
    assert not result.ok
    assert result.problems[0] == f"row {N} deleted (ids jump from {N - 1} to {N + 1})"


def test_swapped_rows_are_caught(filled: Database) -> None:
    drop_triggers(filled)
    filled.conn.execute("UPDATE audit_log SET id = -1 WHERE id = 3")
    filled.conn.execute("UPDATE audit_log SET id = 3 WHERE id = 4")
    filled.conn.execute("UPDATE audit_log SET id = 4 WHERE id = -1")
    result = audit.verify(filled)
    assert not result.ok
    assert result.problems[0].startswith("row 3: edited or moved")


def test_an_edited_and_rehashed_row_breaks_the_link_to_the_next(filled: Database) -> None:
    drop_triggers(filled)
    filled.conn.execute("UPDATE audit_log SET actor = 'system' WHERE id = 5")
    rehash(filled, 5)
    result = audit.verify(filled)
    assert not result.ok
    assert result.problems[0].startswith("row 6: chain broken (its prev_hash is not the hash "
                                         "of row 5")


def test_a_replaced_first_row_is_caught(filled: Database) -> None:
    drop_triggers(filled)
    rehash(filled, 1, prev_hash="f" * 64)
    assert audit.verify(filled).problems[0].startswith(
        "row 1: chain broken (its prev_hash is not the genesis value")


def test_a_rehashed_last_row_is_caught_by_the_head(filled: Database) -> None:
    drop_triggers(filled)
    filled.conn.execute("UPDATE audit_log SET detail = '{}' WHERE id = ?", (N,))
    rehash(filled, N)
    result = audit.verify(filled)
    assert not result.ok
    assert result.problems[0].startswith(f"head mismatch: row {N} is not the row")


def test_a_forged_row_inserted_behind_the_heads_back_is_caught(filled: Database) -> None:
    last = audit.head(filled)
    assert last is not None
    at = "2030-01-01T00:00:00.000+00:00"
    digest = audit.entry_hash(N + 1, at, "owner", "mail.approve", None, {}, last.hash)
    filled.conn.execute("INSERT INTO audit_log VALUES (?, ?, 'owner', 'mail.approve', NULL, "
                        "'{}', ?, ?)", (N + 1, at, last.hash, digest))
    result = audit.verify(filled)
    assert not result.ok
    assert result.problems[0].startswith(f"head mismatch: rows {N + 1}-{N + 1} were added")


def test_a_missing_head_is_reported(filled: Database) -> None:
    filled.conn.execute("DELETE FROM config WHERE key = ?", (audit.HEAD_KEY,))
    assert audit.verify(filled).problems == [
        f"chain head missing (the log has {N} rows but no '{audit.HEAD_KEY}' record)"]


def test_a_dropped_table_is_reported(filled: Database) -> None:
    filled.conn.execute("DROP TABLE audit_log")
    result = audit.verify(filled)
    assert (result.ok, result.problems) == (
        False, ["the audit_log table is missing (it was dropped)"])


def test_a_wholesale_rewrite_passes_alone_but_an_anchor_catches_it(filled: Database) -> None:
    anchor = audit.verify(filled).head
    assert anchor is not None
    # The attacker deletes the tail and fixes the head: the chain itself is consistent again.
    drop_triggers(filled)
    filled.conn.execute("DELETE FROM audit_log WHERE id >= 8")
    restore_triggers(filled)
    row = filled.one("SELECT hash FROM audit_log WHERE id = 7")
    assert row is not None
    set_head(filled, audit.ChainHead(7, row["hash"]))
    assert audit.verify(filled).ok  # the documented limit of an unkeyed chain
    result = audit.verify(filled, [anchor])
    assert not result.ok
    assert result.problems == [f"anchor row {N} deleted (it is no longer in the log)"]


def test_an_anchor_catches_a_rewritten_row(filled: Database) -> None:
    anchor = audit.ChainHead(3, audit.list_entries(filled, limit=1, offset=N - 3)[0].hash)
    assert audit.verify(filled, [anchor]).ok
    drop_triggers(filled)
    filled.conn.execute("UPDATE audit_log SET actor = 'system' WHERE id = 3")
    prev = rehash(filled, 3)
    for row_id in range(4, N + 1):
        prev = rehash(filled, row_id, prev)
    set_head(filled, audit.ChainHead(N, prev))
    restore_triggers(filled)
    assert audit.verify(filled).ok
    assert audit.verify(filled, [anchor]).problems == [
        "anchor row 3: its hash changed since it was noted (the chain was rewritten)"]


def test_chain_head_parsing() -> None:
    head = audit.ChainHead(12, "ab" * 32)
    assert audit.ChainHead.parse(str(head)) == head
    assert audit.ChainHead.parse(f"12:{'AB' * 32}") == head
    for bad in ("12", "x:" + "a" * 64, "3:" + "a" * 63, "3:" + "g" * 64):
        with pytest.raises(ValueError):
            audit.ChainHead.parse(bad)


def test_verify_reads_one_snapshot_while_another_connection_appends(
        filled: Database, tmp_path: Path) -> None:
    reader = Database(tmp_path / "audit.db")  # a second connection, like the CLI's
    stop = threading.Event()
    failures: list[list[str]] = []

    def check() -> None:
        while not stop.is_set():
            result = audit.verify(reader)
            if not result.ok:
                failures.append(result.problems)

    thread = threading.Thread(target=check)
    thread.start()
    try:
        add(filled, 300)
    finally:
        stop.set()
        thread.join()
        reader.close()
    assert failures == []
    assert audit.verify(filled).checked == N + 300


# -- listing ---------------------------------------------------------------------------------
def test_list_entries_newest_first_with_filters(db: Database) -> None:
    add(db, 3, action="mail.send", actor="agent:ann")
    add(db, 2, action="mail.hold", actor="system")
    add(db, 1, action="mail.approve", actor="owner")
    assert [e.id for e in audit.list_entries(db)] == [6, 5, 4, 3, 2, 1]
    assert [e.id for e in audit.list_entries(db, limit=2, offset=1)] == [5, 4]
    assert [e.id for e in audit.list_entries(db, action="mail.hold")] == [5, 4]
    assert [e.id for e in audit.list_entries(db, actor="agent:ann")] == [3, 2, 1]
    assert audit.list_entries(db, action="mail.hold", actor="owner") == []
    assert audit.count(db, action="mail.send") == 3
    entry = audit.list_entries(db, limit=1)[0]
    assert entry.to_dict()["detail"] == {"i": 0, "to": ["r0@example.com"]}


# -- the service -----------------------------------------------------------------------------
@pytest.mark.parametrize("actor,action", [("root", "mail.send"), ("agent:", "mail.send"),
                                          ("agent:a b", "mail.send"), ("owner", "Mail.Send"),
                                          ("owner (a) (b)", "mail.send"), ("owner ()", "x"),
                                          ("owner", ""), ("owner", "mail..send")])
def test_record_rejects_bad_actors_and_actions(db: Database, actor: str, action: str) -> None:
    with pytest.raises(ValueError), db.write() as conn:
        audit_svc.record(Tx(conn), actor, action)
    assert audit.verify(db).checked == 0


# -- the CLI ---------------------------------------------------------------------------------
def cli_root() -> typer.Typer:
    """The real root (callback, ``--home``, error mapping) with the audit group mounted."""
    root = typer.Typer(cls=cli_main.AgenticMailGroup)
    root.callback()(cli_main.main)
    root.add_typer(audit_cli.app, name="audit")
    return root


def run_cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli_root(), ["--home", str(home), "audit", *args],
                              env={"COLUMNS": "200"})


@pytest.fixture
def setup_home(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    env = {"AGENTICMAIL_HOME": str(home)}
    api, imap, lmtp, submission = free_ports(4)
    base = load_settings(home, env=env, api_port=api, imap_port=imap, lmtp_port=lmtp,
                         submission_port=submission)
    run_setup(base, api_port=base.api_port)
    settings = load_settings(home, env=env)
    db = Database(settings.db_path)
    try:
        add(db, N)
    finally:
        db.close()
    return settings


def tamper(settings: Settings, sql: str) -> None:
    db = Database(settings.db_path)
    try:
        drop_triggers(db)
        db.conn.execute(sql)
    finally:
        db.close()


def test_cli_verify_intact(setup_home: Settings) -> None:
    result = run_cli(setup_home.home, "verify")
    assert result.exit_code == 0, result.output
    assert f"audit log intact: {N} entries checked; head {N}:" in result.stdout
    data = json.loads(run_cli(setup_home.home, "verify", "--json").stdout)
    assert data["ok"] is True and data["checked"] == N and data["problems"] == []
    anchor = f"{data['head']['id']}:{data['head']['hash']}"
    assert run_cli(setup_home.home, "verify", "--anchor", anchor).exit_code == 0


@pytest.mark.parametrize("sql,reason", [
    ("UPDATE audit_log SET detail = '{}' WHERE id = 5", "row 5: edited"),
    ("DELETE FROM audit_log WHERE id = 5", "row 5 deleted"),
    (f"DELETE FROM audit_log WHERE id = {N}", f"row {N} deleted from the end"),
])
def test_cli_verify_broken_exits_1_with_the_reason(setup_home: Settings, sql: str,
                                                   reason: str) -> None:
    tamper(setup_home, sql)
    result = run_cli(setup_home.home, "verify")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"audit log broken: {reason}"), lines
    as_json = run_cli(setup_home.home, "verify", "--json")
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert data["ok"] is False and data["problems"][0].startswith(reason)


def test_cli_verify_with_a_stale_anchor_exits_1(setup_home: Settings) -> None:
    result = run_cli(setup_home.home, "verify", "--anchor", f"{N + 5}:{'a' * 64}")
    assert result.exit_code == 1
    assert f"anchor row {N + 5} deleted" in result.stderr


def test_cli_verify_rejects_a_malformed_anchor(setup_home: Settings) -> None:
    result = run_cli(setup_home.home, "verify", "--anchor", "nonsense")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: not a chain head")


def test_cli_verify_without_a_database(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "nowhere", "verify")
    assert result.exit_code == 1
    assert "error: no agenticmail database" in result.stderr
    assert not (tmp_path / "nowhere" / "agenticmail.db").exists()


def test_cli_list_without_a_daemon_exits_2(setup_home: Settings) -> None:
    result = run_cli(setup_home.home, "list")
    assert result.exit_code == 2
    assert "daemon is not running" in result.stderr


# -- the API ---------------------------------------------------------------------------------
@pytest.fixture
def api(setup_home: Settings) -> Iterator[tuple[httpx.Client, ServiceContext]]:
    """The audit router (with the app's real auth and error mapping, nothing else) served by
    uvicorn on a real socket at ``setup_home``'s API port, and an HTTP client for it."""
    ctx = build_context(setup_home)
    app = FastAPI()
    app.state.ctx = ctx
    api_errors.install(app)
    app.include_router(audit_routes.router)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=setup_home.api_port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), timeout=20,
               what="the audit API to listen")
    assert server.started, "server did not start"
    with httpx.Client(base_url=f"http://127.0.0.1:{setup_home.api_port}", timeout=30) as client:
        yield client, ctx
    server.should_exit = True
    thread.join(20)
    ctx.db.close()


def agent_key(ctx: ServiceContext) -> str:
    key = generate_api_key()
    with ctx.db.write() as conn:
        agent_id = agent_store.insert_agent(conn, name="ann", address="ann@localhost",
                                            role=Role.ASSISTANT, display_name="Ann",
                                            metadata={}, password_enc="x")
        agent_store.insert_key(conn, kind="agent", agent_id=agent_id, key_hash=hash_key(key),
                               prefix=key_prefix(key))
    return key


def test_api_list_and_verify(api: tuple[httpx.Client, ServiceContext],
                             setup_home: Settings) -> None:
    client, ctx = api
    owner = {"Authorization": f"Bearer {setup_home.master_key}"}
    add(ctx.db, 2, action="mail.hold", actor="system")
    page = client.get("/v1/audit", params={"limit": 3, "offset": 1}, headers=owner).json()
    # the request itself is audited first (master key on an owner-only route): id N + 3
    assert [e["id"] for e in page["entries"]] == [N + 2, N + 1, N]
    assert (page["total"], page["limit"], page["offset"]) == (N + 3, 3, 1)
    newest = client.get("/v1/audit", params={"limit": 1}, headers=owner).json()["entries"][0]
    assert (newest["action"], newest["subject"]) == ("key.master", "GET /v1/audit")
    held = client.get("/v1/audit", params={"action": "mail.hold"}, headers=owner).json()
    assert [e["id"] for e in held["entries"]] == [N + 2, N + 1] and held["total"] == 2
    assert client.get("/v1/audit", params={"limit": 0}, headers=owner).status_code == 400

    report = client.get("/v1/audit/verify", headers=owner).json()
    assert report["ok"] is True and report["checked"] == report["head"]["id"] > N + 2
    anchor = f"{report['head']['id']}:{report['head']['hash']}"
    assert client.get("/v1/audit/verify", params={"anchor": anchor},
                      headers=owner).json()["ok"] is True
    bad = client.get("/v1/audit/verify", params={"anchor": "x"}, headers=owner)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"

    drop_triggers(ctx.db)
    ctx.db.conn.execute("DELETE FROM audit_log WHERE id = 3")
    report = client.get("/v1/audit/verify", headers=owner).json()
    assert report["ok"] is False and report["problems"][0].startswith("row 3 deleted")


def test_api_is_master_key_only(api: tuple[httpx.Client, ServiceContext]) -> None:
    client, ctx = api
    agent = {"Authorization": f"Bearer {agent_key(ctx)}"}
    for path in ("/v1/audit", "/v1/audit/verify"):
        assert client.get(path).status_code == 401
        denied = client.get(path, headers=agent)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"


def test_record_key_use_and_actor_of(api: tuple[httpx.Client, ServiceContext]) -> None:
    _, ctx = api
    entry = audit_svc.record_key_use(ctx, "delete", "/v1/agents/ann")
    assert (entry.actor, entry.action, entry.subject) == ("owner", "key.master",
                                                          "DELETE /v1/agents/ann")
    from agenticmail.services.auth import authenticate

    assert audit_svc.actor_of(authenticate(ctx, agent_key(ctx))) == "agent:ann"
    assert audit_svc.verify(ctx).ok


def test_cli_help_says_what_it_does(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "verify", "--help")
    assert result.exit_code == 0
    assert "no daemon needed" in " ".join(result.stdout.split())


@pytest.fixture
def served(api: tuple[httpx.Client, ServiceContext], setup_home: Settings) -> Settings:
    """The audit router on a real socket at ``setup_home``'s API port (for ``audit list``)."""
    return setup_home


def test_cli_list_through_the_api(served: Settings) -> None:
    result = run_cli(served.home, "list", "--limit", "2", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # newest first: this very request (master key use), then the last entry added
    assert [e["action"] for e in data["entries"]] == ["key.master", "mail.send"]
    assert data["entries"][1]["id"] == N and data["total"] == N + 1
    table = run_cli(served.home, "list", "--action", "mail.send", "--limit", "3")
    assert table.exit_code == 0, table.output
    assert "r9@example.com" in table.stdout and f"1-3 of {N}" in table.stdout
    none = run_cli(served.home, "list", "--action", "mail.reject")
    assert none.exit_code == 0 and "No audit entries match." in none.stdout
