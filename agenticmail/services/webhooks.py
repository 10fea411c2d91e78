"""Outgoing webhooks: endpoints registered by the owner (for one agent or all) or by an agent
(for itself), and the delivery of every event to them as a signed POST (Standard Webhooks).

Every use-case the API, the CLI and the Python client offer is a function here; the daemon's
dispatcher (``daemon/webhooks.py``) schedules :func:`due` and :func:`deliver`. Events are
queued for delivery inside the transaction that records them (``Tx.emit``), so none is lost
to a crash; a message is retried after each delay of ``webhook_retry_seconds`` and then given
up, a 2xx answer within ``webhook_timeout_seconds`` is a success, a 410 disables the endpoint
at once and failing for ``webhook_disable_after_seconds`` disables it too (``webhook.disabled``).

An agent may register only public ``https`` URLs (every address the host resolves to must be
public unicast, checked again at each delivery against DNS rebinding) unless the owner allows
more with ``webhook_agent_allow_http`` / ``webhook_agent_networks``; the owner may register any
URL. Secrets are shown once (creation, rotation) and kept encrypted with the data dir's key.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..config import Settings
from ..errors import AgenticMailError, ConfigError, InvalidRequest, NotFound
from ..event_types import REGISTRY, WEBHOOK_DISABLED, WEBHOOK_TEST
from ..models import Agent, Event
from ..providers.web_fetch import public_address
from ..providers.webhook_http import (
    DestinationRefused,
    IpCheck,
    NoAnswer,
    WebhookPoster,
    check_destination,
    split_url,
)
from ..security.webhook_signing import new_secret, signed_headers
from ..store import webhooks as store
from ..store.webhooks import DELIVERED, FAILED, Due, Endpoint
from ..timestamps import parse_instant
from . import audit
from .auth import Principal, resolve_agent
from .context import ServiceContext, Tx, transaction

log = logging.getLogger(__name__)

__all__ = [
    "Created",
    "Due",
    "Endpoint",
    "create",
    "delete",
    "deliver",
    "deliveries",
    "due",
    "get",
    "list_endpoints",
    "next_due_at",
    "open_poster",
    "replay",
    "rotate_secret",
    "send_test",
    "update",
]

MAX_URL = 2000
MAX_FILTERS = 64
MAX_DESCRIPTION = 500
MAX_DELIVERIES = 500


@dataclass(frozen=True)
class Created:
    """An endpoint and its signing secret, shown only in this answer."""

    endpoint: Endpoint
    secret: str

    def to_dict(self) -> dict[str, Any]:
        return {"webhook": self.endpoint.to_dict(), "secret": self.secret}


# -- settings ----------------------------------------------------------------------------

def retry_delays(settings: Settings) -> list[float]:
    """Seconds to wait after each failed attempt before the next (then the message is given
    up): ``webhook_retry_seconds``."""
    text = settings.webhook_retry_seconds
    try:
        delays = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"setting 'webhook_retry_seconds' must be comma-separated seconds, "
                          f"got {text!r}") from None
    if any(d < 0 for d in delays):
        raise ConfigError("setting 'webhook_retry_seconds' may not hold a negative delay")
    return delays


def agent_policy(settings: Settings) -> tuple[IpCheck, bool]:
    """What an agent's endpoint may resolve to, and whether plain http is allowed."""
    networks = []
    for part in settings.webhook_agent_networks.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ConfigError(f"setting 'webhook_agent_networks': {part.strip()!r} is not "
                                  "a network (e.g. 10.0.0.0/8)") from None

    def allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return public_address(ip) or any(ip in net for net in networks)

    return allowed, settings.webhook_agent_allow_http


def check_settings(settings: Settings) -> None:
    """:class:`ConfigError` for a webhook setting that cannot be used."""
    retry_delays(settings)
    agent_policy(settings)
    if settings.webhook_timeout_seconds <= 0:
        raise ConfigError("setting 'webhook_timeout_seconds' must be above 0")


# -- endpoints ---------------------------------------------------------------------------

