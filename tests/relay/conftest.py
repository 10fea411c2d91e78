"""Fixtures for the relay gateway: a stand-in provider (IMAPS Dovecot + SMTP sink, one CA)
and a real daemon whose relay account is that provider."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import Message

import pytest

from agenticmail_testing.daemon import DaemonHandle
from agenticmail_testing.dovecot import dovecot_available
from agenticmail_testing.relay_provider import Provider
from tests.relay.helpers import OWNER


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    if not dovecot_available():
        pytest.skip("needs Dovecot")
    p = Provider(OWNER).start()

    def mail_to_the_owner_lands_in_the_relay_inbox(message: Message) -> str | None:
        # the owner's own provider: mail the relay's SMTP sends to the owner's address is
        # delivered to the same INBOX (Gmail files notifications to yourself there)
        if OWNER in str(message.get("To", "")).lower():
            p.deliver(message.as_bytes())
        return None

    p.sink.set_script(mail_to_the_owner_lands_in_the_relay_inbox)
    yield p
    p.close()


@pytest.fixture(scope="module")
def relay_daemon(provider: Provider) -> Iterator[DaemonHandle]:
    handle = DaemonHandle(owner_email=OWNER, relay_backoff_seconds=1).start()
    with handle.client() as owner:
        r = owner.put("/v1/relay", json=provider.relay_account(authserv_ids=["mx.google.com"]))
        assert r.status_code == 200, r.text
    yield handle
    handle.close()
