"""The MailHost protocol: where agent mailboxes live (a private Dovecot, or Stalwart).

Implementations are synchronous (account operations are quick local calls); the daemon calls
them from worker threads. Each converts its foreign errors into ``errors.py`` types.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from ..models import Endpoints, HostHealth
from .maildir import MailFile

PUSH_PATH = "/v1/internal/mail-arrived"  # where a mail host that pushes tells of new mail


@runtime_checkable
class MailHost(Protocol):
    kind: str  # "local" | "stalwart"
    domain: str
    # the bearer secret a host's push notifications to PUSH_PATH carry; None: it does not push
    push_secret: str | None
    # whether the running host pushes every change to an INBOX (new mail, flags, expunges)
    push_enabled: bool

    def start(self) -> None:
        """Start (or adopt) the mail server; idempotent. Raises DependencyMissing/MailHostError."""

    def stop(self) -> None:
        """Stop the mail server; idempotent."""

    def is_running(self) -> bool: ...

    def health(self) -> HostHealth: ...

    def endpoints(self) -> Endpoints: ...

    def create_account(self, address: str, password: str) -> None:
        """Create a mailbox account. Raises Conflict if it exists, MailHostError on failure."""

    def delete_account(self, address: str) -> None:
        """Remove the account and its mail; no error if it does not exist."""

    def change_password(self, address: str, password: str) -> None:
        """Raises NotFound if the account does not exist."""

    def account_exists(self, address: str) -> bool: ...

    def list_accounts(self) -> list[str]: ...


@runtime_checkable
class MailboxArchive(Protocol):
    """A mail host whose mailboxes can be copied out and back in (backup and restore)."""

    def export_mailbox(self, address: str) -> Iterator[MailFile]:
        """The account's folders, messages (flags and dates kept) and UID state; consistent
        while mail is delivered (see :mod:`.maildir`). Nothing if it has no mail yet."""

    def import_mailbox(self, address: str, files: Iterable[MailFile]) -> int:
        """Write a copy made by :meth:`export_mailbox` into the (new, empty) account's
        mailbox; the number of messages written."""
