"""StalwartHost's container lifecycle and provisioning against the fake Docker engine (unix
socket) running the fake Stalwart: the docker SDK and the JMAP client are used unchanged."""

from __future__ import annotations

import json
import socket
import tempfile
from pathlib import Path

import pytest

from agenticmail.errors import (
    Conflict,
    DependencyMissing,
    InvalidRequest,
    MailHostError,
    NotFound,
)
from agenticmail.hosts.base import MailHost
from agenticmail.hosts.stalwart import CONTAINER, IMAGE, LABEL, StalwartHost
from agenticmail.providers.docker_engine import DockerEngine

from .conftest import MakeHost
from .fake_docker import FakeDockerServer

PW = "Xq3-very-long-random-pass-9z"


def _container(server: FakeDockerServer) -> dict[str, object] | None:
    found = server.engine.find(CONTAINER)
    return None if found is None else found.inspect()


def _left_nothing(host: StalwartHost, server: FakeDockerServer) -> None:
    assert server.engine.find(CONTAINER) is None, "a container was left behind"
    assert not host.state_path.exists(), "a half-made state file was left behind"
    assert not (host.data_dir / "etc").exists() and not (host.data_dir / "data").exists()


def test_first_start_pulls_bootstraps_and_drops_the_back_door(
        make_host: MakeHost, docker_server: FakeDockerServer) -> None:
    host = make_host()
    assert isinstance(host, MailHost)
    host.start()
    steps = [m for m, _ in host.events]  # type: ignore[attr-defined]
    pulls = [p for _, p in host.events if p is not None]  # type: ignore[attr-defined]
    assert any(p.total == 2_000_000 and p.current for p in pulls), "no pull progress reported"
    assert any("bootstrapping" in s for s in steps)
    info = _container(docker_server)
    assert info is not None
    cfg, hc = info["Config"], info["HostConfig"]
    assert cfg["Image"] == IMAGE == "stalwartlabs/stalwart:v0.16.18"  # type: ignore[index]
    assert cfg["Labels"][LABEL] == "1"  # type: ignore[index]
    assert not any(e.startswith("STALWART_RECOVERY_ADMIN") for e in cfg["Env"])  # type: ignore
    assert hc["RestartPolicy"]["Name"] == "unless-stopped"  # type: ignore[index]
    bindings = hc["PortBindings"]  # type: ignore[index]
    assert {b[0]["HostIp"] for b in bindings.values()} == {"127.0.0.1"}
    assert set(bindings) == {"8080/tcp", "25/tcp", "587/tcp", "143/tcp", "24/tcp"}
    assert (host.data_dir / "etc").stat().st_uid == 2000
    assert (host.data_dir / "etc" / "config.json").exists()
    # the generated admin credential is stored, encrypted; it logs in
    state = json.loads(host.state_path.read_text())
    assert state["admin_user"] == "admin@agents.test" and "recovery_secret" not in state
    fake = docker_server.engine.find(CONTAINER).fake  # type: ignore[union-attr]
    assert fake is not None
    admin_acct = fake.registry.account_by_login("admin@agents.test")
    assert admin_acct is not None
    assert host.admin_login() == "admin@agents.test"
    assert fake.registry.recovery_admin is None
    # provisioned: hostname, domain with sub-addressing + DKIM, listeners, reload
    client = host.client()
    assert client.get("SystemSettings", ["singleton"])[0]["defaultHostname"] == "mail.agents.test"
    assert host.dkim_selectors()
    listeners = {n["name"] for n in client.get("NetworkListener")}
    assert {"agenticmail-imap", "agenticmail-submission", "agenticmail-lmtp"} <= listeners
    assert fake.registry.reloads >= 1
    assert client.get("Imap", ["singleton"])[0]["allowPlainTextAuth"] is True
    assert host.is_running() and host.health().ok
    assert host.list_accounts() == []  # the admin account is not an agent's


def test_agent_lifecycle(make_host: MakeHost) -> None:
    host = make_host()
    host.start()
    addr = "secretary@agents.test"
    host.create_account(addr, PW)
    assert host.account_exists(addr) and host.list_accounts() == [addr]
    assert host.verify_login(addr, PW) and not host.verify_login(addr, "wrong-" + PW)
    with pytest.raises(Conflict, match="already exists"):
        host.create_account(addr, PW)
    with pytest.raises(InvalidRequest, match="too weak"):
        host.create_account("weak@agents.test", "password1")
    with pytest.raises(InvalidRequest, match=r"not an address in agents\.test"):
        host.create_account("x@elsewhere.test", PW)

    host.add_alias(addr, "sales@agents.test")
    host.add_alias(addr, "help@agents.test")
    host.add_alias(addr, "sales@agents.test")  # idempotent
    assert host.aliases(addr) == ["sales@agents.test", "help@agents.test"]
    host.create_account("other@agents.test", PW)
    with pytest.raises(Conflict):
        host.add_alias("other@agents.test", "help@agents.test")
    host.remove_alias(addr, "sales@agents.test")
    assert host.aliases(addr) == ["help@agents.test"]
    host.set_quota(addr, 10_000_000)

    host.change_password(addr, PW + "-new")
    assert host.verify_login(addr, PW + "-new") and not host.verify_login(addr, PW)
    with pytest.raises(NotFound):
        host.change_password("ghost@agents.test", PW)

    host.delete_account(addr)
    host.delete_account(addr)  # no error when already gone
    assert not host.account_exists(addr) and host.list_accounts() == ["other@agents.test"]
    assert not host.verify_login(addr, PW + "-new")


