"""Agent mail operations: a new message (from a template or not), reply, reply-all, forward.

The agent's default signature goes under what the agent wrote (unless ``signature=False``)
before :func:`outbox.submit` builds and scans the message, so the outbound guard sees the
exact bytes that leave.

The original is read as the agent (its own mailbox only) and sanitised as the agent was shown
it; the answer goes through :func:`outbox.submit` — routing, the outbound guard, the outbox
and the audit log — like every other send, so the reply leaves by the same gateway any mail
to that recipient takes (the relay for internet mail that came in through the relay).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidRequest
from ..mail import compose
from ..mail.mime import get_attachment
from ..models import Agent, Attachment, OutgoingMail, ParsedMessage
from ..store import verdicts
from . import outbox, signatures, templates
from .context import ServiceContext
from .mailbox import read_message
from .relay_gateway import get_account
from .screening import Deadline, screen


def own_addresses(ctx: ServiceContext, agent: Agent) -> list[str]:
    """The addresses that are this agent's own (its address and its relay sub-address)."""
    own = [agent.address]
    account = get_account(ctx)
    if account is not None and "@" in account.address:
        local, _, domain = account.address.partition("@")
        own.append(f"{local}+{agent.name}@{domain}")
    return own


def _original(ctx: ServiceContext, agent: Agent, uid: int, folder: str
              ) -> tuple[ParsedMessage, bytes, str, str | None]:
    parsed, raw = read_message(ctx, agent, uid, folder)
    stored = verdicts.find(ctx.db, agent.id, raw)
    assessment = screen(ctx, raw, stored, Deadline.for_message(ctx))
    return parsed, raw, assessment.text or parsed.text or "", assessment.html


def build_reply(ctx: ServiceContext, agent: Agent, uid: int, folder: str, *,
                text: str | None, html: str | None, reply_all: bool = False,
                attachments: Sequence[Attachment] = ()) -> OutgoingMail:
    parsed, _, original_text, original_html = _original(ctx, agent, uid, folder)
    head = compose.reply_headers(parsed, own_addresses(ctx, agent), reply_all=reply_all)
    body_text, body_html = compose.reply_bodies(parsed, text, html, original_text,
                                                original_html)
    return OutgoingMail(to=head.to, cc=head.cc, subject=head.subject, text=body_text,
                        html=body_html, in_reply_to=head.in_reply_to,
                        references=head.references, attachments=tuple(attachments))


def send(ctx: ServiceContext, agent: Agent, mail: OutgoingMail, *,
         template: str | None = None, variables: Any = None, signature: bool = True,
         idempotency_key: str | None = None, send_at: str | None = None) -> outbox.Accepted:
    """Send ``mail`` (its body from ``template`` filled with ``variables`` when given), signed."""
    if template is not None:
        mail = templates.fill(ctx, agent, mail, template, variables)
    elif variables:
        raise InvalidRequest("'variables' are for a template: name one with 'template'")
    text, html = signatures.sign(ctx, agent, mail.text, mail.html, enabled=signature)
    return outbox.submit(ctx, agent, dataclasses.replace(mail, text=text, html=html),
                         idempotency_key=idempotency_key, send_at=send_at)


def _signed(ctx: ServiceContext, agent: Agent, text: str | None, html: str | None,
            enabled: bool) -> tuple[str | None, str | None]:
    """What the agent wrote above a quote or a forwarded message, signed."""
    return signatures.sign(ctx, agent, "" if text is None and html is None else text, html,
                           enabled=enabled)


def reply(ctx: ServiceContext, agent: Agent, uid: int, folder: str = "INBOX", *,
          text: str | None = None, html: str | None = None, reply_all: bool = False,
          attachments: Sequence[Attachment] = (), idempotency_key: str | None = None,
          signature: bool = True) -> outbox.Accepted:
    """Answer message ``uid`` (to its sender, or everyone with ``reply_all``)."""
    text, html = _signed(ctx, agent, text, html, signature)
    mail = build_reply(ctx, agent, uid, folder, text=text, html=html, reply_all=reply_all,
                       attachments=attachments)
    return outbox.submit(ctx, agent, mail, idempotency_key=idempotency_key)


def forward(ctx: ServiceContext, agent: Agent, uid: int, folder: str = "INBOX", *,
            to: Sequence[str], cc: Sequence[str] = (), text: str | None = None,
            html: str | None = None, as_attachment: bool = False,
            attachments: Sequence[Attachment] = (), idempotency_key: str | None = None,
            signature: bool = True) -> outbox.Accepted:
    """Forward message ``uid`` inline (with its attachments) or as a message/rfc822 file."""
    text, html = _signed(ctx, agent, text, html, signature)
    parsed, raw, original_text, original_html = _original(ctx, agent, uid, folder)
    kept = [] if as_attachment else [get_attachment(raw, a.index) for a in parsed.attachments]
    mail = compose.forward_mail(parsed, raw, to=to, cc=cc, text=text, html=html,
                                original_text=original_text, original_html=original_html,
                                attachments=kept, extra=attachments,
                                as_attachment=as_attachment)
    return outbox.submit(ctx, agent, mail, idempotency_key=idempotency_key)
