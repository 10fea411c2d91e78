"""Bounces, complaints and emailed unsubscribes arriving for an agent, acted on at ingest.

:func:`consider` runs inside the ingest transaction of each new message (so what it records
commits with that message's ``message.new``). A report (:mod:`agenticmail.mail.bounces`) is
believed only when all of these hold:

- it arrived by a trusted path: a copy the daemon's relay fetched from the owner's provider
  and sealed (:func:`.relay_gateway.sealed_by_relay`), or one the domain gateway received
  from Cloudflare's Email Worker and sealed (:func:`.domain_inbound.delivered_by_domain`),
  not written by the daemon's own route or addresses (its From, Sender and Return-Path are
  not the relay account's address or a sub-address of it, nor on the local domain or the
  owner's domain; the gateways rewrite a From on those domains, to the relay's address or
  :data:`.domain_inbound.FORGED_LOCAL_FROM`, and the seal binds the From). Mail an agent
  submits is delivered stamped and never through a gateway, and nothing else can write a
  sealed copy: a DSN forged by an agent, a local process or an IMAP APPEND is read as
  ordinary mail;
- it names a message this agent sent (its Message-ID, from the returned headers) and
- only recipients of that message count.

Then the outbox row records the diagnostic (``bounced`` when a recipient was given up on),
hard bounces and complaints put the recipient on the agent's suppression list, and
``message.bounced`` is emitted. A message whose subject carries a valid unsubscribe token
(the ``mailto:`` of the agent's ``List-Unsubscribe``) unsubscribes its recipient, whatever
the path: the token itself is the proof (:mod:`.suppressions`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from email.utils import getaddresses
from typing import Any

from ..errors import AgenticMailError, InvalidRequest
from ..event_types import MESSAGE_BOUNCED
from ..mail.addresses import split_plus
from ..mail.bounces import COMPLAINT, HARD, Report, read_report
from ..models import Agent
from ..security.mime_view import InboundMessage
from ..store import outbox as outbox_store
from ..store._time import now_iso
from . import domain_inbound, suppressions
from . import relay_gateway as relay
from .context import ServiceContext, Tx

log = logging.getLogger(__name__)

_SEVERITY = {"soft": 0, HARD: 1, COMPLAINT: 2}
_REASON = {HARD: "hard_bounce", COMPLAINT: "complaint"}
MAX_HISTORY = 20  # reports kept per outbox row


def _base(address: str) -> str | None:
    try:
        return split_plus(address)[0].lower()
    except InvalidRequest:
        return None


def trusted_path(ctx: ServiceContext, message: InboundMessage) -> bool:
    """Whether ``message`` came from outside through a gateway (a copy the owner's relay or
    the domain gateway delivered and sealed) and not from the daemon's own route or
    addresses (an agent's mail looping back through the provider or the domain's MX)."""
    if message.raw is None or not (relay.sealed_by_relay(ctx, message)
                                   or domain_inbound.delivered_by_domain(ctx, message)):
        return False
    head = message.message
    account = relay.get_account(ctx)
    # what the domain gateway makes of a From on our domains
    ours = {_base(a) for _, a in getaddresses([domain_inbound.FORGED_LOCAL_FROM])}
    if account is not None:
        ours.add(_base(account.address))
    domains = domain_inbound.own_domains(ctx)
    senders = [str(v) for name in ("From", "Sender", "Return-Path")
               for v in head.get_all(name) or []]
    return not any(_base(a) in ours or a.rpartition("@")[2].lower() in domains
                   for _, a in getaddresses(senders) if a)


def consider(ctx: ServiceContext, tx: Tx, agent: Agent, message: InboundMessage,
             subject: str) -> str | None:
    """Act on a new message for ``agent`` if it is a trusted report about mail the agent
    sent, or an emailed unsubscribe; what it was (``bounce``, ``complaint``,
    ``unsubscribe``) or None.

    Never raises: whatever goes wrong here is logged and undone (a savepoint, and the events
    it emitted are dropped) and the message is still indexed and announced — a report the
    daemon cannot act on must not stop the agent's mail."""
    events = len(tx.events)
    tx.conn.execute("SAVEPOINT bounce_report")
    try:
        return _consider(ctx, tx, agent, message, subject)
    except Exception:
        log.exception("could not act on what a message for %s reports; delivered as mail",
                      agent.name)
        tx.conn.execute("ROLLBACK TO bounce_report")
        del tx.events[events:]
        return None
    finally:
        tx.conn.execute("RELEASE bounce_report")


def _consider(ctx: ServiceContext, tx: Tx, agent: Agent, message: InboundMessage,
              subject: str) -> str | None:
    token = suppressions.token_in_subject(subject)
    if token is not None:
        try:
            suppressions.honour_token(ctx, token, "email", tx=tx)
            return "unsubscribe"
        except AgenticMailError as exc:
            log.info("an unsubscribe mail for %s carried a token that is not valid: %s",
                     agent.name, exc)
    if message.failed or message.exceeded is not None:
        return None
    report = read_report(message.message, message.raw)
    if report is None:
        return None
    if not trusted_path(ctx, message):
        log.info("a %s report for %s did not arrive by a trusted path: read as mail only",
                 report.type, agent.name)
        return None
    row = outbox_store.find_sent(tx.conn, agent.id, list(report.original_ids))
    if row is None:
        log.info("a %s report for %s names no message it sent", report.type, agent.name)
        return None
    return _apply(tx, agent, row, report)


def _worst(kinds: Iterable[str]) -> str:
    return max(kinds, key=lambda k: _SEVERITY.get(k, 0))


def _apply(tx: Tx, agent: Agent, row: outbox_store.OutboxRow, report: Report) -> str | None:
    recipients = {a.lower() for a in row.local_rcpts + row.external_rcpts}
    failures = [f for f in report.failures if f.address in recipients]
    if not failures:
        log.info("a %s report for %s names none of the recipients of %s", report.type,
                 agent.name, row.message_id)
        return None
    suppressed = [f.address for f in failures if f.kind in _REASON and suppressions.add_in(
        tx, agent, f.address, _REASON[f.kind], f.diagnostic or f.status, row.id)]
    failed = any(f.action == "failed" for f in failures)
    kind = _worst(f.kind for f in failures)
    before = row.bounce or {}
    history: list[dict[str, Any]] = list(before.get("reports", []))[-MAX_HISTORY + 1:]
    history.append({"type": report.type, "format": report.format, "kind": kind,
                    "reporter": report.reporter, "received_at": now_iso(),
                    "recipients": [f.to_dict() for f in failures]})
    # the row's summary: the worst kind any report gave, failed once any recipient failed
    summary = {"kind": _worst([kind, *([before["kind"]] if "kind" in before else [])]),
               "failed": failed or bool(before.get("failed")), "reports": history}
    outbox_store.mark_bounced(tx.conn, row.id, summary)
    tx.emit(MESSAGE_BOUNCED, agent.name, {
        "id": row.id, "agent": agent.name, "message_id": row.message_id,
        "subject": row.subject, "kind": kind, "failed": failed,
        "recipients": [f.to_dict() for f in failures], "suppressed": suppressed},
        agent_id=agent.id)
    log.info("%s for %s: %s (%s)", report.type, row.message_id, kind,
             ", ".join(f"{f.address} {f.status or ''}".strip() for f in failures))
    return report.type
