"""``agenticmail domain setup`` / ``teardown`` through the CLI, against a real daemon whose
production Cloudflare SDK is pointed at the fake v4 API (agenticmail_testing/cloudflare_api.py).
"""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from agenticmail.services import tunnel as tunnel_service
from agenticmail.services.domain_config import CONFIG_KEY, DomainConfig
from agenticmail.services.domain_records import expected_records
from agenticmail.services.domain_setup import worker_source
from agenticmail.store import kv
from agenticmail.store.db import Database
from agenticmail_testing import log_audit
from agenticmail_testing.cloudflare_api import DNS, EMAIL_ROUTING, FakeCloudflare
from agenticmail_testing.daemon import DaemonHandle
from tests.domain.conftest import DOMAIN, cli

HOSTNAME = f"agenticmail.{DOMAIN}"


def _setup(handle: DaemonHandle, cf: FakeCloudflare, token: Path, *extra: str
           ) -> tuple[int, str, str]:
    return cli(handle, "domain", "setup", "--domain", DOMAIN, "--token-file", str(token),
               "--api-base-url", cf.base_url, "--yes", *extra)


def _zone(cf: FakeCloudflare) -> str:
    return next(z for z, data in cf.state.zones.items() if data["name"] == DOMAIN)


def _records(cf: FakeCloudflare) -> set[tuple[Any, ...]]:
    """The zone's records without their ids (what a restore must bring back exactly)."""
    return {(r["type"], r["name"], r["content"], r.get("priority"), r["proxied"], r["ttl"])
            for r in cf.records(_zone(cf))}


def _config(handle: DaemonHandle) -> DomainConfig:
    db = Database(handle.settings.db_path)
    try:
        raw = kv.get(db, CONFIG_KEY)
    finally:
        db.close()
    assert raw is not None
    return DomainConfig.from_json(raw)


def _live_tunnels(cf: FakeCloudflare) -> list[dict[str, Any]]:
    return [t for t in cf.state.tunnels.values() if not t["deleted_at"]]


def _gateway_on_file(handle: DaemonHandle) -> str:
    return str(tomllib.loads(handle.settings.config_path.read_text()).get("gateway_mode",
                                                                          "none"))


