"""Sending as an agent: validate, route each recipient, deliver, keep a Sent copy.

This version delivers to local agents only (LMTP into their mailboxes); mail for any other
domain is refused with a clear error until a gateway route is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.utils import make_msgid
from typing import Any

from ..errors import InvalidRequest, PayloadTooLarge
from ..mail.addresses import domain_of, validate_address
from ..mail.delivery import deliver_lmtp
from ..mail.mime import build_message
from ..models import Agent, OutgoingMail
from ..store import agents as agent_store
from .context import ServiceContext
from .mailbox import open_session

MAX_RECIPIENTS = 100


@dataclass(frozen=True)
class SendResult:
    message_id: str
    delivered: tuple[str, ...]
    status: str = "sent"

    def to_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "status": self.status,
                "delivered": list(self.delivered)}


def check_recipients(ctx: ServiceContext, recipients: list[str]) -> list[str]:
    """Validate and classify recipients; returns the local mailbox addresses."""
    if not recipients:
        raise InvalidRequest("no recipients: give at least one 'to', 'cc' or 'bcc' address")
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidRequest(f"at most {MAX_RECIPIENTS} recipients per message")
    local: list[str] = []
    for raw in recipients:
        address = validate_address(raw).lower()
        if domain_of(address) != ctx.settings.domain.lower():
            raise InvalidRequest(
                f"cannot deliver to {address}: no gateway to internet mail is configured",
                code="no_route",
                hint="agents can mail each other at @" + ctx.settings.domain +
                     "; external mail needs a relay or domain gateway",
            )
        if agent_store.find_agent_by_address(ctx.db, address) is None:
            raise InvalidRequest(f"no agent has the address {address}", code="unknown_recipient")
        if address not in local:
            local.append(address)
    return local


def _check_size(ctx: ServiceContext, mail: OutgoingMail) -> None:
    for att in mail.attachments:
        if len(att.content) > ctx.settings.max_attachment_bytes:
            raise PayloadTooLarge(
                f"attachment {att.filename!r} is {len(att.content)} bytes; the limit is "
                f"{ctx.settings.max_attachment_bytes}"
            )


def _deliver_and_file(ctx: ServiceContext, agent: Agent, local: list[str], raw: bytes,
                      sent_copy: bytes) -> None:
    endpoints = ctx.host.endpoints()
    deliver_lmtp(endpoints.delivery_host, endpoints.delivery_port, agent.address, local, raw)
    with open_session(ctx, agent) as session:
        session.append(session.special_folder("\\Sent") or "Sent", sent_copy, flags=("\\Seen",))


def send(ctx: ServiceContext, agent: Agent, mail: OutgoingMail) -> SendResult:
    if not (mail.text or mail.html):
        raise InvalidRequest("the message has no body: give 'text' and/or 'html'")
    _check_size(ctx, mail)
    local = check_recipients(ctx, list(mail.recipients))
    message, message_id = build_message(
        mail, from_addr=agent.address, from_name=mail.from_name or agent.display_name,
        domain=ctx.settings.domain,
    )
    raw = message.as_bytes(policy=policy.SMTP)
    if len(raw) > ctx.settings.max_message_bytes:
        raise PayloadTooLarge(f"the message is {len(raw)} bytes; the limit is "
                              f"{ctx.settings.max_message_bytes}")
    sent_copy = raw
    if mail.bcc:
        message["Bcc"] = ", ".join(mail.bcc)
        sent_copy = message.as_bytes(policy=policy.SMTP)
    _deliver_and_file(ctx, agent, local, raw, sent_copy)
    return SendResult(message_id, tuple(local))


def submit_raw(ctx: ServiceContext, agent: Agent, recipients: list[str], raw: bytes
               ) -> SendResult:
    """A message an agent submitted over SMTP: ensure a Message-ID, drop Bcc, deliver."""
    local = check_recipients(ctx, recipients)
    message = message_from_bytes(raw, policy=policy.SMTP)
    if message.get("Message-ID") is None:
        message["Message-ID"] = make_msgid(domain=ctx.settings.domain)
    sent_copy = message.as_bytes()
    del message["Bcc"]
    _deliver_and_file(ctx, agent, local, message.as_bytes(), sent_copy)
    return SendResult(str(message["Message-ID"]), tuple(local))
