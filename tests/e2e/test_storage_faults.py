"""A full disk and a damaged database (issue 17 #7): sends answer a clear error with a hint,
``/v1/health`` says degraded while the database cannot be written, mail flows again once
space is freed, and ``start``/``doctor`` print one line with a hint, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agenticmail_testing import disk
from agenticmail_testing.daemon import unique, wait_until
from agenticmail_testing.process import DaemonProcess


def _run(proc: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agenticmail", *args], env=proc.env,
                          capture_output=True, text=True, timeout=60)


def _one_clear_line(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "sqlite3." not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and what in lines[0], output
    assert any(line.startswith("hint: ") for line in lines[1:]), output


def test_a_damaged_database_at_start_and_in_doctor(tmp_path: Path) -> None:
    proc = DaemonProcess(home=tmp_path)
    proc.cli("setup", "--yes", "--no-start", "--mail-host", "local")
    db = proc.home / "agenticmail.db"
    for extra in ("-wal", "-shm"):
        Path(f"{db}{extra}").unlink(missing_ok=True)
    db.write_bytes(b"this is not a database, it was overwritten" * 100)

    _one_clear_line(_run(proc, "start"), "is damaged")
    doctor = _run(proc, "doctor", "--json")
    assert "Traceback" not in doctor.stdout + doctor.stderr
    check = next(c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "database")
    assert check["ok"] is False and "damaged" in check["detail"] and check["hint"]


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 64 MiB tmpfs to fill (needs root; as root the mail store lives outside the home)."""
    with disk.small_disk() as where:
        if where is None:
            pytest.skip("needs root and mount to make a small disk")
        yield where


def test_disk_full_then_freed(small_disk: Path) -> None:
    proc = DaemonProcess(home=small_disk).start()
    try:
        with proc.client() as owner:
            alice = owner.post("/v1/agents", json={"name": unique("fa")}).json()
            bob = owner.post("/v1/agents", json={"name": unique("fb")}).json()
        mail = {"to": [bob["agent"]["address"]], "subject": "after the disk", "text": "x"}
        filler = disk.fill(small_disk)

        with proc.client(alice["api_key"]) as api:
            refused = api.post("/v1/mail/send", json=mail)
        assert refused.status_code == 503, refused.text
        error = refused.json()["error"]
        assert error["code"] == "storage_unavailable" and "full" in error["message"]
        assert "free some space" in error["hint"]
        with proc.client() as owner:
            health = owner.get("/v1/health").json()
        assert health["status"] == "degraded" and health["storage"]["ok"] is False
        assert "full" in health["storage"]["detail"] and health["storage"]["hint"]

        filler.unlink()
        wait_until(lambda: httpx.get(f"{proc.api_url}/v1/health", timeout=10).json()[
            "status"] == "ok", timeout=30, what="health to recover")
        with proc.client(alice["api_key"]) as api:
            accepted = api.post("/v1/mail/send", json=mail)
            assert accepted.status_code == 202, accepted.text
            outbox_id = accepted.json()["id"]
            wait_until(lambda: api.get(f"/v1/mail/outbox/{outbox_id}").json()["outbox"]["status"]
                       == "sent", timeout=30, what="the send after the disk was freed")

        proc.stop()
        disk.fill(small_disk)
        _one_clear_line(_run(proc, "start"), "is full")
        doctor = _run(proc, "doctor", "--json")
        check = next(c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "database")
        assert check["ok"] is False and "full" in check["detail"]
    finally:
        (small_disk / "filler").unlink(missing_ok=True)
        proc.close()