def test_setup_from_nothing(clean: DaemonHandle, cf: FakeCloudflare, token: Path) -> None:
    before = cf.records(_zone(cf))
    code, out, err = _setup(clean, cf, token)
    assert code == 0, out + err
    # progress: each step named as it ran, then the summary; the token shown nowhere
    for n, title in enumerate(["Check the API token", "Back up the zone's DNS records",
                               "Cloudflare Tunnel", "Email Routing and DNS", "Email Worker",
                               "Agents' addresses"], 1):
        assert f"[{n}/6]" in err and title in err, err
    assert "Domain mode is set up for example.com" in out
    if tunnel_service.binary(clean.settings) is None:  # how to get it, when this machine has none
        assert "cloudflared is not installed" in out and "domain tunnel install" in out
    assert token.read_text().strip() not in out + err

    config = _config(clean)
    assert config.steps_done == ("token", "backup", "tunnel", "email_routing", "worker",
                                 "addresses")
    # 1. the backup: every record (the fake pages by 3), a private file in the data dir
    assert config.backup_file is not None
    backup = Path(config.backup_file)
    assert backup.parent == clean.settings.home
    assert backup.name.startswith(f"dns-backup-{DOMAIN}-") and backup.suffix == ".json"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    saved = json.loads(backup.read_text())["records"]
    assert sorted(r["id"] for r in saved) == sorted(r["id"] for r in before)
    assert len(before) > cf.per_page_max
    assert any(path.endswith("/dns_records") for _, path in cf.calls)

    # 2. the tunnel: ingress lets only the inbound endpoint through; a proxied CNAME
    [tunnel] = _live_tunnels(cf)
    assert tunnel["config_src"] == "cloudflare" and config.tunnel_id == tunnel["id"]
    assert config.tunnel_token_enc and tunnel["_secret"] not in config.tunnel_token_enc
    ingress = cf.state.tunnel_configs[tunnel["id"]]["config"]["ingress"]
    assert ingress == [
        {"hostname": HOSTNAME, "path": "^/v1/inbound/cloudflare$",
         "service": f"http://127.0.0.1:{clean.settings.api_port}"},
        {"service": "http_status:404"}]

    # 3. Email Routing and the DNS exactly as domain_records says; the conflicting ones gone
    assert cf.state.routing[_zone(cf)]["enabled"] is True
    records = cf.records(_zone(cf))
    for want in expected_records(config):
        matches = [r for r in records if r["type"] == want.type and r["name"] == want.name
                   and r["content"] == want.content]
        assert len(matches) == 1, want
        assert matches[0]["proxied"] == want.proxied
    apex_mx = {r["content"] for r in records if r["type"] == "MX"}
    assert apex_mx == {"route1.mx.cloudflare.net", "route2.mx.cloudflare.net",
                       "route3.mx.cloudflare.net"}
    spf = [r for r in records if r["name"] == DOMAIN and r["content"].startswith("v=spf1")]
    assert [r["content"] for r in spf] == ["v=spf1 include:_spf.mx.cloudflare.net ~all"]
    dmarc = [r["content"] for r in records if r["name"] == f"_dmarc.{DOMAIN}"]
    assert dmarc == [f"v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@{DOMAIN}"]
    dkim = [r["content"] for r in records if r["name"] == f"agenticmail._domainkey.{DOMAIN}"]
    assert dkim == [f"v=DKIM1; k=rsa; p={config.dkim_public_key}"]
    assert config.dkim_private_key_enc and "PRIVATE KEY" not in config.dkim_private_key_enc
    untouched = {("A", DOMAIN), ("CNAME", f"www.{DOMAIN}"), ("A", f"shop.{DOMAIN}")}
    assert untouched <= {(r["type"], r["name"]) for r in records}
    assert any(r["content"] == "google-site-verification=abc123" for r in records)

    # 4. the Worker: the shipped template as a module, its two bindings, on the catch-all
    script = cf.script(config.worker_name)
    assert script is not None
    assert script.metadata["main_module"] in script.modules
    assert list(script.modules.values()) == [worker_source()]
    bindings = {b["name"]: b for b in script.bindings}
    assert bindings["INBOUND_URL"] == {"type": "plain_text", "name": "INBOUND_URL",
                                       "text": f"https://{HOSTNAME}/v1/inbound/cloudflare"}
    assert bindings["INBOUND_SECRET"]["type"] == "secret_text"
    assert cf.state.catch_all[_zone(cf)]["enabled"] is True
    assert cf.state.catch_all[_zone(cf)]["actions"] == [{"type": "worker",
                                                         "value": [config.worker_name]}]

    # 5. the gateway setting, on file and in the running daemon
    assert _gateway_on_file(clean) == "domain"
    with clean.client() as owner:
        described = owner.get("/v1/domain").json()
    assert described["domain"]["domain"] == DOMAIN
    assert all(step["done"] for step in described["steps"])
    assert not any(k.endswith("_enc") for k in described["domain"])
    with clean.client() as owner:  # each step call is in the audit trail (no token in it)
        audit = owner.get("/v1/audit", params={"action": "domain.setup"}).text
    assert '"domain.setup"' in audit and token.read_text().strip() not in audit


def test_the_worker_secret_is_a_secret_binding_never_in_the_script(
        clean: DaemonHandle, cf: FakeCloudflare, token: Path) -> None:
    code, out, err = _setup(clean, cf, token, "--json")
    assert code == 0, out + err
    config = _config(clean)
    script = cf.script(config.worker_name)
    assert script is not None
    secret = next(b["text"] for b in script.bindings if b["name"] == "INBOUND_SECRET")
    log_audit.remember(secret)
    assert secret.startswith("whsec_") and len(secret) > 40
    for text in script.modules.values():
        assert secret not in text and secret.removeprefix("whsec_") not in text
    assert secret not in json.dumps(script.metadata.get("main_module"))
    assert config.inbound_secret_enc and secret not in config.inbound_secret_enc
    assert secret not in out + err and secret not in clean.settings.config_path.read_text()


