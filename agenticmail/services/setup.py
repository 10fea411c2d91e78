"""First-run setup (idempotent): data dir, config (0600), keys, database, system checks.

``run_setup`` writes the configuration and the master key; ``start_mail_host`` brings the
chosen mail host up (for stalwart: pull, create, bootstrap, with progress) so the daemon only
adopts it. A re-run with the same answers changes nothing; switching the mail host or the
domain is refused while agents exist (their mailboxes would be stranded).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..config import GATEWAY_MODES, MAIL_HOSTS, Settings, ensure_home, save_settings
from ..errors import ConfigError, DependencyMissing
from ..hosts import build_host
from ..hosts.stalwart import IMAGE, StalwartHost
from ..mail.addresses import validate_address
from ..security.keys import generate_master_key, hash_key, key_prefix
from ..store import agents as agent_store
from ..store import kv
from ..store.db import Database
from ..store.migrations import migrate
from ..store.secret_key import load_or_create
from .checks import Check, docker_check, dovecot_check, python_check
from .relay_gateway import RELAY_KEY
from .routes import ROUTE_KEY

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
                        r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")


@dataclass(frozen=True)
class SetupResult:
    settings: Settings
    master_key: str | None  # the raw key, only when newly generated
    created: bool
    checks: list[Check]
    changes: list[str] = field(default_factory=list)  # settings this run changed

    def to_dict(self) -> dict[str, Any]:
        return {
            "home": str(self.settings.home), "config": str(self.settings.config_path),
            "mail_host": self.settings.mail_host, "domain": self.settings.domain,
            "api_url": self.settings.api_url, "owner_email": self.settings.owner_email,
            "created": self.created, "master_key": self.master_key, "changes": self.changes,
            "gateway_mode": self.settings.gateway_mode,
            "checks": [c.to_dict() for c in self.checks],
        }


def _validate(mail_host: str, api_port: int | None, owner_email: str | None,
              domain: str | None, gateway_mode: str | None) -> tuple[str | None, str | None]:
    if mail_host not in MAIL_HOSTS:
        raise ConfigError(f"unknown mail host {mail_host!r}; choose one of "
                          f"{', '.join(MAIL_HOSTS)}")
    if gateway_mode is not None and gateway_mode not in GATEWAY_MODES:
        raise ConfigError(f"unknown gateway {gateway_mode!r}; choose one of "
                          f"{', '.join(GATEWAY_MODES)}")
    if api_port is not None and not 1 <= api_port <= 65535:
        raise ConfigError(f"invalid API port {api_port}")
    if domain is not None:
        domain = domain.strip().lower().rstrip(".")
        if not _DOMAIN_RE.fullmatch(domain):
            raise ConfigError(f"invalid mail domain {domain!r}")
    return (validate_address(owner_email) if owner_email else None), domain


PORT_SETTINGS = ("api_port", "imap_port", "lmtp_port", "submission_port")


def _validate_ports(settings: Settings, ports: Mapping[str, int | None]) -> dict[str, int]:
    """The port settings asked for: known names, 1-65535, and no two services on one port."""
    given = {k: v for k, v in ports.items() if v is not None}
    for name, port in given.items():
        if name not in PORT_SETTINGS:
            raise ConfigError(f"unknown port setting {name!r}")
        if not 1 <= port <= 65535:
            raise ConfigError(f"invalid {name.removesuffix('_port')} port {port}")
    merged = {name: given.get(name, getattr(settings, name)) for name in PORT_SETTINGS}
    seen: dict[int, str] = {}
    for name, port in merged.items():
        if port in seen:
            raise ConfigError(f"the {seen[port]} and {name} settings both use port {port}",
                              hint="give each service its own port")
        seen[port] = name
    return given


def gateway_in_use(settings: Settings) -> str:
    """What carries internet mail now: the relay account or the SMTP route when one is set
    (the ``gateway_mode`` setting only records the wizard's answer), else that setting."""
    if not settings.db_path.exists():
        return settings.gateway_mode
    db = Database(settings.db_path)
    try:
        relay, route = kv.get(db, RELAY_KEY), kv.get(db, ROUTE_KEY)
    finally:
        db.close()
    if relay is not None:
        return f"relay ({json.loads(relay).get('address')})"
    if route is not None:
        data = json.loads(route)
        return f"SMTP route via {data.get('host')}:{data.get('port')} as {data.get('address')}"
    return settings.gateway_mode


def run_setup(settings: Settings, *, mail_host: str | None = None, api_port: int | None = None,
              owner_email: str | None = None, domain: str | None = None,
              gateway_mode: str | None = None,
              ports: Mapping[str, int | None] | None = None) -> SetupResult:
    """``ports``: other port settings to change (``imap_port``, ``lmtp_port``,
    ``submission_port``; ``api_port`` may be given either way)."""
    mail_host = mail_host or settings.mail_host
    owner_email, domain = _validate(mail_host, api_port, owner_email, domain, gateway_mode)
    port_changes = _validate_ports(settings, {**(ports or {}), "api_port": api_port})
    wanted: dict[str, Any] = {"mail_host": mail_host, "api_port": api_port,
                              "owner_email": owner_email, "domain": domain,
                              "gateway_mode": gateway_mode, **port_changes}
    changes = sorted(k for k, v in wanted.items()
                     if v is not None and getattr(settings, k) != v)
    previous = settings
    settings = replace(settings, **{k: v for k, v in wanted.items() if v is not None})

    checks = [python_check(),
              dovecot_check() if mail_host == "local" else docker_check(settings)]
    for check in checks:
        if not check.ok:
            raise DependencyMissing(f"{check.detail}", hint=check.hint)

    ensure_home(settings)
    load_or_create(settings.secret_key_path)
    db = Database(settings.db_path)
    try:
        migrate(db)
        moving = [k for k in ("mail_host", "domain") if k in changes]
        if moving and previous.config_path.exists() and agent_store.count_agents(db):
            raise ConfigError(
                f"cannot change {' and '.join(moving)} of an install that has agents "
                "(their mailboxes would be left behind)",
                hint="delete the agents first, or set up a new data dir with --home")
        raw_key: str | None = None
        existing = settings.master_key
        if existing and agent_store.key_holder(db, hash_key(existing)) is not None:
            key = existing
        else:
            key = existing or generate_master_key()
            raw_key = None if existing else key
            with db.write() as conn:
                agent_store.revoke_keys(conn, kind="master")
                agent_store.insert_key(conn, kind="master", key_hash=hash_key(key),
                                       prefix=key_prefix(key))
        created = not settings.config_path.exists()
        settings = replace(settings, master_key=key)
        if created or changes or raw_key is not None or settings != previous:
            save_settings(settings)
    finally:
        db.close()
    return SetupResult(settings, raw_key, created, checks, changes)


def start_mail_host(settings: Settings,
                    progress: Callable[[str, Any], None] | None = None) -> str:
    """Bring the configured mail host up ahead of the daemon; a line saying what runs.

    For stalwart this pulls the pinned image, creates and bootstraps the container (the
    daemon adopts it later). The local host's Dovecot is started by the daemon itself.
    """
    if settings.mail_host != "stalwart":
        return "the private Dovecot starts with the daemon"
    host = build_host(settings)
    assert isinstance(host, StalwartHost)
    host.progress = progress
    try:
        host.start()
    finally:
        host.engine.close()
    return f"Stalwart ({IMAGE}) is running at {host.url}"


def agent_names(settings: Settings) -> list[str]:
    """The agents that exist already (none before the first setup)."""
    if not settings.db_path.exists():
        return []
    db = Database(settings.db_path)
    try:
        migrate(db)
        return [a.name for a in agent_store.list_agents(db)]
    finally:
        db.close()
