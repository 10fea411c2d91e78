"""Backup and restore (issue 13): an archive taken while mail is delivered restores into a new
home whose daemon serves every message and takes every key; encrypted archives; bad input.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agenticmail.config import load_settings
from agenticmail.errors import Conflict, InvalidRequest
from agenticmail.services.backup import create_backup, is_encrypted, restore_backup
from agenticmail_testing.daemon import DaemonHandle, purge_mail_store, unique, wait_until
from agenticmail_testing.mailbox import imap_login, smtp_login

MESSAGES = 50


@pytest.fixture(scope="module")
def source() -> Iterator[DaemonHandle]:
    handle = DaemonHandle(rate_per_minute=1000, rate_per_hour=10_000).start()
    yield handle
    handle.close()


@pytest.fixture
def restored_homes(tmp_path: Path) -> Iterator[list[Path]]:
    """Homes a test restores into; their mail stores are removed afterwards."""
    homes: list[Path] = []
    yield homes
    for home in homes:
        if (home / "config.toml").exists():
            purge_mail_store(load_settings(home, env={}))
        shutil.rmtree(home, ignore_errors=True)


def _listing(d: DaemonHandle, key: str, folder: str = "INBOX") -> list[dict[str, Any]]:
    with d.client(key) as api:
        r = api.get("/v1/mail/messages", params={"folder": folder, "limit": 500})
    assert r.status_code == 200, r.text
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages




def test_backup_during_delivery_restores_every_message_and_key(
        source: DaemonHandle, tmp_path: Path, restored_homes: list[Path]) -> None:
    alice = source.create_agent(unique("al"))
    bob = source.create_agent(unique("bo"))
    bob_addr = bob["agent"]["address"]
    with source.client(alice["api_key"]) as api:  # one message, flagged, before it all
        assert api.post("/v1/mail/send", json={"to": [bob_addr], "subject": "flagged one",
                                               "text": "keep my flags"}).status_code == 202
    first = wait_until(lambda: _listing(source, bob["api_key"]), what="the first message")[0]
    with source.client(bob["api_key"]) as api:
        r = api.post(f"/v1/mail/messages/{first['uid']}/flags",
                     json={"add": ["\\Flagged"], "seen": True})
        assert r.status_code == 200, r.text

    accepted: list[str] = []  # subjects whose send the daemon took, in order
    errors: list[str] = []

    def send_all() -> None:
        with source.client(alice["api_key"]) as api:
            for n in range(MESSAGES):
                r = api.post("/v1/mail/send", json={"to": [bob_addr], "subject": f"m{n:02d}",
                                                    "text": f"message {n}"})
                (accepted if r.status_code == 202 else errors).append(f"m{n:02d}")

    sender = threading.Thread(target=send_all)
    sender.start()
    try:
        wait_until(lambda: len(accepted) >= 10, 60, what="10 sends accepted")
        taken_before = list(accepted)  # sends the backup must hold, delivered or queued
        archive = tmp_path / "backup.tar.gz"
        summary = create_backup(source.settings, archive)
    finally:
        sender.join(120)
    assert not errors and len(accepted) == MESSAGES
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert summary.agents >= 2 and not summary.encrypted
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[-1] == "manifest.json" and "home/agenticmail.db" in names

    home = tmp_path / "restored"
    restored_homes.append(home)
    result = restore_backup(home, archive)
    assert {alice["agent"]["name"], bob["agent"]["name"]} <= set(result.agents)
    assert result.messages == summary.messages  # every message the archive holds came back
    restored = DaemonHandle(home=home).start()  # new ports, the restored config and keys
    try:
        # every send taken before the backup is served: delivered ones from the copied
        # mailbox, queued ones delivered by the restored daemon's sender
        def served() -> set[str] | None:
            subjects = {m["subject"] for m in _listing(restored, bob["api_key"])}
            return subjects if set(taken_before) | {"flagged one"} <= subjects else None

        subjects = wait_until(served, 60, what="every message taken before the backup")
        assert subjects <= {f"m{n:02d}" for n in range(MESSAGES)} | {"flagged one"}
        messages = _listing(restored, bob["api_key"])
        kept = next(m for m in messages if m["subject"] == "flagged one")
        assert kept["uid"] == first["uid"] and kept["date"] == first["date"]  # UIDs, dates kept
        assert {"\\Flagged", "\\Seen"} <= set(kept["flags"])
        with restored.client(bob["api_key"]) as api:
            read = api.get(f"/v1/mail/messages/{kept['uid']}").json()["message"]
        assert read["text"].strip() == "keep my flags"
        sent = _listing(restored, alice["api_key"], "Sent")
        assert {m["subject"] for m in sent} >= set(taken_before)
        # every key still works: API keys, the master key, mail passwords (IMAP and SMTP)
        for agent in (alice, bob):
            with restored.client(agent["api_key"]) as api:
                assert api.get("/v1/mail/messages").status_code == 200
            creds = agent["mail"]
            assert imap_login(restored, creds["username"], creds["password"])
            assert smtp_login(restored, creds["username"], creds["password"])
            assert not imap_login(restored, creds["username"], "not-the-password")
        with restored.client() as owner:
            assert owner.get("/v1/agents").status_code == 200
        with restored.client("ak_" + "0" * 48) as api:
            assert api.get("/v1/mail/messages").status_code == 401
    finally:
        restored.stop()


@pytest.fixture(scope="module")
def small_archive(source: DaemonHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("small") / "plain.tar.gz"
    create_backup(source.settings, path)
    return path


def test_encrypted_round_trip(source: DaemonHandle, tmp_path: Path,
                              restored_homes: list[Path]) -> None:
    agent = source.create_agent(unique("enc"))
    archive = tmp_path / "secret.ambk"
    summary = create_backup(source.settings, archive, passphrase="correct horse")
    assert summary.encrypted and is_encrypted(archive)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    raw = archive.read_bytes()
    assert agent["agent"]["address"].encode() not in raw and b"master_key" not in raw

    wrong = tmp_path / "wrong"
    with pytest.raises(InvalidRequest) as caught:
        restore_backup(wrong, archive, passphrase="battery staple")
    assert caught.value.code == "wrong_passphrase" and not wrong.exists()
    with pytest.raises(InvalidRequest) as caught:
        restore_backup(wrong, archive)
    assert caught.value.code == "passphrase_required" and not wrong.exists()

    home = tmp_path / "decrypted"
    restored_homes.append(home)
    result = restore_backup(home, archive, passphrase="correct horse")
    assert agent["agent"]["name"] in result.agents
    assert load_settings(home, env={}).master_key == source.master_key
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "secret.key").stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if ".restore-" in p.name]  # staging removed


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage", "empty"])
@pytest.mark.parametrize("encrypted", [False, True])
def test_a_bad_archive_restores_nothing(source: DaemonHandle, small_archive: Path,
                                        tmp_path: Path, damage: str, encrypted: bool,
                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    good = small_archive
    if encrypted:
        good = tmp_path / "enc.ambk"
        create_backup(source.settings, good, passphrase="pw")
    data = good.read_bytes()
    bad = tmp_path / "bad"
    if damage == "truncated":
        bad.write_bytes(data[: len(data) * 2 // 3])
    elif damage == "flipped":
        middle = len(data) // 2
        bad.write_bytes(data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:])
    elif damage == "garbage":
        bad.write_bytes(b"not a backup at all " * 50)
    else:
        bad.write_bytes(b"")
    home = tmp_path / "home"
    with pytest.raises(InvalidRequest) as caught:
        restore_backup(home, bad, passphrase="pw" if encrypted else None)
    assert caught.value.code == "damaged_archive", caught.value
    assert "\n" not in str(caught.value)
    assert not home.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["bad", *(["enc.ambk"] if encrypted else [])])  # no staging left behind


def test_restore_refuses_a_home_that_is_not_empty(small_archive: Path, tmp_path: Path) -> None:
    home = tmp_path / "busy"
    home.mkdir()
    (home / "config.toml").write_text("api_port = 1\n")
    with pytest.raises(Conflict, match="is not empty"):
        restore_backup(home, small_archive)
    assert os.listdir(home) == ["config.toml"]


def test_backup_refuses_to_overwrite(source: DaemonHandle, small_archive: Path) -> None:
    before = small_archive.read_bytes()
    with pytest.raises(Conflict, match="already exists"):
        create_backup(source.settings, small_archive)
    assert small_archive.read_bytes() == before


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICMAIL_")}
    return subprocess.run([sys.executable, "-m", "agenticmail", "--home", str(home), *args],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_commands(source: DaemonHandle, tmp_path: Path,
                      restored_homes: list[Path]) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text("a long passphrase\n")
    archive = tmp_path / "cli.ambk"
    made = _cli(source.home, "backup", str(archive), "--passphrase-file", str(secret), "--json")
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert summary["encrypted"] is True and summary["path"] == str(archive)

    home = tmp_path / "from-cli"
    restored_homes.append(home)
    wrong = tmp_path / "wrong-passphrase"
    wrong.write_text("not it\n")
    refused = _cli(home, "restore", str(archive), "--passphrase-file", str(wrong))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines()[0] == "error: wrong passphrase for this backup"
    assert not home.exists()

    done = _cli(home, "restore", str(archive), "--passphrase-file", str(secret), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["home"] == str(home)
    again = _cli(home, "restore", str(archive), "--passphrase-file", str(secret), "--json")
    assert again.returncode == 1 and json.loads(again.stdout)["error"]["code"] == "conflict"


def test_the_stalwart_host_says_not_supported_yet(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('mail_host = "stalwart"\n')
    (tmp_path / "agenticmail.db").write_bytes(b"")
    with pytest.raises(InvalidRequest, match="not supported yet") as caught:
        create_backup(load_settings(tmp_path, env={}), tmp_path / "out.tar.gz")
    assert caught.value.code == "not_supported" and not (tmp_path / "out.tar.gz").exists()
