"""Domain mode's outbound side: mail an agent sends to the internet leaves as ``agent@domain``.

Domain mode is on when the ``gateway_mode`` setting is ``domain`` and setup saved a
:class:`~agenticmail.services.domain_config.DomainConfig` (:func:`active`). Then:

* **Who.** An agent's external mail is From ``agent@domain`` and its envelope sender is the
  same (:func:`outbound_address`); that address is one of the agent's own (identity's rules
  for From/Sender/Reply-To accept it).
* **Local.** Mail to ``<known agent>@domain`` or ``agent+tag@domain`` is delivered to that
  agent like agent-to-agent mail (:func:`agent_at_domain`); it never goes out and back in.
* **How it leaves** (``DomainConfig.outbound``, switched with :func:`set_path`): ``cloudflare``
  (Cloudflare's email sending, which signs it), ``smarthost`` (the SMTP route: a relay account
  or any server) or ``direct`` (each recipient domain's MX, one transaction per domain,
  opportunistic STARTTLS). By the smarthost or direct, the message is DKIM-signed here first
  (``DomainConfig.dkim_selector`` and its private key).
* **Outcome.** 4xx, network trouble and Cloudflare being unreachable are transient (the outbox
  retries with its backoff); 5xx and Cloudflare refusing are permanent (the row fails as any
  other send). Each attempt is recorded under ``OUTBOUND_LAST_KEY`` for ``domain status``.

Delivery calls :func:`send` for the external part of an outbox row: everything before it
(the guard, the outbox, the audit) and after it (events, the Sent copy) is the same as for
any other route.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from ..config import GatewayMode
from ..errors import (
    AgenticMailError,
    CloudflareError,
    CloudflareUnavailable,
    ConfigError,
    Conflict,
    DeliveryInDoubt,
    InvalidRequest,
    PermanentDeliveryError,
    SignInRequired,
    TransientDeliveryError,
)
from ..mail import smtp
from ..mail.addresses import domain_of, split_plus
from ..models import Agent
from ..store import agents as agent_store
from ..timestamps import now_iso
from . import domain_config
from .context import ServiceContext
from .domain_config import OUTBOUND_LAST_KEY, DomainConfig, OutboundPath, external_address
from .routes import get_route, route_address

log = logging.getLogger(__name__)

PROGRESS_PREFIX = "domain.outbound.progress."  # + outbox id: domains done (several domains)


def active(ctx: ServiceContext) -> DomainConfig | None:
    """The domain configuration when domain mode is on, else None."""
    if ctx.settings.gateway_mode != GatewayMode.DOMAIN:
        return None
    return domain_config.load(ctx)


def agent_at_domain(ctx: ServiceContext, config: DomainConfig, address: str) -> Agent | None:
    """The agent ``address`` (``agent@domain`` or ``agent+tag@domain``) names, or None."""
    base, _ = split_plus(address)
    local, _, domain = base.rpartition("@")
    if domain.lower() != config.domain.lower():
        return None
    agent = agent_store.find_agent_by_address(ctx.db, f"{local.lower()}@{ctx.settings.domain}")
    if agent is None or external_address(config, agent.name).lower() != base.lower():
        return None
    return agent


def outbound_address(ctx: ServiceContext, agent: Agent) -> str | None:
    """The address ``agent``'s mail to the internet comes from in domain mode
    (``agent@domain``), or None when domain mode is off."""
    config = active(ctx)
    return None if config is None else external_address(config, agent.name)


def has_way_out(ctx: ServiceContext) -> bool:
    """Whether mail to the internet can leave now (domain mode's path, else the route)."""
    config = active(ctx)
    if config is not None and config.outbound != OutboundPath.SMARTHOST:
        return True
    return route_address(ctx) is not None


# -- sending ---------------------------------------------------------------------------------

async def send(ctx: ServiceContext, config: DomainConfig, outbox_id: str, sender: str,
               recipients: list[str], raw: bytes, attempt: smtp.Attempt | None = None) -> None:
    """Send ``raw`` (From ``sender``) to the external ``recipients`` by the configured path;
    raise :class:`TransientDeliveryError` (retry) or another error (the row fails).
    ``attempt`` records how far it got (an API call counts as sent once made)."""
    path = config.outbound
    try:
        if path == OutboundPath.CLOUDFLARE:
            if attempt is not None:
                attempt.body_sent = True
            await asyncio.to_thread(_send_cloudflare, ctx, config, sender, recipients, raw)
        else:
            signed = await asyncio.to_thread(_signed, ctx, config, raw)
            if path == OutboundPath.SMARTHOST:
                await _send_smarthost(ctx, sender, recipients, signed, attempt)
            else:
                await _send_direct(ctx, outbox_id, sender, recipients, signed, attempt)
    except AgenticMailError as exc:
        await asyncio.to_thread(_record, ctx, path, outbox_id, str(exc))
        raise
    await asyncio.to_thread(_record, ctx, path, outbox_id, None)


def _record(ctx: ServiceContext, path: OutboundPath, outbox_id: str, error: str | None) -> None:
    domain_config.write_state(ctx, OUTBOUND_LAST_KEY, {
        "at": now_iso(), "path": path.value, "ok": error is None, "error": error,
        "outbox_id": outbox_id})


def _signed(ctx: ServiceContext, config: DomainConfig, raw: bytes) -> bytes:
    """``raw`` DKIM-signed for the domain (unsigned, with a warning, when setup stored no
    key: a host that signs itself)."""
    from ..security import dkim_signing  # dkimpy: imported when mail is signed

    pem = domain_config.secret(ctx, config.dkim_private_key_enc)
    if not pem:
        log.warning("domain mode has no DKIM key: mail leaves %s unsigned", config.domain)
        return raw
    try:
        return dkim_signing.sign(raw, domain=config.domain, selector=config.dkim_selector,
                                 private_key_pem=pem)
    except ConfigError as exc:  # kept and retried: the owner can repair the key
        raise TransientDeliveryError(str(exc), hint="agenticmail domain setup stores a "
                                     "working DKIM key") from None


def _send_cloudflare(ctx: ServiceContext, config: DomainConfig, sender: str,
                     recipients: list[str], raw: bytes) -> None:
    from ..providers.cloudflare import CloudflareApi  # the SDK: imported when it is used

    token = domain_config.secret(ctx, config.api_token_enc)
    if not token or not config.account_id:
        raise PermanentDeliveryError("Cloudflare email sending is not configured (no API "
                                     "token or account)",
                                     hint="agenticmail domain setup, or agenticmail domain "
                                          "outbound smarthost|direct")
    try:
        with CloudflareApi(token, base_url=config.api_base_url,
                           timeout=float(ctx.settings.smtp_timeout_seconds)) as api:
            api.send_raw(config.account_id, sender, recipients, raw)
    except CloudflareUnavailable as exc:
        raise TransientDeliveryError(str(exc)) from None
    except CloudflareError as exc:
        raise PermanentDeliveryError(str(exc)) from None


async def _send_smarthost(ctx: ServiceContext, sender: str, recipients: list[str],
                          raw: bytes, attempt: smtp.Attempt | None) -> None:
    try:
        route = await asyncio.to_thread(get_route, ctx)
    except SignInRequired as exc:  # kept: it leaves once the owner signs in again
        raise TransientDeliveryError(f"the relay needs a new sign-in: {exc}") from exc
    if route is None:
        raise PermanentDeliveryError("the smarthost path has no SMTP route any more",
                                     hint="agenticmail route set …, or agenticmail domain "
                                          "outbound direct|cloudflare")
    await smtp.send(route, sender, recipients, raw, timeout=ctx.settings.smtp_timeout_seconds,
                    attempt=attempt)


async def _send_direct(ctx: ServiceContext, outbox_id: str, sender: str,
                       recipients: list[str], raw: bytes, attempt: smtp.Attempt | None
                       ) -> None:
    """One transaction per recipient domain, at its MX. With several domains, those done
    (or refused for good) are remembered, so a retry sends only to the others."""
    by_domain: dict[str, list[str]] = {}
    for rcpt in recipients:
        by_domain.setdefault(domain_of(rcpt).lower(), []).append(rcpt)
    from ..mail.mx import resolver_for  # dnspython: imported when it is used

    several = len(by_domain) > 1
    progress = await asyncio.to_thread(_progress, ctx, outbox_id) if several else {}
    done: list[str] = list(progress.get("done", []))
    refused: dict[str, str] = dict(progress.get("refused", {}))
    deferred: list[str] = []
    in_doubt = False
    settings = ctx.settings
    resolver = resolver_for(settings.dns_nameservers)
    for domain, rcpts in by_domain.items():
        if domain in done or domain in refused:
            continue
        try:
            exchangers = await resolver.exchangers(domain)
            await smtp.send_direct(exchangers, settings.domain_direct_port, sender, rcpts, raw,
                                   timeout=settings.smtp_timeout_seconds,
                                   require_tls=settings.domain_direct_require_tls,
                                   helo=settings.domain_direct_helo or None,
                                   attempt=attempt)
        except PermanentDeliveryError as exc:
            refused[domain] = str(exc)
        except TransientDeliveryError as exc:
            in_doubt = in_doubt or isinstance(exc, DeliveryInDoubt)
            deferred.append(f"{domain}: {exc}")
        else:
            done.append(domain)
    if deferred:
        if several:
            await asyncio.to_thread(_save_progress, ctx, outbox_id,
                                    {"done": done, "refused": refused})
        kind = DeliveryInDoubt if in_doubt else TransientDeliveryError
        raise kind("; ".join(deferred))
    if several:
        await asyncio.to_thread(_save_progress, ctx, outbox_id, None)
    if refused:
        raise PermanentDeliveryError("; ".join(refused.values()))


def _progress(ctx: ServiceContext, outbox_id: str) -> dict[str, Any]:
    return domain_config.read_state(ctx, PROGRESS_PREFIX + outbox_id) or {}


def _save_progress(ctx: ServiceContext, outbox_id: str, progress: dict[str, Any] | None
                   ) -> None:
    if progress is not None:
        domain_config.write_state(ctx, PROGRESS_PREFIX + outbox_id, progress)
        return
    with ctx.db.write() as conn:
        conn.execute("DELETE FROM config WHERE key = ?", (PROGRESS_PREFIX + outbox_id,))


# -- the owner's view and switch --------------------------------------------------------------

def summary(ctx: ServiceContext) -> dict[str, Any]:
    """The outbound path, whether domain mode is on, and the last attempt."""
    config = domain_config.load(ctx)
    return {
        "active": active(ctx) is not None,
        "domain": None if config is None else config.domain,
        "path": None if config is None else config.outbound.value,
        "dkim_selector": None if config is None else config.dkim_selector,
        "dkim_key": config is not None and config.dkim_private_key_enc is not None,
        "last": domain_config.read_state(ctx, OUTBOUND_LAST_KEY),
    }


def checked_path(ctx: ServiceContext, config: DomainConfig, path: str) -> OutboundPath:
    """``path`` as an :class:`OutboundPath` that can work with ``config`` (domain setup's
    ``--outbound`` and the switch both ask this): smarthost needs the SMTP route, cloudflare
    the API token and account that setup stores."""
    try:
        wanted = OutboundPath(path)
    except ValueError:
        raise InvalidRequest(f"unknown outbound path {path!r}; choose one of "
                             f"{', '.join(p.value for p in OutboundPath)}",
                             code="invalid_outbound_path") from None
    if wanted == OutboundPath.SMARTHOST and route_address(ctx) is None:
        raise InvalidRequest("the smarthost path sends through the SMTP route, and none is "
                             "set", code="no_route",
                             hint="agenticmail route set … (or agenticmail relay setup) first")
    if wanted == OutboundPath.CLOUDFLARE and not (config.api_token_enc and config.account_id):
        raise InvalidRequest("Cloudflare email sending needs the API token and account that "
                             "domain setup stores", code="cloudflare_not_configured",
                             hint="agenticmail domain setup --domain " + config.domain)
    return wanted


def set_path(ctx: ServiceContext, path: str) -> dict[str, Any]:
    """Switch how domain-mode mail leaves (the owner's call: the API's audit trail records
    it as ``domain.outbound``)."""
    config = domain_config.load(ctx)
    if config is None:
        raise Conflict("domain mode is not set up", code="domain_not_configured",
                       hint="agenticmail domain setup --domain example.com")
    wanted = checked_path(ctx, config, path)
    domain_config.save(ctx, replace(config, outbound=wanted))
    log.info("domain mode's outbound path: %s (was %s)", wanted.value, config.outbound.value)
    return summary(ctx)
