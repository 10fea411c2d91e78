"""Domain setup and teardown: the owner's domain on Cloudflare, step by step, resumable.

``setup`` runs the steps in order; each is idempotent (it compares what Cloudflare has with
what domain mode needs and changes only the difference), so a re-run changes nothing and a run
that failed half-way resumes where it stopped. Progress is recorded in
``DomainConfig.steps_done``. The steps:

``token``          the API token is valid and holds the four permissions (named when missing),
                   checked by reads only, before anything is changed; the zone and account found
``backup``         every DNS record of the zone saved to ``dns-backup-<domain>-<time>.json``
                   (0600, in the data dir), with Email Routing's state and catch-all rule
``tunnel``         a named Cloudflare Tunnel (created or reused), its token stored encrypted,
                   ingress: only ``^/v1/inbound/cloudflare$`` on the hostname reaches the daemon,
                   anything else gets a 404; the proxied CNAME hostname → the tunnel
``email_routing``  Email Routing on; DNS exactly as ``domain_records.expected_records``: its MX,
                   SPF, the DKIM key (generated here), DMARC; conflicting records removed
``worker``         the Email Worker uploaded with its bindings (the signing secret only in a
                   secret binding) and bound to the catch-all rule
``addresses``      every agent gets ``agent@domain`` (Stalwart: an alias on its account); the
                   gateway setting becomes ``domain``

``teardown`` undoes them in reverse order (the catch-all rule and Worker, the records it added,
Email Routing when it was off before, the tunnel and its CNAME, then the backed-up records it
removed are restored) and forgets the configuration; it is idempotent too.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import GatewayMode, load_settings, save_settings, write_private
from ..errors import AgenticMailError, Conflict, InvalidRequest, NotConfigured, NotFound
from ..hosts.stalwart import StalwartHost
from ..log import register_secret
from ..mail.addresses import validate_address
from ..models import Agent
from ..providers.cloudflare import CloudflareApi
from ..security.keys import generate_dkim_key, generate_webhook_secret
from ..store import agents as agent_store
from . import domain_config, domain_outbound
from .context import ServiceContext
from .domain_config import INBOUND_PATH, DomainConfig
from .domain_records import ExpectedRecord, expected_records
from .setup import _DOMAIN_RE

WORKER_TEMPLATE = "templates/email_worker.js"
WORKER_MODULE = "email_worker.js"
DNS_PAGE = 100


@dataclass(frozen=True)
class Step:
    name: str
    title: str


STEPS = (
    Step("token", "Check the API token and its permissions, find the zone"),
    Step("backup", "Back up the zone's DNS records"),
    Step("tunnel", "Cloudflare Tunnel to the inbound endpoint"),
    Step("email_routing", "Email Routing and DNS (MX, SPF, DKIM, DMARC)"),
    Step("worker", "Email Worker on the catch-all rule"),
    Step("addresses", "Agents' addresses on the domain"),
)
STEP_NAMES = tuple(s.name for s in STEPS)


@dataclass(frozen=True)
class SetupInput:
    """What the owner gives ``domain setup``; only ``domain`` and (the first time) ``token``
    are needed."""

    domain: str | None = None
    token: str | None = None
    hostname: str | None = None  # default: agenticmail.<domain>
    rua_address: str | None = None  # default: dmarc-reports@<domain>
    catch_all_agent: str | None = None
    api_base_url: str | None = None  # tests: the fake API
    outbound: str | None = None  # how mail leaves: cloudflare, smarthost (default) or direct
    spf_ips: tuple[str, ...] | None = None  # this machine's public IPs, for direct delivery


@dataclass
class StepOutcome:
    step: str
    title: str
    changes: list[str] = field(default_factory=list)  # what this run changed, in words

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "title": self.title, "changed": bool(self.changes),
                "changes": self.changes}


StepFn = Callable[[ServiceContext, CloudflareApi, DomainConfig, StepOutcome], DomainConfig]


# -- the public view ------------------------------------------------------------------------------

def inbound_url(config: DomainConfig) -> str:
    return f"https://{config.hostname}{INBOUND_PATH}"


def public_config(config: DomainConfig | None) -> dict[str, Any] | None:
    """The configuration without its secrets."""
    if config is None:
        return None
    data = json.loads(config.to_json())
    for name in list(data):
        if name.endswith("_enc"):
            data[name.removesuffix("_enc") + "_set"] = data.pop(name) is not None
    data["inbound_url"] = inbound_url(config) if config.hostname else None
    return dict(data)


def describe(ctx: ServiceContext) -> dict[str, Any]:
    """The saved configuration and each step, done or not."""
    config = domain_config.load(ctx)
    done = set(config.steps_done) if config else set()
    return {"domain": public_config(config),
            "steps": [{"step": s.name, "title": s.title, "done": s.name in done}
                      for s in STEPS],
            "teardown": list(TEARDOWN)}


# -- setup ----------------------------------------------------------------------------------------

_RUNNING = threading.Lock()  # one setup or teardown at a time (they share the config)


def setup(ctx: ServiceContext, given: SetupInput, *, step: str | None = None) -> dict[str, Any]:
    """Run every step in order (``step``: only that one; the steps before it must be done).
    Returns what each step changed, the configuration and the steps still to run."""
    with _exclusive():
        return _setup(ctx, given, step)


@contextmanager
def _exclusive() -> Iterator[None]:
    if not _RUNNING.acquire(timeout=1.0):
        raise Conflict("another domain setup or teardown is running", code="busy",
                       hint="wait for it to finish, then run the command again")
    try:
        yield
    finally:
        _RUNNING.release()


def _setup(ctx: ServiceContext, given: SetupInput, step: str | None) -> dict[str, Any]:
    if step is not None and step not in STEP_NAMES:
        raise InvalidRequest(f"unknown step {step!r}; the steps are {', '.join(STEP_NAMES)}")
    config = domain_config.load(ctx)
    wanted = [step] if step is not None else list(STEP_NAMES)
    if wanted[0] != "token":
        if config is None:
            raise NotConfigured("domain setup has not checked a token yet",
                                hint="agenticmail domain setup --domain DOMAIN")
        before = STEP_NAMES[:STEP_NAMES.index(wanted[0])]
        missing = [s for s in before if s not in config.steps_done]
        if missing:
            raise Conflict(f"run the step {missing[0]!r} first", code="step_order")
    ran: list[StepOutcome] = []
    for name in wanted:
        outcome = StepOutcome(name, next(s.title for s in STEPS if s.name == name))
        if name == "token":
            config = _check_token(ctx, config, given, outcome)
        else:
            assert config is not None
            try:
                with _api(ctx, config) as api:
                    config = _RUN[name](ctx, api, config, outcome)
            except AgenticMailError as exc:
                exc.hint = exc.hint or (f"run `agenticmail domain setup` again once the cause "
                                        f"is fixed: it resumes at this step ({name})")
                raise
        config = config.with_step(name)
        domain_config.save(ctx, config)
        ran.append(outcome)
    assert config is not None
    return {"ran": [o.to_dict() for o in ran], "domain": public_config(config),
            "remaining": [s for s in STEP_NAMES if s not in config.steps_done],
            "done": all(s in config.steps_done for s in STEP_NAMES)}


def _api(ctx: ServiceContext, config: DomainConfig) -> CloudflareApi:
    token = domain_config.secret(ctx, config.api_token_enc)
    if not token:
        raise NotConfigured("no Cloudflare API token is stored",
                            hint="agenticmail domain setup --domain DOMAIN (asks for it)")
    return CloudflareApi(token, base_url=config.api_base_url)


def _normal_domain(raw: str) -> str:
    domain = raw.strip().lower().rstrip(".")
    if not _DOMAIN_RE.fullmatch(domain) or "." not in domain:
        raise InvalidRequest(f"invalid domain {raw!r}", code="invalid_domain")
    return domain


def _check_token(ctx: ServiceContext, config: DomainConfig | None, given: SetupInput,
                 outcome: StepOutcome) -> DomainConfig:
    """Step ``token``: reads only; nothing is saved unless the token can do everything."""
    domain = _normal_domain(given.domain) if given.domain else (config.domain if config else "")
    if not domain:
        raise InvalidRequest("which domain? give --domain", code="invalid_domain")
    if config is not None and config.domain != domain:
        raise Conflict(f"domain mode is set up for {config.domain}",
                       hint="agenticmail domain teardown first")
    token = given.token or (domain_config.secret(ctx, config.api_token_enc) if config else None)
    if token:
        register_secret(token)  # never in a log line
    if not token:
        raise InvalidRequest("a Cloudflare API token is needed", code="token_missing",
                             hint="--token-file FILE, CLOUDFLARE_API_TOKEN, or the prompt")
    base_url = given.api_base_url or (config.api_base_url if config else None)
    with CloudflareApi(token, base_url=base_url) as api:
        if api.verify_token() != "active":
            raise InvalidRequest("Cloudflare does not accept this API token (invalid, expired "
                                 "or disabled)", code="token_invalid")
        zone = api.find_zone(domain)
        if zone is None:
            raise NotFound(f"the token sees no Cloudflare zone {domain}",
                           code="zone_not_found",
                           hint="add the domain to Cloudflare, or give the token access to it "
                                "(Zone Resources: include the zone)")
        missing = api.missing_permissions(zone.id, zone.account_id)
    if missing:
        raise InvalidRequest(
            f"the API token lacks {', '.join(missing)}: nothing was changed",
            code="token_scope", hint="edit the token in the Cloudflare dashboard (My Profile → "
                                     "API Tokens) and add them; docs/domain.md lists all four")
    hostname = (given.hostname or (config.hostname if config else "")
                or f"agenticmail.{domain}").lower().rstrip(".")
    if config is not None and config.tunnel_id and config.hostname \
            and hostname != config.hostname:
        raise Conflict(f"the tunnel's hostname is {config.hostname}",
                       hint="to move it: agenticmail domain teardown, then setup with the "
                            "new --hostname")
    if hostname != domain and not hostname.endswith("." + domain):
        raise InvalidRequest(f"the hostname {hostname} is not in the zone {domain}",
                             code="invalid_hostname")
    rua = validate_address(given.rua_address or (config.rua_address if config else "")
                           or f"dmarc-reports@{domain}")
    if given.catch_all_agent and agent_store.find_agent(ctx.db, given.catch_all_agent) is None:
        raise NotFound(f"no agent named {given.catch_all_agent!r}", code="agent_not_found")
    base = config or DomainConfig(domain=domain)
    updated = replace(
        base, account_id=zone.account_id, zone_id=zone.id, api_base_url=base_url,
        api_token_enc=(domain_config.encrypt(ctx, token) if given.token or config is None
                       else base.api_token_enc),
        hostname=hostname, rua_address=rua,
        catch_all_agent=given.catch_all_agent or base.catch_all_agent,
        spf_ips=base.spf_ips if given.spf_ips is None else _spf_ips(given.spf_ips),
        tunnel_name=base.tunnel_name or f"agenticmail-{domain.replace('.', '-')}")
    if given.outbound is not None:
        updated = replace(updated, outbound=domain_outbound.checked_path(ctx, updated,
                                                                         given.outbound))
    if config is None:
        outcome.changes.append(f"zone {domain} found (account {zone.account_id})")
    return updated


def _spf_ips(given: Iterable[str]) -> tuple[str, ...]:
    """The addresses SPF authorises for direct delivery (``ip4:``/``ip6:``), checked."""
    try:
        return tuple(str(ipaddress.ip_address(ip.strip())) for ip in given)
    except ValueError as exc:
        raise InvalidRequest(f"--spf-ip: {exc}", code="invalid_ip") from None


def _backup(ctx: ServiceContext, api: CloudflareApi, config: DomainConfig,
            outcome: StepOutcome) -> DomainConfig:
    """Step ``backup``: once; a later run keeps the first backup (the owner's records)."""
    if config.backup_file and Path(config.backup_file).exists():
        return config
    records = api.dns_records(config.zone_id, per_page=DNS_PAGE)
    taken = datetime.now(UTC)
    path = ctx.settings.home / f"dns-backup-{config.domain}-{taken:%Y%m%dT%H%M%SZ}.json"
    document = {"domain": config.domain, "zone_id": config.zone_id,
                "taken_at": taken.isoformat(timespec="seconds"),
                "email_routing_enabled": api.email_routing_enabled(config.zone_id),
                "catch_all": api.catch_all(config.zone_id), "records": records}
    write_private(path, json.dumps(document, indent=2, sort_keys=True).encode())
    outcome.changes.append(f"{len(records)} records saved to {path}")
    return replace(config, backup_file=str(path))


def read_backup(config: DomainConfig) -> dict[str, Any]:
    if not config.backup_file or not Path(config.backup_file).exists():
        return {"records": [], "email_routing_enabled": False, "catch_all": None}
    return dict(json.loads(Path(config.backup_file).read_text()))


# -- records: compare, remove what conflicts, add what is missing ------------------------------

def _unquoted(text: str) -> str:
    text = text.strip()
    if text.startswith('"') and text.endswith('"'):
        text = "".join(part for part in text[1:-1].split('" "'))
    return text


def _same(record: dict[str, Any], want: ExpectedRecord) -> bool:
    if record["type"] != want.type or record["name"] != want.name:
        return False
    content = _unquoted(str(record["content"])) if want.type == "TXT" else record["content"]
    if str(content).rstrip(".").lower() != want.content.rstrip(".").lower() \
            and content != want.content:
        return False
    if want.type == "MX" and record.get("priority") is not None \
            and int(record["priority"]) != want.priority:
        return False
    return bool(record.get("proxied")) == want.proxied or want.type != "CNAME"


def _slot(record: dict[str, Any], want: ExpectedRecord) -> bool:
    """Is ``record`` in the place ``want`` fills (same name, same kind of record)?"""
    if record["name"] != want.name:
        return False
    if want.purpose == "mx":
        return bool(record["type"] == "MX")
    if want.purpose == "spf":
        return record["type"] == "TXT" and _unquoted(str(record["content"])).lower(
        ).startswith("v=spf1")
    if want.purpose in ("dmarc", "dkim"):
        return bool(record["type"] == "TXT")
    if want.purpose == "tunnel":
        return record["type"] in ("A", "AAAA", "CNAME")
    return False


def _contradicts(record: dict[str, Any], wanted: list[ExpectedRecord]) -> bool:
    """Does ``record`` stand where a wanted record goes without being one of them (another
    MX host, another SPF or DMARC, an A record at the tunnel's hostname...)?"""
    return any(_slot(record, w) for w in wanted) and not any(_same(record, w) for w in wanted)


def _reconcile(api: CloudflareApi, config: DomainConfig, wanted: Iterable[ExpectedRecord],
               outcome: StepOutcome) -> None:
    """Remove the records that contradict ``wanted`` (the backup has them) and add those
    missing. Nothing is written when the zone already matches."""
    wanted = list(wanted)
    records = api.dns_records(config.zone_id, per_page=DNS_PAGE)
    kept = []
    for record in records:
        if _contradicts(record, wanted):
            api.delete_record(config.zone_id, record["id"])
            outcome.changes.append(f"removed {record['type']} {record['name']} "
                                   f"{record['content']!r} (in the backup)")
        else:
            kept.append(record)
    for want in wanted:
        if not any(_same(r, want) for r in kept):
            api.create_record(config.zone_id, {
                "type": want.type, "name": want.name, "content": want.content,
                "priority": want.priority, "proxied": want.proxied, "ttl": 1,
                "comment": "agenticmail domain mode"})
            outcome.changes.append(f"added {want.type} {want.name} ({want.purpose})")


def _tunnel(ctx: ServiceContext, api: CloudflareApi, config: DomainConfig,
            outcome: StepOutcome) -> DomainConfig:
    """Step ``tunnel``: the tunnel, its token, its ingress and the hostname's CNAME."""
    name = config.tunnel_name or f"agenticmail-{config.domain.replace('.', '-')}"
    tunnel_id = api.find_tunnel(config.account_id, name)
    if tunnel_id is None:
        tunnel_id = api.create_tunnel(config.account_id, name)
        outcome.changes.append(f"created the tunnel {name}")
    if tunnel_id != config.tunnel_id or config.tunnel_token_enc is None:
        config = replace(config, tunnel_id=tunnel_id, tunnel_name=name,
                         tunnel_token_enc=domain_config.encrypt(
                             ctx, api.tunnel_token(config.account_id, tunnel_id)))
        domain_config.save(ctx, config)
    ingress = tunnel_ingress(config, ctx.settings.api_port)
    if api.tunnel_ingress(config.account_id, tunnel_id) != ingress:
        api.set_tunnel_ingress(config.account_id, tunnel_id, ingress)
        outcome.changes.append(f"ingress: only https://{config.hostname}{INBOUND_PATH} "
                               f"reaches 127.0.0.1:{ctx.settings.api_port}")
    _reconcile(api, config, [r for r in expected_records(config) if r.purpose == "tunnel"],
               outcome)
    return config


def tunnel_ingress(config: DomainConfig, api_port: int) -> list[dict[str, Any]]:
    """Only the inbound endpoint's exact path on the hostname reaches the daemon; every other
    request (any path, any hostname) gets a 404 at Cloudflare's edge."""
    return [{"hostname": config.hostname, "path": f"^{INBOUND_PATH}$",
             "service": f"http://127.0.0.1:{api_port}"},
            {"service": "http_status:404"}]


def _email_routing(ctx: ServiceContext, api: CloudflareApi, config: DomainConfig,
                   outcome: StepOutcome) -> DomainConfig:
    """Step ``email_routing``: Email Routing on, then the mail records exactly as expected."""
    if config.dkim_private_key_enc is None or not config.dkim_public_key:
        private, public = generate_dkim_key()
        config = replace(config, dkim_private_key_enc=domain_config.encrypt(ctx, private),
                         dkim_public_key=public)
        domain_config.save(ctx, config)
        outcome.changes.append(f"generated the DKIM key (selector {config.dkim_selector})")
    mail = [r for r in expected_records(config) if r.purpose != "tunnel"]
    if not api.email_routing_enabled(config.zone_id):
        # Email Routing refuses to start beside other MX hosts: those go first (backed up)
        mx = [r for r in mail if r.purpose == "mx"]
        for record in api.dns_records(config.zone_id, per_page=DNS_PAGE):
            if _contradicts(record, mx):
                api.delete_record(config.zone_id, record["id"])
                outcome.changes.append(f"removed MX {record['content']} (in the backup)")
        api.enable_email_routing(config.zone_id, config.domain)
        outcome.changes.append("enabled Email Routing")
    _reconcile(api, config, mail, outcome)
    return config


def worker_source() -> str:
    return resources.files("agenticmail").joinpath(WORKER_TEMPLATE).read_text()


def _worker(ctx: ServiceContext, api: CloudflareApi, config: DomainConfig,
            outcome: StepOutcome) -> DomainConfig:
    """Step ``worker``: upload (when changed) and bind to the catch-all rule."""
    secret = domain_config.secret(ctx, config.inbound_secret_enc)
    if not secret:
        secret = generate_webhook_secret()
        config = replace(config, inbound_secret_enc=domain_config.encrypt(ctx, secret),
                         worker_digest=None)
        domain_config.save(ctx, config)
    source = worker_source()
    bindings = [{"type": "plain_text", "name": "INBOUND_URL", "text": inbound_url(config)},
                {"type": "secret_text", "name": "INBOUND_SECRET", "text": secret}]
    digest = hashlib.sha256(json.dumps(
        [source, bindings[0], hashlib.sha256(secret.encode()).hexdigest()]).encode()
    ).hexdigest()
    if digest != config.worker_digest \
            or config.worker_name not in api.worker_names(config.account_id):
        api.upload_worker(config.account_id, config.worker_name, module_name=WORKER_MODULE,
                          source=source, bindings=bindings)
        config = replace(config, worker_digest=digest)
        domain_config.save(ctx, config)
        outcome.changes.append(f"uploaded the Worker {config.worker_name}")
    actions = [{"type": "worker", "value": [config.worker_name]}]
    rule = api.catch_all(config.zone_id)
    if not rule.get("enabled") or rule.get("actions") != actions:
        api.set_catch_all(config.zone_id, actions=actions, enabled=True,
                          name="agenticmail inbound")
        outcome.changes.append("catch-all rule → the Worker")
    return config


def _addresses(ctx: ServiceContext, api: CloudflareApi, config: DomainConfig,
               outcome: StepOutcome) -> DomainConfig:
    """Step ``addresses``: each agent's ``agent@domain``; the gateway setting."""
    host = ctx.host
    for agent in agent_store.list_agents(ctx.db):
        external = domain_config.external_address(config, agent.name)
        # the local host routes inbound domain mail by local part: nothing to add there
        if isinstance(host, StalwartHost) and host.add_external_address(agent.address,
                                                                        external):
            outcome.changes.append(f"{agent.address} also receives {external}")
    if ctx.settings.gateway_mode != GatewayMode.DOMAIN:
        config = replace(config, gateway_before=str(ctx.settings.gateway_mode))
        _set_gateway(ctx, GatewayMode.DOMAIN)
        outcome.changes.append("gateway: domain")
    return config


def agent_created(ctx: ServiceContext, agent: Agent) -> None:
    """A new agent in domain mode gets ``agent@domain`` too (on Stalwart: added to its
    account; the local host routes by local part already)."""
    config = domain_config.load(ctx)
    if config is not None and "addresses" in config.steps_done \
            and isinstance(ctx.host, StalwartHost):
        ctx.host.add_external_address(agent.address,
                                      domain_config.external_address(config, agent.name))


def _set_gateway(ctx: ServiceContext, mode: GatewayMode) -> None:
    """Record the gateway in ``config.toml`` (the file's own values: never the environment's)
    and in the running daemon's settings."""
    on_file = load_settings(ctx.settings.home, env={})
    if on_file.config_path.exists():
        save_settings(replace(on_file, gateway_mode=mode))
    ctx.settings = replace(ctx.settings, gateway_mode=mode)


_RUN: dict[str, StepFn] = {
    "backup": _backup, "tunnel": _tunnel, "email_routing": _email_routing,
    "worker": _worker, "addresses": _addresses,
}


# -- teardown -------------------------------------------------------------------------------------

TEARDOWN = ("addresses", "worker", "email_routing", "tunnel", "backup")


def teardown(ctx: ServiceContext, *, step: str | None = None) -> dict[str, Any]:
    """Undo setup in reverse order (``step``: only that one). Each undo looks at what is
    there, so a teardown that failed resumes, and one with nothing left to undo is a no-op."""
    with _exclusive():
        return _teardown(ctx, step)


def _teardown(ctx: ServiceContext, step: str | None) -> dict[str, Any]:
    if step is not None and step not in TEARDOWN:
        raise InvalidRequest(f"unknown step {step!r}; teardown runs {', '.join(TEARDOWN)}")
    config = domain_config.load(ctx)
    if config is None:
        return {"ran": [], "domain": None, "remaining": [], "done": True}
    ran: list[StepOutcome] = []
    wanted = [step] if step is not None else list(TEARDOWN)
    if config.zone_id and config.api_token_enc:
        with _api(ctx, config) as api:
            for name in wanted:
                outcome = StepOutcome(name, _UNDO_TITLES[name])
                try:
                    config = _UNDO[name](ctx, api, config, outcome)
                except AgenticMailError as exc:
                    exc.hint = exc.hint or ("run `agenticmail domain teardown` again once the "
                                            f"cause is fixed: it resumes ({name})")
                    raise
                config = replace(config, steps_done=tuple(
                    s for s in config.steps_done if s != name))
                domain_config.save(ctx, config)
                ran.append(outcome)
    finished = "backup" in wanted or not (config.zone_id and config.api_token_enc)
    if finished:
        domain_config.clear(ctx)
    return {"ran": [o.to_dict() for o in ran],
            "domain": None if finished else public_config(config),
            "remaining": [] if finished else [s for s in TEARDOWN if s not in wanted
                                              and TEARDOWN.index(s) > TEARDOWN.index(
                                                  wanted[-1])],
            "done": finished}


def _undo_addresses(ctx: ServiceContext, api: CloudflareApi, config: DomainConfig,
                    outcome: StepOutcome) -> DomainConfig:
    host = ctx.host
    if isinstance(host, StalwartHost):
        for agent in agent_store.list_agents(ctx.db):
            external = domain_config.external_address(config, agent.name)
            if host.remove_external_address(agent.address, external):
                outcome.changes.append(f"{agent.address} no longer receives {external}")
    if ctx.settings.gateway_mode == GatewayMode.DOMAIN:
        _set_gateway(ctx, GatewayMode(config.gateway_before or GatewayMode.NONE))
        outcome.changes.append(f"gateway: {config.gateway_before or 'none'}")
    return config


def _undo_worker(ctx: ServiceContext, api: CloudflareApi, config: DomainConfig,
                 outcome: StepOutcome) -> DomainConfig:
    before = read_backup(config).get("catch_all") or {
        "enabled": False, "actions": [{"type": "drop"}], "name": ""}
    rule = api.catch_all(config.zone_id)
    if (rule.get("enabled"), rule.get("actions")) != (before.get("enabled"),
                                                       before.get("actions")):
        api.set_catch_all(config.zone_id, actions=list(before.get("actions") or []),
                          enabled=bool(before.get("enabled")), name=before.get("name") or "")
        outcome.changes.append("catch-all rule restored")
    if config.worker_name in api.worker_names(config.account_id):
        api.delete_worker(config.account_id, config.worker_name)
        outcome.changes.append(f"deleted the Worker {config.worker_name}")
    return replace(config, worker_digest=None)


def _backed_up(backup: dict[str, Any], record: dict[str, Any]) -> bool:
    return any(_key(old) == _key(record) for old in backup.get("records") or [])


def _key(record: dict[str, Any]) -> tuple[Any, ...]:
    priority = record.get("priority")
    return (record.get("type"), record.get("name"), _unquoted(str(record.get("content"))),
            None if priority is None else int(priority))


def _remove_added(api: CloudflareApi, config: DomainConfig, purposes: set[str],
                  outcome: StepOutcome) -> None:
    """Delete the records setup added for ``purposes`` (those the backup has stay)."""
    backup = read_backup(config)
    wanted = [r for r in expected_records(config) if r.purpose in purposes]
    for record in api.dns_records(config.zone_id, per_page=DNS_PAGE):
        if any(_same(record, w) for w in wanted) and not _backed_up(backup, record):
            api.delete_record(config.zone_id, record["id"])
            outcome.changes.append(f"removed {record['type']} {record['name']}")


def _undo_email_routing(ctx: ServiceContext, api: CloudflareApi, config: DomainConfig,
                        outcome: StepOutcome) -> DomainConfig:
    if not read_backup(config).get("email_routing_enabled") \
            and api.email_routing_enabled(config.zone_id):
        api.disable_email_routing(config.zone_id)
        outcome.changes.append("disabled Email Routing")
    _remove_added(api, config, {"mx", "spf", "dkim", "dmarc"}, outcome)
    return config


def _undo_tunnel(ctx: ServiceContext, api: CloudflareApi, config: DomainConfig,
                 outcome: StepOutcome) -> DomainConfig:
    _remove_added(api, config, {"tunnel"}, outcome)
    if config.tunnel_id and api.delete_tunnel(config.account_id, config.tunnel_id):
        outcome.changes.append(f"deleted the tunnel {config.tunnel_name}")
    return replace(config, tunnel_token_enc=None)


def _restore(ctx: ServiceContext, api: CloudflareApi, config: DomainConfig,
             outcome: StepOutcome) -> DomainConfig:
    """Recreate every backed-up record that is no longer there."""
    backup = read_backup(config)
    current = {_key(r) for r in api.dns_records(config.zone_id, per_page=DNS_PAGE)}
    for record in backup.get("records") or []:
        if _key(record) not in current:
            api.create_record(config.zone_id, record)
            current.add(_key(record))
            outcome.changes.append(f"restored {record['type']} {record['name']}")
    return config


_UNDO: dict[str, StepFn] = {
    "addresses": _undo_addresses, "worker": _undo_worker,
    "email_routing": _undo_email_routing, "tunnel": _undo_tunnel, "backup": _restore,
}
_UNDO_TITLES = {
    "addresses": "Agents' domain addresses and the gateway setting",
    "worker": "Catch-all rule and the Email Worker",
    "email_routing": "Email Routing and the mail records",
    "tunnel": "The tunnel and its hostname",
    "backup": "Restore the backed-up DNS records",
}

__all__ = ["STEPS", "STEP_NAMES", "TEARDOWN", "SetupInput", "describe", "inbound_url",
           "public_config", "read_backup", "setup", "teardown", "tunnel_ingress",
           "worker_source"]
