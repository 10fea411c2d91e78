"""The daemon's components under one supervisor (issue 16 item 1, issue 17 item 2).

Each component is made to crash through the supervisor's documented fault seam
(``Supervisor.inject_fault``, which raises inside the component's own scope): it is logged
with its traceback, restarted with growing delays, shown as failing in ``/v1/health`` (with
the master key) and ``agenticmail status`` meanwhile, and a shutdown afterwards still leaves
no Dovecot and no pid file. The mail host is also killed for real while its restart fails
with an ``OSError`` (its directory made immutable), and SIGTERM arrives during startup.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from agenticmail.cli.main import app
from agenticmail.daemon.supervisor import RUNNING
from agenticmail.hosts import build_host
from agenticmail_testing.daemon import DaemonHandle, purge_mail_store, wait_until
from agenticmail_testing.dovecot import dovecot_pids as _dovecot_pids
from agenticmail_testing.sse import EventStream

COMPONENTS = ["mail-host", "maintenance", "watchers", "indexer", "submission", "sender", "relay",
              "webhooks",
              "api"]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _assert_cleaned_up(handle: DaemonHandle, config: Path) -> None:
    assert not handle.settings.pid_path.exists()
    assert _dovecot_pids(config) == []
    assert not _listening(handle.settings.imap_port)


def _health(handle: DaemonHandle) -> dict[str, Any] | None:
    try:
        with handle.client() as c:
            data: dict[str, Any] = c.get("/v1/health").json()
            return data
    except httpx.HTTPError:
        return None  # the API itself is restarting


def _status_cli(handle: DaemonHandle) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["--home", str(handle.home), "status", "--json"],
                                env={"AGENTICMAIL_HOME": str(handle.home),
                                     "AGENTICMAIL_MASTER_KEY": handle.master_key})
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def handle() -> Any:
    handle = DaemonHandle()
    yield handle
    handle.close()


def test_every_component_crash_is_logged_restarted_with_backoff_and_shown(
        handle: DaemonHandle, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="agenticmail.daemon.supervisor")
    handle.start(restart_backoff=0.05, max_restart_backoff=0.4)
    daemon = handle.daemon
    assert daemon is not None
    config = build_host(handle.settings).config_path  # type: ignore[attr-defined]
    handle.create_agent("crashy")
    for name in COMPONENTS:
        caplog.clear()
        # crashes now, and its restarts keep failing until the fault is cleared
        daemon.supervisor.inject_fault(name, RuntimeError(f"injected into {name}"),
                                       starts=1_000_000)

        def failing(name: str = name) -> bool:
            state = daemon.status()["components"][name]
            return state["state"] != RUNNING and "injected" in (state["last_error"] or "")

        wait_until(failing, timeout=10, what=f"{name} to fail")
        # several failed restarts, each after a longer delay than the one before
        wait_until(lambda name=name: len(_delays(caplog, name)) >= 4, timeout=20,
                   what=f"{name}'s restarts")
        delays = _delays(caplog, name)[:4]
        assert delays == sorted(delays) and delays[0] < delays[-1], delays
        crash = next(r for r in caplog.records if r.getMessage().startswith(f"{name} crashed"))
        assert crash.exc_info is not None  # the traceback is in the log
        assert "injected into" in crash.getMessage()
        if name != "api":  # while the API restarts, nothing answers it
            health = wait_until(lambda: _health(handle), timeout=10, what="health")
            assert health["status"] == "degraded"
            assert health["components"][name]["state"] in ("failed", "restarting")
            code, status = _status_cli(handle)
            assert code == 1 and status["components"][name]["state"] in ("failed",
                                                                         "restarting")
        daemon.supervisor.inject_fault(name, RuntimeError("cleared"), starts=0)

        def running(name: str = name) -> bool:
            health = _health(handle)
            return health is not None and health["status"] == "ok" \
                and health["components"][name]["state"] == RUNNING

        wait_until(running, timeout=20, what=f"{name} to run again")
        shown = _health(handle)
        assert shown is not None
        assert shown["components"][name]["restarts"] == 1
        assert "injected into" in shown["components"][name]["last_error"]
    assert _status_cli(handle)[0] == 0
    # the daemon still works after all that: mail flows between agents
    bob = handle.create_agent("bob2")
    with handle.client() as c:
        sent = c.post("/v1/mail/send", json={"to": [bob["agent"]["address"]],
                                             "subject": "after the crashes", "text": "hi"},
                      headers={"Authorization": f"Bearer {bob['api_key']}"})
        assert sent.status_code in (200, 202), sent.text
    handle.stop()
    _assert_cleaned_up(handle, config)


def _delays(caplog: pytest.LogCaptureFixture, name: str) -> list[float]:
    pattern = re.compile(rf"^restarting {re.escape(name)} in ([0-9.]+) s$")
    return [float(m.group(1)) for r in caplog.records if (m := pattern.match(r.getMessage()))]


def test_a_component_that_fails_to_stop_does_not_stop_the_shutdown(
        handle: DaemonHandle) -> None:
    """The old shutdown re-raised the first failing stop and skipped the rest."""
    handle.start(restart_backoff=0.05)
    daemon = handle.daemon
    assert daemon is not None
    config = build_host(handle.settings).config_path  # type: ignore[attr-defined]
    daemon.supervisor.inject_fault("sender", RuntimeError("sender broke"))
    wait_until(lambda: daemon.status()["components"]["sender"]["restarts"] == 1, timeout=10,
               what="the sender to restart")
    handle.stop()
    _assert_cleaned_up(handle, config)


def test_mail_host_restart_failing_with_oserror_keeps_retrying_until_it_works(
        handle: DaemonHandle, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 17 item 2: Dovecot dies while its restart fails with an OSError (its directory
    is immutable, as a full disk would refuse the config file); the supervisor keeps trying
    and Dovecot comes back once the cause is gone, without restarting the daemon."""
    caplog.set_level(logging.INFO, logger="agenticmail.daemon.supervisor")
    handle.start(restart_backoff=0.1, max_restart_backoff=0.5)
    daemon = handle.daemon
    assert daemon is not None
    host: Any = daemon.ctx.host
    data_dir: Path = host.data_dir
    pid = host.pid
    assert pid is not None
    subprocess.run(["chattr", "+i", str(data_dir)], check=True)
    try:
        os.kill(pid, signal.SIGKILL)

        def oserror_retries() -> bool:
            state = daemon.status()["components"]["mail-host"]
            return state["state"] != RUNNING and "PermissionError" in (state["last_error"] or "")

        wait_until(oserror_retries, timeout=20, what="the restart to fail with an OSError")
        wait_until(lambda: len(_delays(caplog, "mail-host")) >= 3, timeout=20,
                   what="repeated restart attempts")
        health = _health(handle)
        assert health is not None and health["status"] == "degraded"
        assert "PermissionError" in health["components"]["mail-host"]["last_error"]
        diagnosis = CliRunner().invoke(app, ["--home", str(handle.home), "doctor", "--json"],
                                       env={"AGENTICMAIL_HOME": str(handle.home)})
        checks = {c["name"]: c for c in json.loads(diagnosis.stdout)["checks"]}
        assert checks["daemon component mail-host"]["ok"] is False
        assert "PermissionError" in checks["daemon component mail-host"]["detail"]
    finally:
        subprocess.run(["chattr", "-i", str(data_dir)], check=True)

    def back() -> bool:
        health = _health(handle)
        return health is not None and health["status"] == "ok"

    wait_until(back, timeout=30, what="the mail host to come back")
    assert host.pid is not None and host.pid != pid
    assert daemon.status()["host_restarts"] >= 1


