"""Domain mode's saved configuration: which domain, zone, tunnel, Worker and outbound path.

Domain mode (``agenticmail domain setup``) gives every agent ``agent@owners-domain`` with
Cloudflare handling DNS, Email Routing (an Email Worker POSTs each message to the daemon's
``/v1/inbound/cloudflare`` through a Cloudflare Tunnel) and, optionally, sending. What setup
decided lives under the config key ``domain.config`` (JSON); every secret in it (the API
token, the tunnel token, the Worker's signing secret, the DKIM private key) is encrypted by
the daemon's key, as the relay's password is, and read back only through the accessors here.

Other parts of domain mode report their live state under their own config keys (JSON), which
``domain status`` reads: ``domain.tunnel.state`` (the tunnel supervisor), ``domain.inbound.last``
(the inbound endpoint's last message) and ``domain.outbound.last`` (the last delivery attempt
and its path).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from ..store import kv
from .context import ServiceContext, transaction

CONFIG_KEY = "domain.config"
TUNNEL_STATE_KEY = "domain.tunnel.state"
INBOUND_LAST_KEY = "domain.inbound.last"
OUTBOUND_LAST_KEY = "domain.outbound.last"
DKIM_SELECTOR = "agenticmail"
INBOUND_PATH = "/v1/inbound/cloudflare"


class OutboundPath(StrEnum):
    """How domain-mode mail leaves: Cloudflare's email sending, a smarthost (the relay's
    route or any SMTP route), or direct delivery to each recipient's MX."""

    CLOUDFLARE = "cloudflare"
    SMARTHOST = "smarthost"
    DIRECT = "direct"


@dataclass(frozen=True)
class DomainConfig:
    """What domain setup decided. ``*_enc`` fields are encrypted; read them through
    :func:`secret`. ``steps_done`` names the setup steps finished (setup resumes after them)."""

    domain: str
    account_id: str = ""
    zone_id: str = ""
    api_token_enc: str | None = field(default=None, repr=False)
    api_base_url: str | None = None  # None: Cloudflare's own (tests point it at a fake)
    outbound: OutboundPath = OutboundPath.SMARTHOST
    hostname: str = ""  # the public hostname the tunnel routes to the inbound endpoint
    tunnel_id: str | None = None
    tunnel_name: str | None = None
    tunnel_token_enc: str | None = field(default=None, repr=False)
    worker_name: str = "agenticmail-inbound"
    inbound_secret_enc: str | None = field(default=None, repr=False)  # whsec_…, Worker binding
    dkim_selector: str = DKIM_SELECTOR
    dkim_private_key_enc: str | None = field(default=None, repr=False)  # PEM
    dkim_public_key: str | None = None  # the p= value published in DNS
    catch_all_agent: str | None = None  # unknown local parts go here, else a permanent reject
    rua_address: str = ""  # DMARC aggregate reports; the daemon reads them (not an agent)
    backup_file: str | None = None  # dns-backup-<domain>-<time>.json
    # SPF ``include:`` mechanisms: Email Routing's own, plus the outbound path's (a smarthost's)
    spf_includes: tuple[str, ...] = ("_spf.mx.cloudflare.net",)
    spf_ips: tuple[str, ...] = ()  # ``ip4:``/``ip6:`` for direct delivery from a static IP
    steps_done: tuple[str, ...] = ()
    worker_digest: str | None = None  # what was uploaded (script, bindings, secret's hash)
    gateway_before: str = "none"  # the gateway setting before setup (teardown puts it back)

    def to_json(self) -> str:
        data = asdict(self)
        data["outbound"] = self.outbound.value
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> DomainConfig:
        data = json.loads(raw)
        known = {f for f in cls.__dataclass_fields__}
        data = {k: v for k, v in data.items() if k in known}
        data["outbound"] = OutboundPath(data.get("outbound", OutboundPath.SMARTHOST))
        for name, value in data.items():
            if isinstance(value, list):  # JSON has no tuples
                data[name] = tuple(value)
        return cls(**data)

    def with_step(self, step: str) -> DomainConfig:
        return self if step in self.steps_done else replace(
            self, steps_done=(*self.steps_done, step))


def load(ctx: ServiceContext) -> DomainConfig | None:
    """The saved domain configuration, or None when domain mode was never set up."""
    raw = kv.get(ctx.db, CONFIG_KEY)
    return None if raw is None else DomainConfig.from_json(raw)


def save(ctx: ServiceContext, config: DomainConfig) -> None:
    """Save ``config``; the parts running from it (the tunnel) are told at once."""
    with transaction(ctx) as tx:
        kv.put(tx.conn, CONFIG_KEY, config.to_json())
    ctx.domain_changed()


def clear(ctx: ServiceContext) -> None:
    """Forget domain mode; the parts running from it (the tunnel) stop at once."""
    with transaction(ctx) as tx:
        tx.conn.execute("DELETE FROM config WHERE key = ?", (CONFIG_KEY,))
    ctx.domain_changed()


def encrypt(ctx: ServiceContext, plaintext: str) -> str:
    """A value for one of the ``*_enc`` fields."""
    return ctx.secrets.encrypt(plaintext)


def secret(ctx: ServiceContext, encrypted: str | None) -> str | None:
    """The plaintext of one ``*_enc`` field (None stays None)."""
    return None if encrypted is None else ctx.secrets.decrypt(encrypted)


def external_address(config: DomainConfig, agent_name: str) -> str:
    """An agent's address on the owner's domain: ``agent@domain``."""
    return f"{agent_name.lower()}@{config.domain}"


def read_state(ctx: ServiceContext, key: str) -> dict[str, Any] | None:
    """One of the live-state documents (``TUNNEL_STATE_KEY``, ``INBOUND_LAST_KEY``,
    ``OUTBOUND_LAST_KEY``), or None before anything was recorded."""
    raw = kv.get(ctx.db, key)
    return None if raw is None else dict(json.loads(raw))


def write_state(ctx: ServiceContext, key: str, state: dict[str, Any]) -> None:
    with ctx.db.write() as conn:
        kv.put(conn, key, json.dumps(state, sort_keys=True))
