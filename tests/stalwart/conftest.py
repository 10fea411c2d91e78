"""Fixtures: a fake Docker engine on a unix socket, a fake Stalwart, and a StalwartHost wired
to them with free loopback ports under a temporary data dir."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agenticmail.hosts.stalwart import StalwartHost
from agenticmail.providers.docker_engine import DockerEngine, PullProgress
from agenticmail.security.keys import SecretBox, new_encryption_key
from agenticmail_testing.ports import free_ports

from .fake_docker import FakeDockerServer
from .fake_stalwart import FakeStalwart

MakeHost = Callable[..., StalwartHost]


@pytest.fixture
def docker_server() -> Iterator[FakeDockerServer]:
    # unix socket paths are limited to ~104 bytes: keep it short
    folder = Path(tempfile.mkdtemp(prefix="amdk-"))
    server = FakeDockerServer(folder / "docker.sock").start()
    try:
        yield server
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(new_encryption_key())


@pytest.fixture
def make_host(tmp_path: Path, docker_server: FakeDockerServer, box: SecretBox
              ) -> Iterator[MakeHost]:
    made: list[StalwartHost] = []
    ports = free_ports(6)

    def make(**kw: Any) -> StalwartHost:
        events: list[tuple[str, PullProgress | None]] = []
        options: dict[str, Any] = {
            "secrets_box": box, "domain": "agents.test", "http_port": ports[0],
            "smtp_port": ports[1], "stalwart_submission_port": ports[2],
            "imap_port": ports[3], "lmtp_port": ports[4], "submission_port": ports[5],
            "engine": DockerEngine(docker_server.url), "start_timeout": 10.0,
            "progress": lambda msg, pull: events.append((msg, pull)),
        }
        options.update(kw)
        host = StalwartHost(tmp_path / "stalwart", **options)
        host.events = events  # type: ignore[attr-defined]
        made.append(host)
        return host

    yield make
    for host in made:
        host.engine.close()


@pytest.fixture
def stalwart() -> Iterator[FakeStalwart]:
    """A fake Stalwart in normal mode; the recovery admin is ``admin:recovery-Pass-42``."""
    fake = FakeStalwart(recovery_admin="admin:recovery-Pass-42", bootstrap=False).start()
    try:
        yield fake
    finally:
        fake.stop()