def test_second_start_adopts_the_running_container(make_host: MakeHost,
                                                   docker_server: FakeDockerServer) -> None:
    host = make_host()
    host.start()
    host.create_account("keep@agents.test", PW)
    first_id = docker_server.engine.find(CONTAINER).id  # type: ignore[union-attr]
    docker_server.engine.calls.clear()
    again = make_host()
    again.start()
    assert docker_server.engine.find(CONTAINER).id == first_id  # type: ignore[union-attr]
    assert not any(c.startswith(("POST /images/create", "POST /containers/create",
                                 "DELETE")) for c in docker_server.engine.calls)
    assert again.account_exists("keep@agents.test")


def test_stopped_container_from_an_earlier_run_is_restarted_with_its_data(
        make_host: MakeHost, docker_server: FakeDockerServer) -> None:
    host = make_host()
    host.start()
    host.create_account("keep@agents.test", PW)
    host.stop()
    assert not host.is_running() and not host.health().ok
    host.start()
    assert host.is_running() and host.account_exists("keep@agents.test")


def test_outdated_container_is_replaced_and_keeps_the_data(
        make_host: MakeHost, docker_server: FakeDockerServer) -> None:
    host = make_host()
    host.start()
    host.create_account("keep@agents.test", PW)
    c = docker_server.engine.find(CONTAINER)
    assert c is not None
    c.body["Image"] = "stalwartlabs/stalwart:v0.16.10"  # made by an older agenticmail
    host.start()
    replaced = docker_server.engine.find(CONTAINER)
    assert replaced is not None and replaced.id != c.id
    assert replaced.body["Image"] == IMAGE
    assert host.account_exists("keep@agents.test")


def test_foreign_container_with_our_name_is_left_alone(make_host: MakeHost,
                                                       docker_server: FakeDockerServer) -> None:
    docker_server.engine.images.add("nginx:1")
    engine = DockerEngine(docker_server.url)
    from agenticmail.providers.docker_engine import ContainerSpec

    engine.create(ContainerSpec(name=CONTAINER, image="nginx:1"))
    host = make_host()
    with pytest.raises(Conflict, match="agenticmail did not create") as err:
        host.start()
    assert err.value.hint and "docker rm -f agenticmail-stalwart" in err.value.hint
    assert _container(docker_server)["Config"]["Image"] == "nginx:1"  # type: ignore[index]
    assert not host.state_path.exists()


def test_engine_down(tmp_path: Path, box: object) -> None:
    missing = Path(tempfile.gettempdir()) / "amdk-none" / "docker.sock"
    host = StalwartHost(tmp_path / "stalwart", secrets_box=box, imap_port=1,  # type: ignore
                        lmtp_port=2, submission_port=3, docker_url=f"unix://{missing}")
    with pytest.raises(DependencyMissing, match=r"Docker engine .* is not answering") as err:
        host.start()
    assert err.value.hint and "local mail host" in err.value.hint
    assert not host.data_dir.exists()
    assert not host.is_running() and not host.health().ok


def test_pull_failure(make_host: MakeHost, docker_server: FakeDockerServer) -> None:
    docker_server.engine.pull_error = ("Get \"https://registry-1.docker.io/v2/\": dial tcp: "
                                       "lookup registry-1.docker.io: no such host")
    host = make_host()
    with pytest.raises(MailHostError, match=r"pulling stalwartlabs/stalwart:v0\.16\.18.*no such"):
        host.start()
    _left_nothing(host, docker_server)


def test_pull_failure_inside_the_stream(make_host: MakeHost,
                                        docker_server: FakeDockerServer) -> None:
    docker_server.engine.pull_stream_error = "unexpected EOF"
    host = make_host()
    with pytest.raises(MailHostError, match="failed: unexpected EOF") as err:
        host.start()
    assert err.value.hint and "network" in err.value.hint
    _left_nothing(host, docker_server)