def test_setup_again_changes_nothing(clean: DaemonHandle, cf: FakeCloudflare,
                                     token: Path) -> None:
    assert _setup(clean, cf, token)[0] == 0
    records, uploads = _records(cf), cf.script(_config(clean).worker_name)
    cf.mutations = 0
    code, out, err = _setup(clean, cf, token, "--json")
    assert code == 0, out + err
    assert cf.mutations == 0, cf.calls
    answer = json.loads(out)
    assert answer["done"] is True and not any(run["changed"] for run in answer["ran"])
    assert [run["step"] for run in answer["ran"]] == ["token", "backup", "tunnel",
                                                     "email_routing", "worker", "addresses"]
    assert _records(cf) == records and len(_live_tunnels(cf)) == 1
    assert uploads is not None and cf.script(_config(clean).worker_name) is uploads
    # and without a token given: the one the daemon keeps serves the re-run
    code, out, err = cli(clean, "domain", "setup", "--yes", "--json")
    assert code == 0, out + err
    assert cf.mutations == 0
    # moving the tunnel's hostname is a teardown first, not a half-moved tunnel
    code, out, err = _setup(clean, cf, token, "--hostname", f"mail.{DOMAIN}")
    assert code == 1 and f"the tunnel's hostname is {HOSTNAME}" in err
    assert cf.mutations == 0


# (step, method, path, nth): a refusal in each step; the mutating ones leave half a step done
FAILURES = [
    ("backup", "GET", r"/dns_records$", 2),  # the second page of the backup
    ("tunnel", "POST", r"/cfd_tunnel$", 1),
    ("tunnel", "PUT", r"/configurations$", 1),  # the tunnel exists; its ingress not yet
    ("tunnel", "POST", r"/dns_records$", 1),  # the CNAME
    ("email_routing", "DELETE", r"/dns_records/", 3),  # half the conflicting records gone
    ("email_routing", "POST", r"/email/routing/dns$", 1),
    ("email_routing", "POST", r"/dns_records$", 2),  # the DKIM record (after SPF)
    ("worker", "PUT", r"/workers/scripts/", 1),
    ("worker", "PUT", r"/rules/catch_all$", 1),
]


@pytest.mark.parametrize("step,method,path,nth", FAILURES,
                         ids=[f"{f[0]}-{f[1]}{f[2]}#{f[3]}" for f in FAILURES])
def test_setup_failing_at_each_step_resumes(clean: DaemonHandle, cf: FakeCloudflare,
                                            token: Path, step: str, method: str, path: str,
                                            nth: int) -> None:
    cf.fail(method, path, nth=nth, status=400, code=1004, message="DNS Validation Error")
    code, out, err = _setup(clean, cf, token)
    assert code == 1, out + err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "DNS Validation Error" in lines[0], err
    assert f"it resumes at this step ({step})" in " ".join(err.split())
    assert "Traceback" not in out + err
    assert step not in _config(clean).steps_done

    code, out, err = _setup(clean, cf, token)  # the fault was one call: this run resumes
    assert code == 0, out + err
    config = _config(clean)
    assert config.steps_done[-1] == "addresses"
    assert len(_live_tunnels(cf)) == 1
    records = cf.records(_zone(cf))
    for want in expected_records(config):
        assert sum(r["type"] == want.type and r["name"] == want.name
                   and r["content"] == want.content for r in records) == 1, want
    # the backup holds the owner's records, not a half-changed zone
    backup = json.loads(Path(config.backup_file or "").read_text())["records"]
    assert any(r["content"] == "aspmx.l.google.com" for r in backup)
    cf.mutations = 0
    assert _setup(clean, cf, token)[0] == 0 and cf.mutations == 0


def test_teardown_restores_the_backed_up_records(clean: DaemonHandle, cf: FakeCloudflare,
                                                 token: Path) -> None:
    before = _records(cf)
    catch_all_before = dict(cf._catch_all(_zone(cf)))
    assert _setup(clean, cf, token)[0] == 0
    worker = _config(clean).worker_name
    assert _records(cf) != before

    code, out, err = cli(clean, "domain", "teardown", "--yes")
    assert code == 0, out + err
    assert "[1/5]" in err and "[5/5]" in err and "restored" in err
    assert _records(cf) == before
    assert _live_tunnels(cf) == [] and cf.script(worker) is None
    assert cf.state.routing[_zone(cf)]["enabled"] is False
    assert cf.state.catch_all[_zone(cf)] == catch_all_before
    assert _gateway_on_file(clean) == "none"
    with clean.client() as owner:
        assert owner.get("/v1/domain").json()["domain"] is None

    cf.mutations = 0  # a second teardown: nothing left to undo
    code, out, err = cli(clean, "domain", "teardown", "--yes", "--json")
    assert code == 0 and json.loads(out)["ran"] == [] and cf.mutations == 0


