"""Domain mode's inbound endpoint: each message Cloudflare's Email Worker posts, into the
right agent's mailbox (``POST /v1/inbound/cloudflare``).

The Worker holds no API key; the Standard Webhooks signature under the secret saved in
:class:`~.domain_config.DomainConfig` (``inbound_secret_enc``, the Worker's ``INBOUND_SECRET``
binding) is the authentication. In order, a delivery is:

1. admitted before its body is read (:func:`admit`): domain mode set up, the signature
   headers there, the timestamp fresh;
2. bounded (the route reads at most :data:`MAX_BODY_BYTES`; the message itself at most
   :data:`MAX_MESSAGE_BYTES`, as Cloudflare Email Routing's own limit): ``payload_too_large``;
3. verified: signed by the secret (``invalid_signature``), within ±5 minutes of now
   (``stale_timestamp``), with a webhook-id never accepted before (``replayed_webhook``;
   ids are kept until their timestamp is out of the window, so a replay is refused either
   way);
4. routed by the envelope recipient: the ``rua`` address of the DMARC record goes to
   :func:`.dmarc_reports.ingest_message`, never to an agent; ``agent@domain`` and
   ``agent+tag@domain`` to that agent; anything else to the catch-all agent when one is
   configured, else refused permanently (``unknown_recipient``: the Worker rejects the
   message with its text);
5. deduplicated by (Message-ID, agent) (answered ``duplicate``), then delivered on the inbound
   path the relay takes (:mod:`.gateway_delivery`): the agent's watcher scores, sanitises,
   moves spam and announces ``message.new``.

Cloudflare checked SPF, DKIM and DMARC at its MX and sealed the results in an ARC set. Those
results are believed only when the chain verifies (dkimpy) and its newest sealer is one of
the ``domain_arc_sealers`` setting; the copy then carries them as its topmost
``Authentication-Results``, sealed with this gateway's MAC (:func:`vouched_authserv_id` is how
the scorer tells). Otherwise the scorer verifies DKIM itself, as it does for relayed mail, and
the copy is sealed under another purpose (``DOMAIN_ARRIVAL``) that says only that it came
through this gateway (:func:`delivered_by_domain`: bounce reports are believed from such a
copy, never its Authentication-Results).
Each outcome is noted under ``INBOUND_LAST_KEY`` for ``domain status``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge, PermanentDeliveryError
from ..event_types import DOMAIN_DELIVERED
from ..mail.addresses import split_plus, validate_address
from ..mail.outside_copy import message_key, outside_copy
from ..models import Agent
from ..security import webhook_signing
from ..security.arc import verify_arc
from ..security.authresults import dnspython_resolver
from ..security.mime_view import InboundMessage
from ..store import agents as agent_store
from ..store import domain_inbound as store
from ..store._time import now_iso
from . import dmarc_reports, domain_config, gateway_delivery
from .context import ServiceContext, transaction
from .domain_config import INBOUND_LAST_KEY, DomainConfig

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
# the JSON the Worker posts: the message in base64 (4 bytes per 3) and the envelope
MAX_BODY_BYTES = (MAX_MESSAGE_BYTES + 2) // 3 * 4 + 64 * 1024
DOMAIN_SEAL = "domain-seal"  # MAC purpose: the ARC results this gateway verified
# MAC purpose: a copy this gateway delivered whose Authentication-Results it does not vouch
# for (one seal per copy: such a copy never passes as DOMAIN_SEAL's)
DOMAIN_ARRIVAL = "domain-arrival"
ARC_DNS_TIMEOUT = 2.0
# a From on one of our own domains did not come from there: what the agent sees instead
FORGED_LOCAL_FROM = "outside sender <unverified-sender@sender.invalid>"
# one delivery at a time: the (Message-ID, agent) check and the record it guards stay one step
_delivering = threading.Lock()


@dataclass(frozen=True)
class Envelope:
    sender: str  # "" for the null sender (bounces)
    recipient: str
    raw: bytes


def admit(ctx: ServiceContext, headers: Mapping[str, str], now: float | None = None
          ) -> DomainConfig:
    """What can be refused before the body is read: domain mode not set up
    (``domain_not_configured``), signature headers missing or malformed, a stale timestamp."""
    config = domain_config.load(ctx)
    if config is None or not config.inbound_secret_enc:
        raise NotFound("domain mode is not set up on this daemon",
                       code="domain_not_configured", hint="run: agenticmail domain setup")
    webhook_signing.check_headers(headers, time.time() if now is None else now)
    return config


def receive(ctx: ServiceContext, headers: Mapping[str, str], body: bytes,
            now: float | None = None) -> dict[str, Any]:
    """Handle one signed delivery from the Email Worker: ``{"status": "delivered" |
    "duplicate" | "dmarc_report", ...}``. Every refusal raises an error with a stable code
    (see the module's docstring); nothing is recorded for a delivery refused before
    routing."""
    when = time.time() if now is None else now
    config = admit(ctx, headers, when)
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"a delivery is at most {MAX_BODY_BYTES} bytes")
    secret = domain_config.secret(ctx, config.inbound_secret_enc) or ""
    webhook_id = webhook_signing.verify(secret, headers, body, when)
    envelope = _envelope(body)
    with ctx.db.write() as conn:
        fresh = store.claim_webhook_id(
            conn, webhook_id, expires=when + 2 * webhook_signing.TOLERANCE_SECONDS, now=when)
    if not fresh:
        raise Conflict("this webhook-id was accepted before: a replayed delivery is refused",
                       code="replayed_webhook")
    key = message_key(envelope.raw)
    if _is_report_address(config, envelope.recipient):
        stored = dmarc_reports.ingest_message(ctx, envelope.raw)
        _note(ctx, key, None, "dmarc_report")
        return {"status": "dmarc_report", "message_id": key, "reports": stored}
    try:
        agent, route = _route(ctx, config, envelope.recipient)
    except NotFound:
        _note(ctx, key, None, "unknown_recipient")
        raise
    return _deliver(ctx, config, envelope, agent, route, key, webhook_id)


def _envelope(body: bytes) -> Envelope:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("the body is not JSON", code="invalid_payload") from None
    if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) for k in ("from", "to", "raw")):
        raise InvalidRequest('the body must be {"from", "to", "raw"} (strings)',
                             code="invalid_payload")
    try:
        raw = base64.b64decode(data["raw"], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("raw is not base64", code="invalid_payload") from None
    if len(raw) > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"the message is {len(raw)} bytes; the limit is "
                              f"{MAX_MESSAGE_BYTES}")
    if not raw.strip():
        raise InvalidRequest("the message is empty", code="invalid_payload")
    recipient = validate_address(data["to"])
    try:
        sender = validate_address(data["from"]) if data["from"].strip() else ""
    except InvalidRequest:
        sender = ""  # an unusable envelope sender: bounces for this message go nowhere
    return Envelope(sender, recipient, raw)


def _is_report_address(config: DomainConfig, recipient: str) -> bool:
    rua = config.rua_address.strip().lower()
    return bool(rua) and rua in (recipient.lower(), split_plus(recipient)[0].lower())


def _route(ctx: ServiceContext, config: DomainConfig, recipient: str) -> tuple[Agent, str]:
    """The agent ``recipient`` names, and how: ``address``, ``tag`` or ``catch_all``."""
    base, tag = split_plus(recipient)
    local, _, domain = base.rpartition("@")
    known = {a.name.lower(): a for a in agent_store.list_agents(ctx.db)}
    if domain.lower() == config.domain.lower() and local.lower() in known:
        return known[local.lower()], "tag" if tag else "address"
    if config.catch_all_agent and config.catch_all_agent.lower() in known:
        return known[config.catch_all_agent.lower()], "catch_all"
    raise NotFound(f"{recipient}: no such mailbox", code="unknown_recipient")


def _deliver(ctx: ServiceContext, config: DomainConfig, envelope: Envelope, agent: Agent,
             route: str, key: str, webhook_id: str) -> dict[str, Any]:
    arc = verify_arc(envelope.raw, dnspython_resolver(
        ARC_DNS_TIMEOUT, ctx.settings.dns_nameservers or ""), ARC_DNS_TIMEOUT)
    sealers = {s.strip().lower() for s in ctx.settings.domain_arc_sealers.split(",")
               if s.strip()}
    vouched = arc.results if arc.cv == "pass" and arc.sealer in sealers else None
    arc_word = "pass" if vouched else "untrusted" if arc.cv == "pass" else arc.cv
    copy = outside_copy(
        envelope.raw, [f"X-Agenticmail-Domain: {envelope.recipient}; route={route}; "
                       f"arc={arc_word}"],
        local_domains=[ctx.settings.domain, config.domain], replacement_from=FORGED_LOCAL_FROM,
        foreign_ids=(ctx.settings.trusted_authserv_ids or "").split(","),
        vouched_results=vouched,
        seal=lambda text: gateway_delivery.seal(
            ctx, DOMAIN_SEAL if vouched else DOMAIN_ARRIVAL, text))
    with _delivering:
        if store.already_delivered(ctx.db, key, agent.name):
            _note(ctx, key, agent.name, "duplicate")
            return {"status": "duplicate", "agent": agent.name, "message_id": key}
        try:
            gateway_delivery.deliver(ctx, agent, envelope.sender, copy)
        except PermanentDeliveryError as exc:
            _note(ctx, key, agent.name, "refused")
            raise InvalidRequest(f"the mailbox of {envelope.recipient} refused the message: "
                                 f"{exc}", code="mailbox_refused") from None
        with transaction(ctx) as tx:
            store.record_delivered(tx.conn, key, agent.name, agent_id=agent.id,
                                   webhook_id=webhook_id)
            tx.emit(DOMAIN_DELIVERED, agent.name, {
                "agent": agent.name, "message_id": key, "recipient": envelope.recipient,
                "route": route, "arc": arc_word}, agent_id=agent.id)
    _note(ctx, key, agent.name, "delivered")
    log.info("domain inbound: %s for %s delivered to %s (%s, arc %s)", key,
             envelope.recipient, agent.name, route, arc_word)
    return {"status": "delivered", "agent": agent.name, "message_id": key, "route": route,
            "arc": arc_word}


def _note(ctx: ServiceContext, key: str, agent: str | None, outcome: str) -> None:
    domain_config.write_state(ctx, INBOUND_LAST_KEY, {
        "at": now_iso(), "message_id": key, "agent": agent, "outcome": outcome})


def vouched_authserv_id(ctx: ServiceContext, message: InboundMessage) -> str | None:
    """The authserv-id of ``message``'s topmost ``Authentication-Results`` when this gateway
    wrote it (the ARC results it verified) on a copy it sealed, else None."""
    if not gateway_delivery.sealed(ctx, message, DOMAIN_SEAL):
        return None
    headers = message.message.get_all("Authentication-Results") or []
    return str(headers[0]).split(";", 1)[0].strip().lower() or None if headers else None


def delivered_by_domain(ctx: ServiceContext, message: InboundMessage) -> bool:
    """Whether ``message`` is a copy this gateway delivered (either seal: its ARC results
    vouched for or not), unchanged in what the seal binds."""
    return any(gateway_delivery.sealed(ctx, message, purpose)
               for purpose in (DOMAIN_SEAL, DOMAIN_ARRIVAL))


def own_domains(ctx: ServiceContext) -> set[str]:
    """The domains mail from this daemon's agents is written from: the local one and, in
    domain mode, the owner's (a From on either is replaced on a copy this gateway delivers)."""
    config = domain_config.load(ctx)
    return {d.lower() for d in (ctx.settings.domain, config.domain if config else "") if d}
