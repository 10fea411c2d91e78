"""FolderWatch over implicit TLS (the relay's IMAPS): what the server announces is read even
when it already sits in the TLS and imaplib buffers, where polling the socket cannot see it."""

from __future__ import annotations

from agenticmail.mail.idle import FolderWatch
from agenticmail.models import Endpoints
from agenticmail_testing.dovecot import wait_for_change
from agenticmail_testing.relay_provider import Provider

MAIL = b"From: a@example.org\r\nTo: owner@example.com\r\nSubject: tls\r\n\r\nbody\r\n"


def _endpoints(provider: Provider) -> Endpoints:
    return Endpoints("127.0.0.1", provider.host.imap_port, "127.0.0.1", 0,
                     str(provider.host.lmtp_socket), 0, imap_tls=True)


def test_mail_delivered_before_idle_and_during_idle_over_tls(provider: Provider) -> None:
    watch = FolderWatch(_endpoints(provider), provider.credentials, timeout=5,
                        ssl_context=provider.ssl_context())
    try:
        watch.connect()
        before = watch.uids_after(0)  # our last command before idling
        provider.deliver(MAIL)  # lands before IDLE starts
        wait_for_change(watch, "exists", 5)
        first = watch.uids_after(max(before, default=0))
        assert len(first) == 1
        assert watch.wait(0.3) == set()  # nothing else pending: IDLE resumes quietly
        provider.deliver(MAIL)  # lands during IDLE
        wait_for_change(watch, "exists", 5)
        assert len(watch.uids_after(first[0])) == 1
    finally:
        watch.close()
