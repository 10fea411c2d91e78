"""``agenticmail domain check NAME`` / ``GET /v1/domain/check`` against a fake registry (a real
HTTP server: IANA's bootstrap file and RDAP domain objects, RFC 9224/9083) named by the
daemon's ``rdap_bootstrap_url``: a registered name, an available one, a TLD without RDAP, a
malformed name, and the registry down."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from agenticmail_testing.daemon import DaemonHandle
from agenticmail_testing.ports import free_port
from agenticmail_testing.rdap_server import RdapServer

from .cli_runs import cli, cli_json


@pytest.fixture(scope="module")
def registry() -> Iterator[RdapServer]:
    server = RdapServer().start()
    server.register("taken.test", registrar="Test Registrar, Inc.",
                    expires="2027-08-14T04:00:00Z")
    yield server
    server.close()


@pytest.fixture(scope="module")
def check_daemon(registry: RdapServer) -> Iterator[DaemonHandle]:
    handle = DaemonHandle(rdap_bootstrap_url=registry.bootstrap_url).start()
    yield handle
    handle.close()


def test_a_registered_name(check_daemon: DaemonHandle, registry: RdapServer) -> None:
    found = cli_json(check_daemon.home, "domain", "check", "Taken.Test.")["check"]
    assert found["name"] == "taken.test" and found["registered"] is True
    assert (found["registrar"], found["expires"], found["created"]) == (
        "Test Registrar, Inc.", "2027-08-14T04:00:00Z", "2019-08-14T04:00:00Z")
    assert found["status"] == ["client transfer prohibited"]
    assert found["nameservers"] == ["ns1.example.net", "ns2.example.net"]
    assert "/rdap/domain/taken.test" in registry.requests
    shown = cli(check_daemon.home, "domain", "check", "taken.test")
    assert shown.exit_code == 0, shown.output
    assert "taken.test is registered" in shown.stdout and "2027-08-14" in shown.stdout


def test_an_available_name(check_daemon: DaemonHandle, registry: RdapServer) -> None:
    with check_daemon.client() as http:
        response = http.get("/v1/domain/check", params={"name": "free-for-you.test"})
    assert response.status_code == 200, response.text
    assert response.json()["check"]["registered"] is False
    shown = cli(check_daemon.home, "domain", "check", "free-for-you.test")
    assert "free-for-you.test is not registered" in " ".join(shown.stdout.split())
    assert registry.requests.count("/dns.json") == 1  # IANA's file is fetched once, then kept


@pytest.mark.parametrize(("name", "code"), [
    ("nothing.nordap", "rdap_unsupported"), ("bad_name!.test", "invalid_request"),
    ("localhost", "invalid_request"),
])
def test_names_that_cannot_be_checked(check_daemon: DaemonHandle, name: str, code: str) -> None:
    with check_daemon.client() as http:
        response = http.get("/v1/domain/check", params={"name": name})
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)


def test_a_registry_that_is_down_is_a_clear_error(check_daemon: DaemonHandle) -> None:
    result = cli(check_daemon.home, "domain", "check", "some.down")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: cannot reach the registry's RDAP service at "
                                    "http://127.0.0.1:"), result.stderr
    assert "Traceback" not in result.output
    with check_daemon.client() as http:
        response = http.get("/v1/domain/check", params={"name": "some.down"})
    assert (response.status_code, response.json()["error"]["code"]) == (
        503, "registry_unavailable")


def test_the_bootstrap_file_unreachable_is_a_clear_error() -> None:
    nowhere = DaemonHandle(rdap_bootstrap_url=f"http://127.0.0.1:{free_port()}/dns.json")
    nowhere.start()
    try:
        result = cli(nowhere.home, "domain", "check", "taken.test", "--json")
        assert result.exit_code == 1, result.output
        assert "cannot reach IANA's RDAP bootstrap file" in result.stdout  # a JSON error
        assert json.loads(result.stdout)["error"]["code"] == "registry_unavailable"
    finally:
        nowhere.close()