def test_teardown_failing_half_way_resumes(clean: DaemonHandle, cf: FakeCloudflare,
                                           token: Path) -> None:
    before = _records(cf)
    assert _setup(clean, cf, token)[0] == 0
    cf.fail("DELETE", r"/cfd_tunnel/", status=400, code=1003, message="tunnel busy")
    code, out, err = cli(clean, "domain", "teardown", "--yes")
    assert code == 1 and "tunnel busy" in err
    with clean.client() as owner:
        assert owner.get("/v1/domain").json()["domain"] is not None  # not forgotten yet
    code, out, err = cli(clean, "domain", "teardown", "--yes")
    assert code == 0, out + err
    assert _records(cf) == before and _live_tunnels(cf) == []


def test_a_token_missing_permissions_is_named_and_nothing_changes(
        clean: DaemonHandle, cf: FakeCloudflare, tmp_path: Path) -> None:
    narrow = cf.add_token({DNS, EMAIL_ROUTING})
    log_audit.remember(narrow)
    before = _records(cf)
    backups = set(clean.settings.home.glob("dns-backup-*"))
    code, out, _err = cli(clean, "domain", "setup", "--domain", DOMAIN, "--api-base-url",
                         cf.base_url, "--yes", "--json",
                         env={"CLOUDFLARE_API_TOKEN": narrow})
    assert code == 1
    error = json.loads(out)["error"]
    assert error["code"] == "token_scope"
    assert "Workers edit" in error["message"] and "Tunnel edit" in error["message"]
    assert "Zone DNS edit" not in error["message"]
    assert cf.mutations == 0 and _records(cf) == before
    with clean.client() as owner:
        assert owner.get("/v1/domain").json()["domain"] is None
    assert set(clean.settings.home.glob("dns-backup-*")) == backups


def test_an_invalid_token_or_an_unknown_zone_is_a_clear_error(
        clean: DaemonHandle, cf: FakeCloudflare, token: Path) -> None:
    code, _, err = cli(clean, "domain", "setup", "--domain", DOMAIN, "--api-base-url",
                       cf.base_url, "--yes", env={"CLOUDFLARE_API_TOKEN": "not-a-token"})
    assert code == 1 and "does not accept this API token" in err
    code, _, err = cli(clean, "domain", "setup", "--domain", "nosuch.example.org",
                       "--token-file", str(token), "--api-base-url", cf.base_url, "--yes")
    assert code == 1 and "no Cloudflare zone nosuch.example.org" in err
    code, _, err = cli(clean, "domain", "setup", "--domain", DOMAIN, "--yes")
    assert code == 1 and "--token-file" in err  # --yes never prompts for it
    code, _, err = cli(clean, "domain", "setup", "--domain", DOMAIN, "--yes", "--token-file",
                       str(token.parent / "no-such-file"))
    assert code == 1 and "cannot read --token-file" in err and "Traceback" not in err
    assert cf.mutations == 0


def test_the_token_is_asked_without_echo(clean: DaemonHandle, cf: FakeCloudflare,
                                         token: Path) -> None:
    value = token.read_text().strip()
    code, out, err = cli(clean, "domain", "setup", "--domain", DOMAIN, "--api-base-url",
                         cf.base_url, input=value + "\n")
    assert code == 0, out + err
    assert "Cloudflare API token" in err and value not in out + err


def test_help_explains(domain_daemon: DaemonHandle) -> None:
    code, out, _ = cli(domain_daemon, "domain", "setup", "--help")
    text = " ".join(out.split())
    assert code == 0
    for words in ("Zone DNS edit", "Email Routing edit", "Workers edit", "Tunnel edit",
                  "--token-file", "CLOUDFLARE_API_TOKEN", "teardown"):
        assert words in text, words
    assert "--api-base-url" not in text  # for tests only


@pytest.mark.parametrize("body,status,code", [
    ({"domain": "not a domain", "token": "t"}, 400, "invalid_domain"),
    ({"domain": DOMAIN, "token": "t", "step": "dance"}, 400, "invalid_request"),
    ({"step": "tunnel"}, 503, "not_configured"),
    ({"domain": DOMAIN, "token": "t", "api_base_url": "ftp://x"}, 400, "invalid_request"),
])
def test_bad_setup_input_is_a_clear_4xx(clean: DaemonHandle, body: dict[str, Any],
                                        status: int, code: str | None) -> None:
    with clean.client() as owner:
        r = owner.post("/v1/domain/setup", json=body)
    assert r.status_code == status, r.text
    if code is not None:
        assert r.json()["error"]["code"] == code


