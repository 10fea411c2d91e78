"""Admission: a request body is read only after the key is checked, and only up to the limit
(chunked or not); /v1/health tells an anonymous caller only whether the daemon is up."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx

from agenticmail_testing.daemon import DaemonHandle, wait_until

MIB = 1024 * 1024
CHUNK = b"x" * MIB


class Upload:
    """A chunked (no Content-Length) body of ``total`` bytes that counts what was sent."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.total:
            self.sent += len(CHUNK)
            yield CHUNK


def _rss() -> int:
    """This process's resident memory (the daemon runs in-process), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_unauthenticated_chunked_upload_is_refused_before_it_is_read(
        daemon: DaemonHandle) -> None:
    upload = Upload(300 * MIB)
    before = _rss()
    with daemon.client(None) as anon:
        response = anon.post("/v1/mail/send", content=upload,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"
    # refused while the client was still sending: most of the 300 MiB never left it
    assert upload.sent < 64 * MIB, upload.sent
    assert _rss() - before < 100 * MIB


def test_wrong_key_is_refused_before_the_body_is_read(daemon: DaemonHandle) -> None:
    upload = Upload(300 * MIB)
    with daemon.client("ak_" + "0" * 48) as wrong:
        response = wrong.post("/v1/mail/send", content=upload)
    assert response.status_code == 401
    assert upload.sent < 64 * MIB, upload.sent


def test_authenticated_chunked_body_over_the_limit_is_413(daemon: DaemonHandle) -> None:
    assert daemon.daemon is not None
    limit = int(daemon.settings.max_message_bytes * 1.4)
    upload = Upload(limit + 16 * MIB)
    with daemon.client() as owner:
        response = owner.post("/v1/mail/send", content=upload,
                              headers={"Content-Type": "application/json"})
        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert error["code"] == "payload_too_large" and str(limit) in error["message"]
        assert upload.sent < upload.total
        # the daemon still answers normally afterwards
        assert owner.get("/v1/agents").status_code == 200


def test_declared_length_over_the_limit_is_413_unread(daemon: DaemonHandle) -> None:
    limit = int(daemon.settings.max_message_bytes * 1.4)
    head = (f"POST /v1/mail/send HTTP/1.1\r\nHost: x\r\nContent-Length: {limit + 1}\r\n"
            f"Authorization: Bearer {daemon.master_key}\r\n\r\n{{}}")
    with socket.create_connection((daemon.settings.api_host, daemon.settings.api_port),
                                  timeout=10) as sock:
        sock.sendall(head.encode())  # the body announced is never sent
        answer = sock.makefile("rb").read().decode()
    assert answer.startswith("HTTP/1.1 413 "), answer
    assert '"payload_too_large"' in answer


def test_a_small_authenticated_body_still_works(daemon: DaemonHandle, agent_pair: tuple
                                                ) -> None:
    alice, bob = agent_pair
    body = httpx.Request("POST", "/", json={"to": bob["agent"]["address"], "text": "hi"}).content
    with daemon.client(alice["api_key"]) as api:
        response = api.post("/v1/mail/send", content=iter([body[:5], body[5:]]),
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text


def test_health_without_a_key_says_only_up_or_down(daemon: DaemonHandle, agent_pair: tuple
                                                   ) -> None:
    with daemon.client(None) as anon:
        response = anon.get("/v1/health")
    assert response.status_code == 200
    assert set(response.json()) == {"status", "version"}
    assert response.json()["status"] == "ok"


def test_health_with_an_agent_key_shows_only_its_own_watcher(daemon: DaemonHandle,
                                                             agent_pair: tuple) -> None:
    alice, _ = agent_pair
    name = alice["agent"]["name"]
    with daemon.client(alice["api_key"]) as api:
        body = wait_until(lambda: (b := api.get("/v1/health").json()).get("watchers") and b,
                          timeout=15, what="alice's watcher in /v1/health")
    assert set(body["watchers"]) == {name}
    assert body["mail_host"] == {"kind": "local", "ok": True}
    assert "agents" not in body and "pid" not in body


def test_health_with_the_master_key_shows_everything(daemon: DaemonHandle,
                                                     agent_pair: tuple) -> None:
    alice, bob = agent_pair
    with daemon.client() as owner:
        body = owner.get("/v1/health").json()
    assert body["agents"] >= 2 and isinstance(body["pid"], int)
    assert {alice["agent"]["name"], bob["agent"]["name"]} <= set(body["watchers"])
    assert body["mail_host"]["checks"]


def test_health_with_a_wrong_key_is_401(daemon: DaemonHandle) -> None:
    with daemon.client("ak_" + "0" * 48) as wrong:
        response = wrong.get("/v1/health")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
