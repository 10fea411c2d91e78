"""Agent mail operations on an existing message: reply, reply-all and forward.

The original is read as the agent (its own mailbox only) and sanitised as the agent was shown
it; the answer goes through :func:`outbox.submit` — routing, the outbound guard, the outbox
and the audit log — like every other send, so the reply leaves by the same gateway any mail
to that recipient takes (the relay for internet mail that came in through the relay).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..mail import compose
from ..mail.mime import get_attachment
from ..models import Agent, Attachment, OutgoingMail, ParsedMessage
from ..store import verdicts
from . import outbox
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


def reply(ctx: ServiceContext, agent: Agent, uid: int, folder: str = "INBOX", *,
          text: str | None = None, html: str | None = None, reply_all: bool = False,
          attachments: Sequence[Attachment] = (), idempotency_key: str | None = None
          ) -> outbox.Accepted:
    """Answer message ``uid`` (to its sender, or everyone with ``reply_all``)."""
    mail = build_reply(ctx, agent, uid, folder, text=text, html=html, reply_all=reply_all,
                       attachments=attachments)
    return outbox.submit(ctx, agent, mail, idempotency_key=idempotency_key)


def forward(ctx: ServiceContext, agent: Agent, uid: int, folder: str = "INBOX", *,
            to: Sequence[str], cc: Sequence[str] = (), text: str | None = None,
            html: str | None = None, as_attachment: bool = False,
            attachments: Sequence[Attachment] = (), idempotency_key: str | None = None
            ) -> outbox.Accepted:
    """Forward message ``uid`` inline (with its attachments) or as a message/rfc822 file."""
    parsed, raw, original_text, original_html = _original(ctx, agent, uid, folder)
    kept = [] if as_attachment else [get_attachment(raw, a.index) for a in parsed.attachments]
    mail = compose.forward_mail(parsed, raw, to=to, cc=cc, text=text, html=html,
                                original_text=original_text, original_html=original_html,
                                attachments=kept, extra=attachments,
                                as_attachment=as_attachment)
    return outbox.submit(ctx, agent, mail, idempotency_key=idempotency_key)
