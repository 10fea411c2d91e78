"""The inbound path the gateways share: an outside message's copy into an agent's mailbox.

The relay (mail fetched from the owner's own mailbox) and domain mode (mail Cloudflare's Email
Worker posts) each decide which agent a message is for and build its copy
(:func:`agenticmail.mail.outside_copy.outside_copy`); from there the path is one: any origin
stamp stripped (only mail an agent submitted may carry one), delivered over LMTP to the
agent's mailbox, its watcher woken. The watcher then scores, sanitises, moves spam and
announces ``message.new``, as for any external mail; it believes the
``Authentication-Results`` header a gateway vouched for only on a copy whose seal
(:func:`sealed`) verifies under the daemon's key, with that gateway's purpose.
"""

from __future__ import annotations

from ..mail.delivery import deliver_lmtp
from ..mail.outside_copy import SEAL_HEADER, seal_input
from ..models import Agent
from ..security.keys import same_secret
from ..security.mime_view import InboundMessage
from . import origin
from .context import ServiceContext


def seal(ctx: ServiceContext, purpose: str, text: str) -> str:
    """The seal of one gateway (``purpose``) over :func:`seal_input`'s ``text``."""
    return ctx.secrets.mac(purpose, text)


def sealed(ctx: ServiceContext, message: InboundMessage, purpose: str) -> bool:
    """Whether ``message`` is a copy the gateway named by ``purpose`` delivered, unchanged in
    what the seal binds (its topmost Authentication-Results, Message-ID, From, body)."""
    raw = message.raw
    seals = message.message.get_all(SEAL_HEADER) or []
    if raw is None or len(seals) != 1:
        return False
    return same_secret(" ".join(str(seals[0]).split()), seal(ctx, purpose, seal_input(raw)))


def deliver(ctx: ServiceContext, agent: Agent, envelope_from: str, copy: bytes) -> None:
    """Put ``copy`` into ``agent``'s mailbox and wake its watcher. PermanentDeliveryError
    when the mailbox refuses it; TransientDeliveryError / MailHostUnavailable to retry."""
    endpoints = ctx.host.endpoints()
    deliver_lmtp(endpoints.delivery_host, endpoints.delivery_port, envelope_from,
                 [agent.address], origin.strip(copy))
    ctx.mail_arrived([agent.address])
