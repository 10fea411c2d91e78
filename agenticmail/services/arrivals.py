"""New mail announced by the mail host itself (push notifications), ahead of IDLE.

A mail host that pushes (the local Dovecot with its push_notification Lua driver) POSTs to
``PUSH_PATH`` on the loopback API with a secret it was started with, naming the user whose
INBOX has a new message. That only wakes the user's watcher (``ServiceContext.mail_arrived``):
the watcher still decides what is new by its own UID search after its checkpoint, so a forged,
repeated or lost notification can cost a search or some latency, never a message.
"""

from __future__ import annotations

from ..errors import AuthenticationFailed
from ..hosts.base import PUSH_PATH
from ..security.keys import same_secret
from .context import ServiceContext

__all__ = ["PUSH_PATH", "host_pushed"]


def host_pushed(ctx: ServiceContext, secret: str | None, user: str | None) -> None:
    """The mail host says ``user``'s INBOX has new mail; ``secret`` must be the host's."""
    expected = ctx.host.push_secret
    if not expected or not secret or not same_secret(secret, expected):
        raise AuthenticationFailed("not the mail host's push secret")
    if user:
        ctx.mail_arrived([user])
