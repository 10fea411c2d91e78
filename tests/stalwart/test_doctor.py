"""Consistency between mail host and database, for both hosts: create undoes the account when
the row fails; doctor finds drift (orphan mailbox, missing mailbox, stale password) and
repairs it; ``agenticmail doctor`` reports the stalwart host's checks and failures."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agenticmail.cli.main import app
from agenticmail.config import Settings, load_settings, save_settings
from agenticmail.errors import Conflict
from agenticmail.hosts.base import MailHost
from agenticmail.services import setup as setup_svc
from agenticmail.services.agents import create_agent, list_agents
from agenticmail.services.context import ServiceContext, build_context
from agenticmail.services.doctor import find_drift, repair
from agenticmail_testing.dovecot import dovecot_available, make_local_host
from agenticmail_testing.ports import free_ports
from agenticmail_testing.terminal import spawn_cli

from .conftest import MakeHost
from .fake_docker import FakeDockerServer

PW = "Xq3-very-long-random-pass-9z"


def _context(tmp_path: Path, host: MailHost, domain: str) -> ServiceContext:
    settings = load_settings(tmp_path / "home", env={}, domain=domain)
    settings.home.mkdir(parents=True, exist_ok=True)
    return build_context(settings, host=host)


def _drift_cycle(ctx: ServiceContext, domain: str) -> None:
    """Make each kind of drift, find it, repair it, find nothing."""
    a = create_agent(ctx, "alpha")
    create_agent(ctx, "beta")
    assert find_drift(ctx) == []
    ctx.host.create_account(f"stray@{domain}", PW)            # a mailbox without an agent
    ctx.host.delete_account(f"beta@{domain}")                 # an agent without a mailbox
    ctx.host.change_password(a.agent.address, PW + "-other")  # a password that no longer works
    found = find_drift(ctx)
    assert sorted((d.kind, d.address) for d in found) == [
        ("missing_account", f"beta@{domain}"), ("orphan_account", f"stray@{domain}"),
        ("wrong_password", f"alpha@{domain}")]
    for item in found:
        repair(ctx, item)
    assert find_drift(ctx) == []
    assert not ctx.host.account_exists(f"stray@{domain}")
    assert ctx.host.account_exists(f"beta@{domain}")


def _undo_cycle(ctx: ServiceContext, domain: str) -> None:
    with ctx.db.write() as conn:
        conn.execute("CREATE TRIGGER no_agents BEFORE INSERT ON agents "
                     "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(sqlite3.DatabaseError, match="disk full"):
        create_agent(ctx, "gamma")
    assert not ctx.host.account_exists(f"gamma@{domain}")  # the account was undone
    with ctx.db.write() as conn:
        conn.execute("DROP TRIGGER no_agents")
    ctx.host.create_account(f"delta@{domain}", PW)
    with pytest.raises(Conflict):  # the host refuses: no row is written
        create_agent(ctx, "delta")
    assert [a.name for a in list_agents(ctx)] == []
    ctx.host.delete_account(f"delta@{domain}")


def test_stalwart_create_undo_and_drift(tmp_path: Path, make_host: MakeHost) -> None:
    host = make_host()
    host.start()
    ctx = _context(tmp_path, host, "agents.test")
    try:
        _undo_cycle(ctx, "agents.test")
        _drift_cycle(ctx, "agents.test")
    finally:
        ctx.db.close()


@pytest.mark.skipif(not dovecot_available(), reason="needs Dovecot")
def test_local_create_undo_and_drift(tmp_path: Path) -> None:
    host = make_local_host(tmp_path, domain="example.test")
    host.start()
    ctx = _context(tmp_path, host, "example.test")
    try:
        _undo_cycle(ctx, "example.test")
        _drift_cycle(ctx, "example.test")
    finally:
        ctx.db.close()
        host.purge()


# -- the doctor command on a stalwart install (no daemon needed) ----------------------------

@pytest.fixture
def stalwart_home(tmp_path: Path, docker_server: FakeDockerServer) -> Iterator[Settings]:
    ports = free_ports(7)
    base = load_settings(tmp_path / "home", env={}, mail_host="stalwart", domain="agents.test",
                         api_port=ports[0], imap_port=ports[1], lmtp_port=ports[2],
                         submission_port=ports[3], stalwart_http_port=ports[4],
                         stalwart_smtp_port=ports[5], stalwart_submission_port=ports[6],
                         docker_host=docker_server.url)
    settings = setup_svc.run_setup(base).settings
    setup_svc.start_mail_host(settings)
    ctx = build_context(settings)
    create_agent(ctx, "secretary")
    ctx.db.close()
    yield settings


def _doctor(settings: Settings, *args: str) -> tuple[int, dict[str, object], str]:
    result = CliRunner().invoke(app, ["--home", str(settings.home), "doctor", *args, "--json"],
                                env={"COLUMNS": "200"})
    data = json.loads(result.stdout)
    return result.exit_code, data, result.stderr


def _by_name(data: dict[str, object]) -> dict[str, dict[str, object]]:
    return {str(c["name"]): c for c in data["checks"]}  # type: ignore[attr-defined]


def test_doctor_healthy_stalwart_and_repair(stalwart_home: Settings) -> None:
    code, data, _ = _doctor(stalwart_home)
    checks = _by_name(data)
    assert not checks["daemon"]["ok"]  # not started in this test
    for name in ("config", "docker", "stalwart container", "stalwart version",
                 "stalwart health", "stalwart admin login", "dkim", "agent secretary"):
        assert checks[name]["ok"], (name, checks[name])
    assert checks["stalwart version"]["detail"] == "stalwartlabs/stalwart:v0.16.18"

    ctx = build_context(stalwart_home)
    ctx.host.create_account("stray@agents.test", PW)
    ctx.host.change_password("secretary@agents.test", PW)
    ctx.db.close()
    code, data, _ = _doctor(stalwart_home)
    checks = _by_name(data)
    assert code == 1 and not checks["agent secretary"]["ok"]
    assert "no longer logs in" in str(checks["agent secretary"]["detail"])
    assert not checks["mailbox stray@agents.test"]["ok"]
    assert checks["mailbox stray@agents.test"]["hint"] == "repair it: agenticmail doctor --repair"
    assert len(data["drift"]) == 2  # type: ignore[arg-type]

    code, data, _ = _doctor(stalwart_home, "--repair")
    checks = _by_name(data)
    assert len(data["repaired"]) == 2 and data["drift"] == []  # type: ignore[arg-type]
    assert checks["agent secretary"]["ok"] and "mailbox stray@agents.test" not in checks


def test_doctor_reports_each_stalwart_failure(stalwart_home: Settings,
                                              docker_server: FakeDockerServer) -> None:
    engine = docker_server.engine
    container = engine.find("agenticmail-stalwart")
    assert container is not None and container.fake is not None

    container.fake.ready = False
    checks = _by_name(_doctor(stalwart_home)[1])
    assert not checks["stalwart health"]["ok"] and "not ready" in str(
        checks["stalwart health"]["detail"])
    container.fake.ready = True

    state = json.loads((stalwart_home.stalwart_dir / "state.json").read_text())
    from agenticmail.store.secret_key import load_or_create

    box = load_or_create(stalwart_home.secret_key_path)
    (stalwart_home.stalwart_dir / "state.json").write_text(
        json.dumps({**state, "admin_secret": box.encrypt("not-the-password")}))
    checks = _by_name(_doctor(stalwart_home)[1])
    assert not checks["stalwart admin login"]["ok"]
    assert "refused the admin login for admin@agents.test" in str(
        checks["stalwart admin login"]["detail"])
    (stalwart_home.stalwart_dir / "state.json").write_text(json.dumps(state))

    registry = container.fake.registry
    with registry.lock:
        registry.objects["DkimSignature"].clear()
    checks = _by_name(_doctor(stalwart_home)[1])
    assert not checks["dkim"]["ok"] and "no DKIM key" in str(checks["dkim"]["detail"])

    container.body["Image"] = "stalwartlabs/stalwart:v0.16.10"
    checks = _by_name(_doctor(stalwart_home)[1])
    assert not checks["stalwart version"]["ok"]
    assert "replaces the container" in str(checks["stalwart version"]["hint"])

    engine.stop(container)
    checks = _by_name(_doctor(stalwart_home)[1])
    assert not checks["stalwart container"]["ok"] and "exited" in str(
        checks["stalwart container"]["detail"])

    del engine.containers[container.id]
    checks = _by_name(_doctor(stalwart_home)[1])
    assert "there is no container" in str(checks["stalwart container"]["detail"])

    save_settings(replace(stalwart_home, docker_host="unix:///nonexistent/docker.sock"))
    code, data, _ = _doctor(stalwart_home)
    checks = _by_name(data)
    assert code == 1 and not checks["docker"]["ok"]
    assert "local mail host" in str(checks["docker"]["hint"])


def test_doctor_offers_the_repair_in_a_terminal(stalwart_home: Settings) -> None:
    pexpect = pytest.importorskip("pexpect")
    ctx = build_context(stalwart_home)
    ctx.host.create_account("stray@agents.test", PW)
    ctx.db.close()
    env = {**os.environ, "TERM": "dumb", "NO_COLOR": "1"}
    child = spawn_cli(["--home", str(stalwart_home.home), "doctor"], env, rows=24,
                      columns=120)
    try:
        child.expect(r"the mailbox stray@agents.test belongs to no agent: will delete\s+the"
                     r"\s+mailbox\s+stray@agents.test\s+and its mail")
        child.expect(r"Repair 1 problem\(s\)\? \[y/n\] \(n\)")
        child.sendline("y")
        child.expect("repaired: delete the mailbox stray@agents.test")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    ctx = build_context(stalwart_home)
    try:
        assert not ctx.host.account_exists("stray@agents.test")
    finally:
        ctx.db.close()


def test_stalwart_delete_agent_and_rollback(tmp_path: Path, make_host: MakeHost,
                                            docker_server: FakeDockerServer) -> None:
    from agenticmail.errors import MailHostError
    from agenticmail.services.agents import delete_agent

    from .fake_registry import JmapFail

    host = make_host()
    host.start()
    ctx = _context(tmp_path, host, "agents.test")
    try:
        create_agent(ctx, "keeper")
        create_agent(ctx, "leaver")
        create_agent(ctx, "stuck")
        result = delete_agent(ctx, "leaver")
        assert Path(result["archive"]).exists()
        assert not host.account_exists("leaver@agents.test")
        assert [a.name for a in list_agents(ctx)] == ["keeper", "stuck"]

        container = docker_server.engine.find("agenticmail-stalwart")
        assert container is not None and container.fake is not None
        registry = container.fake.registry

        def refuse(kind: str, oid: str) -> None:
            raise JmapFail({"type": "forbidden", "description": "read-only mode"})

        registry._destroy = refuse  # type: ignore[method-assign]
        with pytest.raises(MailHostError, match="read-only mode"):
            delete_agent(ctx, "stuck")
        assert [a.name for a in list_agents(ctx)] == ["keeper", "stuck"]  # the row is back
        assert host.account_exists("stuck@agents.test")
        assert not list(ctx.settings.deletions_dir.glob("stuck-*"))  # no archive left
    finally:
        ctx.db.close()