def test_sigterm_during_startup_leaves_nothing_behind(tmp_path: Path) -> None:
    handle = DaemonHandle(home=tmp_path / "home")
    try:
        config = build_host(handle.settings).config_path  # type: ignore[attr-defined]
        log = tmp_path / "out.log"
        env = {**os.environ, "AGENTICMAIL_HOME": str(handle.home),
               "PYTHONPATH": os.pathsep.join(sys.path)}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "agenticmail", "--home", str(handle.home), "start"],
                env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            # signal it once it is starting the mail host, before the API answers
            wait_until(lambda: handle.settings.pid_path.exists() or proc.poll() is not None,
                       timeout=60, interval=0.005, what="the daemon to begin starting")
            assert proc.poll() is None, log.read_text()
            assert not _listening(handle.settings.api_port)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
        _assert_cleaned_up(handle, config)
        output = log.read_text()
        assert "stop requested during startup" in output and "Traceback" not in output
    finally:
        purge_mail_store(handle.settings)


def test_a_watcher_that_dies_is_started_again_and_shown(
        handle: DaemonHandle, caplog: pytest.LogCaptureFixture) -> None:
    """One agent's watcher thread dies (``WatcherManager.inject_fault``, the documented seam:
    the error escapes the watcher's own handling): it is logged with its traceback, started
    again after a backoff, counted in its status, and its agent's mail flows again."""
    caplog.set_level(logging.INFO, logger="agenticmail.daemon.watchers")
    handle.start()
    daemon = handle.daemon
    assert daemon is not None
    alice, bob = handle.create_agent("alice"), handle.create_agent("bob")
    wait_until(lambda: daemon.watchers.status().get("bob", {}).get("connected"), timeout=20,
               what="bob's watcher")
    daemon.watchers.inject_fault("bob", RuntimeError("a watcher bug"))

    def crashed() -> bool:
        health = _health(handle)
        return health is not None and health["watchers"]["bob"]["crashes"] == 1

    wait_until(crashed, timeout=20, what="the crash to show in /v1/health")
    death = next(r for r in caplog.records if r.getMessage() == "watcher for bob died")
    assert death.exc_info is not None and "a watcher bug" in str(death.exc_info[1])
    wait_until(lambda: daemon.watchers.status()["bob"]["connected"], timeout=20,
               what="bob's watcher to run again")
    code, status = _status_cli(handle)
    assert code == 0 and status["watchers"]["bob"]["crashes"] == 1
    with EventStream(handle.api_url, bob["api_key"]) as events:
        with handle.client(alice["api_key"]) as c:
            sent = c.post("/v1/mail/send", json={"to": [bob["agent"]["address"]],
                                                 "subject": "after the watcher died",
                                                 "text": "hi"})
        assert sent.status_code in (200, 202), sent.text
        events.next("message.new", timeout=30, where=lambda e: e["data"]["message"]["subject"]
                    == "after the watcher died")