def test_port_already_in_use(make_host: MakeHost, docker_server: FakeDockerServer) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        host = make_host(smtp_port=port)
        with pytest.raises(MailHostError, match=f"port {port} on 127.0.0.1 is already in use"
                           ) as err:
            host.start()
        assert err.value.code == "port_in_use"
        _left_nothing(host, docker_server)
    finally:
        busy.close()


def test_health_never_becomes_ready(make_host: MakeHost,
                                    docker_server: FakeDockerServer) -> None:
    docker_server.engine.never_ready = True
    host = make_host(start_timeout=1.0)
    with pytest.raises(MailHostError, match=r"did not become ready within 1s") as err:
        host.start()
    assert "Failed to open data store" in str(err.value)  # the container's log is shown
    _left_nothing(host, docker_server)


def test_failed_restart_of_an_existing_install_keeps_its_data(
        make_host: MakeHost, docker_server: FakeDockerServer) -> None:
    host = make_host()
    host.start()
    host.create_account("keep@agents.test", PW)
    host.stop()
    docker_server.engine.never_ready = True
    again = make_host(start_timeout=0.5)
    with pytest.raises(MailHostError, match="did not become ready"):
        again.start()
    assert again.bootstrapped and (again.data_dir / "etc" / "config.json").exists()
    assert docker_server.engine.find(CONTAINER) is not None  # not ours to delete: it predates
    docker_server.engine.never_ready = False
    docker_server.engine.find(CONTAINER).fake.ready = True  # type: ignore[union-attr]
    again.start()
    assert again.account_exists("keep@agents.test")


def test_dns_records_and_relay(make_host: MakeHost) -> None:
    host = make_host()
    host.start()
    records = host.dns_records()
    assert any(r.type == "MX" and r.name == "agents.test" for r in records)
    assert any(r.name.endswith("._domainkey.agents.test") for r in records)
    host.set_relay(host="smtp.example.com", port=465, username="me@example.com",
                   secret="app-secret-123")
    assert host.client().get("MtaRoute")[0]["address"] == "smtp.example.com"
    host.clear_relay()
    assert host.client().get("MtaRoute") == []


def test_remove_and_purge(make_host: MakeHost, docker_server: FakeDockerServer) -> None:
    host = make_host()
    host.start()
    host.remove(purge=True)
    assert docker_server.engine.find(CONTAINER) is None and not host.data_dir.exists()


def test_compose_file_matches_what_the_sdk_created(make_host: MakeHost,
                                                   docker_server: FakeDockerServer) -> None:
    yaml = pytest.importorskip("yaml")
    host = make_host()
    host.start()
    compose = yaml.safe_load((host.data_dir / "docker-compose.yml").read_text())
    service = compose["services"]["stalwart"]
    info = _container(docker_server)
    assert info is not None
    cfg, hc = info["Config"], info["HostConfig"]
    assert service["image"] == cfg["Image"] == IMAGE  # type: ignore[index]
    assert service["container_name"] == CONTAINER
    assert service["restart"] == hc["RestartPolicy"]["Name"]  # type: ignore[index]
    assert service["labels"] == cfg["Labels"]  # type: ignore[index]
    published = {f"{b[0]['HostIp']}:{b[0]['HostPort']}:{k.split('/')[0]}"
                 for k, b in hc["PortBindings"].items()}  # type: ignore[index]
    assert set(service["ports"]) == published
    assert {v.rsplit(":", 1)[0] + ":" + v.rsplit(":", 1)[1] for v in service["volumes"]} == {
        b.rsplit(":", 1)[0] for b in hc["Binds"]}  # type: ignore[index]
    assert "environment" not in service  # no recovery back door in steady state
    assert (host.data_dir / "docker-compose.yml").stat().st_mode & 0o077 == 0


def test_lost_admin_credential_never_wipes_the_data(make_host: MakeHost,
                                                    docker_server: FakeDockerServer) -> None:
    host = make_host()
    host.start()
    host.create_account("keep@agents.test", PW)
    host.stop()
    host.state_path.unlink()  # e.g. deleted by hand
    again = make_host()
    with pytest.raises(MailHostError, match=r"admin credential .* is missing") as err:
        again.start()
    assert err.value.hint and "restore" in err.value.hint
    assert (host.data_dir / "etc" / "config.json").exists()
    assert docker_server.engine.find(CONTAINER) is not None


def test_bootstrap_waits_for_the_session_not_readiness(make_host: MakeHost,
                                                       docker_server: FakeDockerServer) -> None:
    host = make_host()
    host.start()
    ready_polls = [c for c in host.events if "ready" in c[0]]  # type: ignore[attr-defined]
    assert any("reachable for bootstrap" in m for m, _ in host.events)  # type: ignore
    assert ready_polls  # readiness is awaited after the bootstrap restart
