"""A stand-in mail provider (the "Gmail" of the relay tests): a private Dovecot reached over
IMAPS with a trustme certificate, mail delivered into it by LMTP (as the provider's MX would),
and an SMTP server with AUTH and implicit TLS (:class:`SmtpSink`) signed by the same CA, so
the relay account needs one ``ca_file`` for both halves, exactly like a self-hosted server.

The Dovecot config is the daemon's own template rendered by :class:`LocalHost`, with TLS
switched on and the IMAP listener moved to an ``imaps`` (implicit TLS) listener; nothing in
the production client code path changes.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import ssl
import tempfile
import time
import uuid
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import trustme
from imapclient import IMAPClient

from agenticmail.config import write_private
from agenticmail.hosts import dovecot_config as dc
from agenticmail.hosts.local import LocalHost
from agenticmail.models import Credentials
from agenticmail_testing.dovecot import dovecot_pids, process_tree, scratch_system_dir
from agenticmail_testing.oauth_provider import FakeOAuth
from agenticmail_testing.ports import free_ports
from agenticmail_testing.smtp_sink import SmtpSink

PLAIN_LISTENER = """  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}"""
TLS_LISTENER = """  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}"""
MX_HOST = "mx.google.com"  # the host its MX names in Received (and its authserv-id)
NO_IDLE_CAPABILITY = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT MULTIAPPEND UNSELECT "
                      "CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 LITERAL+ "
                      "SPECIAL-USE MOVE")


OAUTH2_CONF = """introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
"""
OAUTH2_PASSDB = """passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer plain
  args = {conf}
}}"""


class TlsDovecot(LocalHost):
    """:class:`LocalHost` whose IMAP listener speaks implicit TLS (IMAPS); with
    ``introspection_url``, ``AUTHENTICATE XOAUTH2`` too (Dovecot's ``oauth2`` passdb checks the
    bearer token at that RFC 7662 endpoint; the password passdb stays, for the test's own
    logins)."""

    def __init__(self, *args: Any, cert_file: Path, key_file: Path, idle: bool = True,
                 introspection_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cert_file, self.key_file, self.idle = cert_file, key_file, idle
        self.introspection_url = introspection_url

    def _write_config(self, layout: dc.StoreLayout) -> None:
        super()._write_config(layout)
        text = self.config_path.read_text("utf-8")
        plain = PLAIN_LISTENER.format(port=self.imap_port)
        assert plain in text and "ssl = no\n" in text, "the dovecot template changed"
        text = text.replace(plain, TLS_LISTENER.format(port=self.imap_port)).replace(
            "ssl = no\n",
            f"ssl = required\nssl_cert = <{self.cert_file}\nssl_key = <{self.key_file}\n"
            "ssl_min_protocol = TLSv1.2\n")
        if not self.idle:  # a server without IDLE: the relay must poll
            text += f"imap_capability = {NO_IDLE_CAPABILITY}\n"
        if self.introspection_url is not None:
            conf = self.config_path.parent / "dovecot-oauth2.conf.ext"
            write_private(conf, OAUTH2_CONF.format(url=self.introspection_url).encode())
            passdb = re.search(r"^passdb \{\n.*?^\}$", text, re.S | re.M)
            assert passdb is not None and "auth_mechanisms = plain login\n" in text, \
                "the dovecot template changed"
            end = passdb.end()
            text = (text[:end] + "\n" + OAUTH2_PASSDB.format(conf=conf) + text[end:]).replace(
                "auth_mechanisms = plain login\n", "auth_mechanisms = plain login xoauth2\n")
        write_private(self.config_path, text.encode())


class Provider:
    """One provider: IMAPS + LMTP (Dovecot) and SMTP submission (SmtpSink), one CA."""

    def __init__(self, address: str = "owner@example.com", password: str = "app-password",
                 *, idle: bool = True, oauth: bool = False) -> None:
        self.address, self.password = address, password
        self.sink = SmtpSink(address, password)
        self.ca: trustme.CA = self.sink.ca
        self.ca_file = self.sink.ca_file
        # an identity provider whose access tokens both servers accept (XOAUTH2)
        self.oauth = FakeOAuth(self.ca, address).start() if oauth else None
        if self.oauth is not None:
            self.sink.accept_bearer(self.oauth.check)
        self.tmp = Path(tempfile.mkdtemp(prefix="am-provider-"))
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.cert_file, self.key_file = self.tmp / "cert.pem", self.tmp / "key.pem"
        cert.cert_chain_pems[0].write_to_path(str(self.cert_file))
        cert.private_key_pem.write_to_path(str(self.key_file))
        os.chmod(self.key_file, 0o600)
        imap_port, lmtp_port, submission_port = free_ports(3)
        self.host = TlsDovecot(self.tmp / "dovecot", domain="example.com", imap_port=imap_port,
                               lmtp_port=lmtp_port, submission_port=submission_port,
                               system_dir=scratch_system_dir(), cert_file=self.cert_file,
                               key_file=self.key_file, idle=idle,
                               introspection_url=self.oauth.introspection_url
                               if self.oauth is not None else None)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> Provider:
        self.host.start()
        if not self.host.account_exists(self.address):
            self.host.create_account(self.address, self.password)
        self.sink.start()
        return self

    def close(self) -> None:
        self.sink.stop()
        if self.oauth is not None:
            self.oauth.stop()
        self.host.purge()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def stop_imap(self) -> None:
        """The provider's IMAP server goes down (connected clients are cut off)."""
        self.host.stop()

    @contextlib.contextmanager
    def imap_frozen(self) -> Iterator[None]:
        """The provider's IMAP server hangs (every Dovecot process stopped, SIGSTOP):
        connections stay open and are accepted, nothing is answered, until the block ends."""
        frozen = process_tree(dovecot_pids(self.host.config_path))
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in frozen:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def start_imap(self) -> None:
        self.host.start()

    # -- mail ----------------------------------------------------------------------------------
    def relay_account(self, **extra: Any) -> dict[str, Any]:
        """The body of PUT /v1/relay for this provider."""
        return {"provider": "other", "address": self.address, "password": self.password,
                "smtp_host": "127.0.0.1", "smtp_port": self.sink.port, "smtp_tls": "implicit",
                "imap_host": "127.0.0.1", "imap_port": self.host.imap_port,
                "ca_file": self.ca_file, **extra}

    def deliver(self, raw: bytes, rcpt: str | None = None, sender: str = "") -> None:
        """Mail arrives in the account's INBOX (the provider's MX delivering it)."""
        import smtplib

        with smtplib.LMTP(str(self.host.lmtp_socket)) as lmtp:
            refused = lmtp.sendmail(sender, [rcpt or self.address], raw)
        assert not refused, refused

    def receive(self, raw: bytes, *, client_ip: str, helo: str, mail_from: str, auth: str,
                rcpt: str | None = None) -> None:
        """Mail arrives from the internet the way the provider's MX (``mx.google.com``) takes
        it in: it prepends its own ``Received`` (the client's HELO and IP) and its
        ``Authentication-Results`` (``auth``, e.g. :func:`tests.relay.helpers.gmail_auth`),
        and delivers with the envelope sender ``mail_from`` (the mailbox's Return-Path).
        Whatever ``raw`` brings (its own Received headers...) stays below them."""
        rcpt = rcpt or self.address
        stamp = (f"Received: from {helo} ({helo} [{client_ip}])\r\n"
                 f"        by {MX_HOST} with ESMTPS id {uuid.uuid4().hex[:12]}\r\n"
                 f"        for <{rcpt}>; {formatdate(usegmt=True)}\r\n"
                 f"Authentication-Results: {auth}\r\n")
        self.deliver(stamp.encode() + raw, rcpt, sender=mail_from)

    def deliver_offline(self, raw: bytes) -> None:
        """Mail arrives while the IMAP server is down: written into the Maildir the way an
        MTA's local delivery does (tmp/ then rename into new/); Dovecot indexes it on start."""
        maildir = self.host.layout.mail_dir / self.address / "Maildir"
        assert (maildir / "new").is_dir(), "the mailbox must have been used once"
        owner = (maildir / "new").stat()
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.provider"
        tmp = maildir / "tmp" / name
        tmp.write_bytes(raw.replace(b"\r\n", b"\n"))
        os.chown(tmp, owner.st_uid, owner.st_gid)
        os.replace(tmp, maildir / "new" / name)

    def reset_uidvalidity(self) -> None:
        """With the server stopped: drop the UID list and indexes, as a provider migrating
        a mailbox does; Dovecot renumbers every message under a new UIDVALIDITY."""
        maildir = self.host.layout.mail_dir / self.address / "Maildir"
        for path in maildir.iterdir():
            if path.name.startswith(("dovecot-uidlist", "dovecot.index", "dovecot-uidvalidity")):
                path.unlink()

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.load_verify_locations(self.ca_file)
        return context

    def imap(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.host.imap_port, ssl=True,
                            ssl_context=self.ssl_context(), timeout=10)
        client.login(self.address, self.password)
        return client

    def inbox(self) -> dict[int, tuple[bytes, tuple[bytes, ...]]]:
        """{uid: (raw, flags)} of the INBOX, read with BODY.PEEK (flags untouched)."""
        client = self.imap()
        try:
            client.select_folder("INBOX", readonly=True)
            uids = client.search(["ALL"])
            data = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"]) if uids else {}
            return {uid: (bytes(v[b"BODY[]"]), tuple(v[b"FLAGS"])) for uid, v in data.items()}
        finally:
            client.logout()

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.address, self.password)