def test_setup_input_is_checked_before_anything_changes(
        clean: DaemonHandle, cf: FakeCloudflare, token: Path) -> None:
    value = token.read_text().strip()
    with clean.client() as owner:
        r = owner.post("/v1/domain/setup", json={"domain": DOMAIN, "token": value,
                                                 "api_base_url": cf.base_url,
                                                 "rua_address": "not an address"})
        assert r.status_code == 400, r.text
        r = owner.post("/v1/domain/setup", json={"domain": DOMAIN, "token": value,
                                                 "api_base_url": cf.base_url,
                                                 "catch_all_agent": "nobody"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "agent_not_found"
        r = owner.post("/v1/domain/setup", json={"domain": DOMAIN, "token": value,
                                                 "api_base_url": cf.base_url,
                                                 "step": "token"})
        assert r.status_code == 200, r.text
        r = owner.post("/v1/domain/setup", json={"step": "worker"})  # skips three steps
        assert r.status_code == 409 and r.json()["error"]["code"] == "step_order"
        r = owner.post("/v1/domain/setup", json={"domain": "other.example.net",
                                                 "token": value, "step": "token"})
        assert r.status_code == 409 and "set up for example.com" in r.text
    assert cf.mutations == 0


def test_records_in_the_way_are_replaced_then_restored(clean: DaemonHandle, cf: FakeCloudflare,
                                                       token: Path) -> None:
    """An A record where the tunnel's hostname goes, an Email Routing MX host with another
    priority, a stale DKIM key under the selector: replaced by setup, back after teardown."""
    zone = _zone(cf)
    cf.add_record(zone, "A", HOSTNAME, "192.0.2.99")
    cf.add_record(zone, "MX", DOMAIN, "route1.mx.cloudflare.net", priority=10)
    cf.add_record(zone, "TXT", f"agenticmail._domainkey.{DOMAIN}", "v=DKIM1; p=OLD")
    before = _records(cf)
    code, out, err = _setup(clean, cf, token)
    assert code == 0, out + err
    records = cf.records(zone)
    at_host = [(r["type"], r["content"]) for r in records if r["name"] == HOSTNAME]
    assert at_host == [("CNAME", f"{_config(clean).tunnel_id}.cfargotunnel.com")]
    assert sorted((r["content"], r["priority"]) for r in records if r["type"] == "MX") == [
        ("route1.mx.cloudflare.net", 13), ("route2.mx.cloudflare.net", 86),
        ("route3.mx.cloudflare.net", 24)]
    assert not any("p=OLD" in r["content"] for r in records)
    cf.mutations = 0
    assert _setup(clean, cf, token)[0] == 0 and cf.mutations == 0
    assert cli(clean, "domain", "teardown", "--yes")[0] == 0
    assert _records(cf) == before


def test_the_outbound_path_is_chosen_at_setup(clean: DaemonHandle, cf: FakeCloudflare,
                                              token: Path) -> None:
    # smarthost needs the SMTP route: refused at the first step, before anything changes
    mutations = cf.mutations
    code, out, err = _setup(clean, cf, token, "--outbound", "smarthost", "--json")
    assert code != 0 and json.loads(out)["error"]["code"] == "no_route", out + err
    assert cf.mutations == mutations
    code, out, err = _setup(clean, cf, token, "--spf-ip", "not-an-ip", "--json")
    assert code != 0 and json.loads(out)["error"]["code"] == "invalid_ip", out + err
    assert cf.mutations == mutations

    code, out, err = _setup(clean, cf, token, "--outbound", "direct",
                            "--spf-ip", "203.0.113.7", "--spf-ip", "2001:db8::7")
    assert code == 0, out + err
    config = _config(clean)
    assert config.outbound.value == "direct"
    assert config.spf_ips == ("203.0.113.7", "2001:db8::7")
    spf = [r["content"] for r in cf.records(_zone(cf))
           if r["type"] == "TXT" and r["name"] == DOMAIN and "v=spf1" in r["content"]]
    assert len(spf) == 1 and "ip4:203.0.113.7" in spf[0] and "ip6:2001:db8::7" in spf[0], spf
    # cloudflare email sending: the token and account setup stored are enough
    code, out, err = _setup(clean, cf, token, "--outbound", "cloudflare")
    assert code == 0, out + err
    assert _config(clean).outbound.value == "cloudflare"
    assert _config(clean).spf_ips == ("203.0.113.7", "2001:db8::7")  # kept when not given
