"""Opt-in: the real ``stalwartlabs/stalwart:v0.16.18`` container through the same lifecycle.

Run with ``pytest -m live tests/stalwart``; skipped unless a Docker engine answers. Uses its own
container name and free loopback ports, and removes the container and its data afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agenticmail.hosts.stalwart import StalwartHost
from agenticmail.providers.docker_engine import DockerEngine
from agenticmail.security.keys import SecretBox, new_encryption_key
from agenticmail_testing.ports import free_ports

pytestmark = pytest.mark.live
PW = "Xq3-very-long-random-pass-9z"


@pytest.fixture
def live_host(tmp_path: Path) -> Iterator[StalwartHost]:
    engine = DockerEngine()
    if not engine.available():
        pytest.skip("no Docker engine reachable")
    ports = free_ports(6)
    host = StalwartHost(tmp_path / "stalwart", secrets_box=SecretBox(new_encryption_key()),
                        domain="agents.test", http_port=ports[0], smtp_port=ports[1],
                        stalwart_submission_port=ports[2], imap_port=ports[3],
                        lmtp_port=ports[4], submission_port=ports[5], engine=engine,
                        start_timeout=180, name="agenticmail-stalwart-livetest")
    try:
        yield host
    finally:
        host.remove(purge=True)
        engine.close()


def test_real_container_lifecycle(live_host: StalwartHost) -> None:
    host = live_host
    host.start()
    assert host.health().ok and host.admin_login().startswith("admin@")
    addr = "secretary@agents.test"
    host.create_account(addr, PW)
    assert host.account_exists(addr) and addr in host.list_accounts()
    assert host.verify_login(addr, PW)
    host.add_alias(addr, "sales@agents.test")
    assert host.aliases(addr) == ["sales@agents.test"]
    host.change_password(addr, PW + "-2")
    assert host.verify_login(addr, PW + "-2") and not host.verify_login(addr, PW)
    assert host.dns_records()
    host.delete_account(addr)
    assert not host.account_exists(addr)
    host.stop()
    assert not host.is_running()
    host.start()  # adopts the stopped container and its data
    assert host.health().ok