def _check_url(ctx: ServiceContext, principal: Principal, url: str) -> bool:
    """Refuse a URL this caller may not register; True when the owner set it (no address
    check at delivery)."""
    if len(url) > MAX_URL:
        raise InvalidRequest(f"a webhook URL may be at most {MAX_URL} characters")
    if principal.is_master:
        split_url(url, allow_http=True)
        return True
    allowed, allow_http = agent_policy(ctx.settings)
    check_destination(url, allowed, allow_http=allow_http)
    return False


def _check_events(events: list[str]) -> list[str]:
    if len(events) > MAX_FILTERS:
        raise InvalidRequest(f"at most {MAX_FILTERS} event types per endpoint")
    known = set(REGISTRY)
    prefixes = {t.split(".", 1)[0] for t in known}
    for name in events:
        wanted = name.removesuffix(".*")
        if name != "*" and name not in known and not (name.endswith(".*")
                                                      and wanted in prefixes):
            raise InvalidRequest(f"unknown event type {name[:100]!r}",
                                 hint="use event types such as " + ", ".join(sorted(known)[:6])
                                 + " …, a group such as message.*, or * for every event")
    return list(dict.fromkeys(events))


def _description(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise InvalidRequest(f"a description may be at most {MAX_DESCRIPTION} characters")
    return text


def create(ctx: ServiceContext, principal: Principal, url: str, events: list[str],
           agent: str | None = None, description: str | None = None) -> Created:
    """Register an endpoint: an agent's own, or (master key) one agent's or, without
    ``agent``, every agent's. The answer carries the ``whsec_…`` secret, once."""
    target: Agent | None = (None if principal.is_master and agent is None
                            else resolve_agent(ctx, principal, agent))
    events = _check_events(events)
    text = _description(description)
    owner_url = _check_url(ctx, principal, url)
    secret = new_secret()
    with transaction(ctx) as tx:
        endpoint_id = store.insert_endpoint(
            tx.conn, agent_id=target.id if target else None,
            agent=target.name if target else None, url=url, events=events, description=text,
            secret_enc=ctx.secrets.encrypt(secret), owner_url=owner_url)
        _audit(tx, principal, "webhook.create", endpoint_id, url)
    return Created(_get(ctx, endpoint_id), secret)


def _audit(tx: Tx, principal: Principal, action: str, endpoint_id: str, url: str) -> None:
    """An agent's change to its endpoints, in the audit log (with the URL's host only: a
    URL may carry a token). The owner's changes are audited by the API with their outcome."""
    if principal.agent is not None:
        audit.record(tx, audit.actor_of(principal), action, endpoint_id,
                     {"host": urlsplit(url).hostname or ""})


def _get(ctx: ServiceContext, endpoint_id: str) -> Endpoint:
    found = store.get_endpoint(ctx.db, endpoint_id)
    if found is None:
        raise NotFound(f"no webhook endpoint {endpoint_id[:100]!r}")
    return found


def get(ctx: ServiceContext, principal: Principal, endpoint_id: str) -> Endpoint:
    """An endpoint the caller may see (an agent: only its own)."""
    found = _get(ctx, endpoint_id)
    if principal.agent is not None and found.agent_id != principal.agent.id:
        raise NotFound(f"no webhook endpoint {endpoint_id[:100]!r}")
    return found


def list_endpoints(ctx: ServiceContext, principal: Principal, agent: str | None = None
                   ) -> list[Endpoint]:
    """The caller's endpoints (the owner: all, or one agent's with ``agent``)."""
    if principal.is_master and agent is None:
        return store.list_endpoints(ctx.db)
    agent_id = resolve_agent(ctx, principal, agent).id
    return [e for e in store.list_endpoints(ctx.db, agent_id) if e.agent_id is not None]


def update(ctx: ServiceContext, principal: Principal, endpoint_id: str, *,
           url: str | None = None, events: list[str] | None = None,
           description: str | None = None, enabled: bool | None = None) -> Endpoint:
    """Change an endpoint; enabling it again clears why it was disabled (its pending messages
    are then delivered)."""
    endpoint = get(ctx, principal, endpoint_id)
    changes: dict[str, Any] = {}
    if url is not None:
        changes.update(url=url, owner_url=_check_url(ctx, principal, url))
    if events is not None:
        changes["events"] = _check_events(events)
    if description is not None:
        changes["description"] = _description(description)
    if enabled is not None and enabled != endpoint.enabled:
        who = "the owner" if principal.is_master else "its agent"
        changes.update(enabled=enabled, failing_since=None,
                       disabled_reason=None if enabled else f"disabled by {who}")
    if changes:
        with transaction(ctx) as tx:
            store.update_endpoint(tx.conn, endpoint.id, **changes)
            _audit(tx, principal, "webhook.update", endpoint.id, url or endpoint.url)
        ctx.wake_webhooks()
    return _get(ctx, endpoint.id)


def delete(ctx: ServiceContext, principal: Principal, endpoint_id: str) -> None:
    """Remove an endpoint with its queue and delivery log."""
    endpoint = get(ctx, principal, endpoint_id)
    with transaction(ctx) as tx:
        store.delete_endpoint(tx.conn, endpoint.id)
        _audit(tx, principal, "webhook.delete", endpoint.id, endpoint.url)


def rotate_secret(ctx: ServiceContext, principal: Principal, endpoint_id: str) -> Created:
    """A new signing secret (shown once); deliveries from now on are signed with it."""
    endpoint = get(ctx, principal, endpoint_id)
    secret = new_secret()
    with transaction(ctx) as tx:
        store.update_endpoint(tx.conn, endpoint.id, secret_enc=ctx.secrets.encrypt(secret))
        _audit(tx, principal, "webhook.rotate_secret", endpoint.id, endpoint.url)
    return Created(_get(ctx, endpoint.id), secret)


def send_test(ctx: ServiceContext, principal: Principal, endpoint_id: str) -> Event:
    """Queue a ``webhook.test`` event for this endpoint alone."""
    endpoint = get(ctx, principal, endpoint_id)
    if not endpoint.enabled:
        raise InvalidRequest(f"webhook endpoint {endpoint.id} is disabled",
                             hint=f"enable it first: agenticmail webhooks update {endpoint.id} "
                                  "--enable")
    with transaction(ctx) as tx:
        event = tx.emit(WEBHOOK_TEST, endpoint.agent, {"endpoint": endpoint.id},
                        agent_id=endpoint.agent_id, only_webhook=endpoint.id)
    return event


def replay(ctx: ServiceContext, principal: Principal, endpoint_id: str, *,
           webhook_id: str | None = None, since: str | None = None) -> int:
    """Send again one message (by its ``webhook-id``) or every message created since a time:
    the same ``webhook-id`` and body, a new ``webhook-timestamp`` and signature. How many."""
    endpoint = get(ctx, principal, endpoint_id)
    if (webhook_id is None) == (since is None):
        raise InvalidRequest("give either the webhook-id of one message or a time since "
                             "which to replay every message")
    with transaction(ctx) as tx:
        count = store.replay(tx.conn, endpoint.id, webhook_id=webhook_id,
                             since=None if since is None else parse_instant(since, "since"))
    if webhook_id is not None and count == 0:
        raise NotFound(f"no message {webhook_id[:100]!r} for webhook endpoint {endpoint.id}")
    ctx.wake_webhooks()
    return count


def deliveries(ctx: ServiceContext, principal: Principal, endpoint_id: str, limit: int = 50,
               offset: int = 0) -> list[dict[str, Any]]:
    """The endpoint's recent delivery attempts (status code, response time, outcome)."""
    endpoint = get(ctx, principal, endpoint_id)
    return store.deliveries(ctx.db, endpoint.id, min(max(limit, 1), MAX_DELIVERIES), offset)


def queue(ctx: ServiceContext, principal: Principal, endpoint_id: str) -> dict[str, int]:
    """How many of the endpoint's messages are pending, delivered and failed."""
    return store.queue_counts(ctx.db, get(ctx, principal, endpoint_id).id)


RETAIN_SECONDS = 30 * 24 * 3600.0  # finished messages and their attempts are kept this long


def prune(ctx: ServiceContext, keep_seconds: float = RETAIN_SECONDS) -> int:
    """Forget finished messages (and their delivery attempts) older than ``keep_seconds``."""
    with transaction(ctx) as tx:
        return store.prune(tx.conn, time.time() - keep_seconds)


# -- delivery (the dispatcher's side) ----------------------------------------------------

def open_poster(ctx: ServiceContext) -> WebhookPoster:
    """The HTTP client the dispatcher delivers with (``aclose`` it)."""
    return WebhookPoster(max_clients=max(ctx.settings.webhook_concurrency, 1))


def due(ctx: ServiceContext, limit: int, busy: set[str]) -> list[Due]:
    """The head message of every endpoint not in ``busy`` that is due now."""
    return store.due(ctx.db, time.time(), limit, busy)


def next_due_at(ctx: ServiceContext, busy: set[str]) -> float | None:
    return store.next_due_at(ctx.db, busy)


async def deliver(ctx: ServiceContext, poster: WebhookPoster, message: Due) -> str:
    """POST one message (signed now) and record the attempt; the outcome."""
    endpoint, settings = message.endpoint, ctx.settings
    body = message.body.encode()
    at = time.time()
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        secret = ctx.secrets.decrypt(endpoint.secret_enc)
        allowed, allow_http = agent_policy(settings)
        answer = await poster.post(
            endpoint.url, body, signed_headers(secret, message.webhook_id, at, body),
            timeout=settings.webhook_timeout_seconds,
            allowed=None if endpoint.owner_url else allowed,
            allow_http=True if endpoint.owner_url else allow_http, key=endpoint.id)
        status = answer.status_code
        outcome = "success" if 200 <= status < 300 else "gone" if status == 410 else "failure"
        if outcome != "success":
            error = f"HTTP {status}"
    except NoAnswer as exc:
        outcome, error = "timeout", str(exc)
    except DestinationRefused as exc:
        outcome, error = "refused", str(exc)
    except AgenticMailError as exc:
        outcome, error = "error", str(exc)
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    await asyncio.to_thread(_record, ctx, message, outcome, status, duration_ms, error, at)
    return outcome


def _record(ctx: ServiceContext, message: Due, outcome: str, status: int | None,
            duration_ms: float, error: str | None, at: float) -> None:
    settings = ctx.settings
    attempt = message.attempts + 1
    with transaction(ctx) as tx:
        endpoint = store.get_endpoint(tx.conn, message.endpoint.id)
        if endpoint is None:
            return  # deleted while the POST was on its way, with its queue
        store.record_attempt(tx.conn, message, attempt=attempt, status_code=status,
                             duration_ms=duration_ms, outcome=outcome, error=error, at=at)
        if outcome == "success":
            store.finish(tx.conn, message, DELIVERED, attempt, at)
            if endpoint.failing_since is not None:
                store.update_endpoint(tx.conn, endpoint.id, failing_since=None)
            return
        delays = retry_delays(settings)
        if attempt > len(delays):
            store.finish(tx.conn, message, FAILED, attempt, at)
        else:
            store.retry_at(tx.conn, message, attempt, at + delays[attempt - 1])
        failing_since = endpoint.failing_since if endpoint.failing_since is not None else at
        if outcome == "gone":
            _disable(tx, endpoint, "the endpoint answered 410 Gone")
        elif at - failing_since >= settings.webhook_disable_after_seconds:
            _disable(tx, endpoint, f"every delivery failed for "
                                   f"{_span(at - failing_since)} (last: {error})")
        elif endpoint.failing_since is None:
            store.update_endpoint(tx.conn, endpoint.id, failing_since=at)


def _span(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds:.0f} seconds"


def _disable(tx: Tx, endpoint: Endpoint, reason: str) -> None:
    if not endpoint.enabled:
        return
    store.update_endpoint(tx.conn, endpoint.id, enabled=False, disabled_reason=reason)
    audit.record(tx, audit.SYSTEM, "webhook.disable", endpoint.id, {"reason": reason[:300]})
    tx.emit(WEBHOOK_DISABLED, endpoint.agent,
            {"endpoint": endpoint.id, "url": endpoint.url, "reason": reason},
            agent_id=endpoint.agent_id)
    log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
