"""Fixtures for domain mode: the fake Cloudflare API with the owner's zone, and a real daemon
(its own: setup changes its gateway setting) that ``agenticmail domain`` drives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agenticmail.cli.main import app
from agenticmail_testing import log_audit
from agenticmail_testing.cloudflare_api import FakeCloudflare
from agenticmail_testing.daemon import DaemonHandle
from agenticmail_testing.dns_server import DkimKey
from tests.domain import inbound_helpers
from tests.domain.inbound_helpers import InboundDaemon

DOMAIN = "example.com"
# the owner's zone before setup: a web site, Google Workspace mail (MX, SPF, DMARC), a
# verification TXT; setup must replace the mail records and leave the rest alone
OWNER_RECORDS: list[dict[str, Any]] = [
    {"type_": "A", "name": DOMAIN, "content": "192.0.2.10", "proxied": True},
    {"type_": "CNAME", "name": f"www.{DOMAIN}", "content": DOMAIN, "proxied": True},
    {"type_": "MX", "name": DOMAIN, "content": "aspmx.l.google.com", "priority": 1},
    {"type_": "MX", "name": DOMAIN, "content": "alt1.aspmx.l.google.com", "priority": 5},
    {"type_": "TXT", "name": DOMAIN, "content": "v=spf1 include:_spf.google.com ~all"},
    {"type_": "TXT", "name": DOMAIN, "content": "google-site-verification=abc123"},
    {"type_": "TXT", "name": f"_dmarc.{DOMAIN}", "content": "v=DMARC1; p=none"},
    {"type_": "A", "name": f"shop.{DOMAIN}", "content": "192.0.2.11", "ttl": 300},
]


@pytest.fixture
def cf() -> Iterator[FakeCloudflare]:
    with FakeCloudflare() as fake:
        fake.per_page_max = 3  # the backup must page
        zone = fake.add_zone(DOMAIN)
        fake.add_zone("other.example.net")
        for record in OWNER_RECORDS:
            fake.add_record(zone, **record)
        yield fake


@pytest.fixture(scope="module")
def domain_daemon() -> Iterator[DaemonHandle]:
    handle = DaemonHandle().start()
    handle.create_agent("secretary")
    yield handle
    handle.close()


@pytest.fixture
def token(cf: FakeCloudflare, tmp_path: Path) -> Path:
    """A file holding a token with every permission setup needs."""
    value = cf.add_token()
    log_audit.remember(value)
    path = tmp_path / "cf-token"
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def clean(domain_daemon: DaemonHandle, cf: FakeCloudflare) -> Iterator[DaemonHandle]:
    """The daemon with no domain configuration before and after the test (teardown against
    this test's fake, with its faults cleared)."""
    yield domain_daemon
    cf.faults.clear()
    with domain_daemon.client() as owner:
        r = owner.post("/v1/domain/teardown", json={})
        assert r.status_code == 200, r.text
        assert owner.get("/v1/domain").json()["domain"] is None


def cli(handle: DaemonHandle, *args: str, env: dict[str, str] | None = None,
        input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--home", str(handle.home), *args], input=input,
                                env={"COLUMNS": "200", "CLOUDFLARE_API_TOKEN": "",
                                     **(env or {})})
    return result.exit_code, result.stdout, result.stderr


# -- the inbound side (test_inbound.py, test_worker_workerd.py) -----------------------------

@pytest.fixture(scope="session")
def arc_keys() -> dict[str, DkimKey]:
    return inbound_helpers.new_arc_keys()


@pytest.fixture(scope="session")
def inbound_daemon(arc_keys: dict[str, DkimKey]) -> Iterator[InboundDaemon]:
    yield from inbound_helpers.running(arc_keys)
