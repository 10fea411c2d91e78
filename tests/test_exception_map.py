"""The map of foreign exceptions: each adapter turns its library's failures into
``agenticmail.errors`` types at its edge (httpx's habit), so nothing above it ever sees one.

One row per adapter and failure: a real failure (a closed port, a refused login, a damaged
file, a duplicate row) through the production code path, and the error type that must come out.
A library an adapter wraps with no row here fails :func:`test_every_adapter_has_a_row`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from agenticmail.client import AsyncClient, Client
from agenticmail.config import load_settings
from agenticmail.daemon.component import Scope
from agenticmail.daemon.submission import SubmissionServer
from agenticmail.errors import (
    AgenticMailError,
    CloudflareError,
    CloudflareUnavailable,
    ConfigError,
    Conflict,
    DaemonUnavailable,
    DependencyMissing,
    DnsUnavailable,
    InvalidRequest,
    MailHostError,
    MailHostUnavailable,
    PermanentDeliveryError,
    PermissionDenied,
    RegistryUnavailable,
    SignInRequired,
    StorageUnavailable,
    TransientDeliveryError,
)
from agenticmail.gateway.relay_account import RelayAccount, check_imap_login, check_smtp_login
from agenticmail.hosts import stalwart_admin
from agenticmail.hosts.jmap import JmapClient
from agenticmail.hosts.stalwart import StalwartHost
from agenticmail.mail import archive, smtp, template
from agenticmail.mail.delivery import deliver_lmtp
from agenticmail.mail.idle import FolderWatch
from agenticmail.mail.imap import MailboxSession
from agenticmail.mail.mx import MxResolver
from agenticmail.mcp.server import pdf_text
from agenticmail.models import Credentials, Endpoints, Role
from agenticmail.providers import cloudflared, oauth, public_dns, rdap
from agenticmail.providers.cloudflare import CloudflareApi
from agenticmail.providers.docker_engine import DockerEngine
from agenticmail.providers.web_fetch import fetch, public_address
from agenticmail.providers.webhook_http import WebhookPoster, check_destination
from agenticmail.security.authresults import dnspython_records, dnspython_resolver
from agenticmail.security.keys import SecretBox, new_encryption_key
from agenticmail.security.sender_policy import parse as parse_policy
from agenticmail.security.spf_check import spf_verdict
from agenticmail.store import agents as agent_store
from agenticmail.store import outbox as outbound
from agenticmail.store.db import Database
from agenticmail.store.migrations import migrate
from agenticmail_testing.cloudflare_api import DNS, FakeCloudflare
from agenticmail_testing.daemon import DaemonHandle
from agenticmail_testing.oauth_provider import FakeOAuth
from agenticmail_testing.ports import free_port
from tests.stalwart.fake_stalwart import FakeStalwart
from tests.test_architecture import FOREIGN, imports_of, sources

# Libraries whose calls fail with their own exception types (pure parsers and the web
# framework's own request errors are not in this list: their failures are input errors handled
# where the input is read, or the framework's own error handling).
RAISING = {"sqlite3", "sqlite_utils", "smtplib", "aiosmtplib", "imaplib", "imapclient",
           "aiosmtpd", "httpx", "httpcore", "requests", "docker", "dns", "tomllib", "pypdf",
           "jinja2", "mailbox", "msal", "spf", "cloudflare"}

# adapter modules (or packages) that wrap a RAISING library without a row, and why
NO_ROW = {
    "client._base": "the transport-error conversion both clients share: their rows test it",
}


@dataclass(frozen=True)
class Row:
    adapter: str  # the module (or package) whose edge converts
    failure: str
    expected: type[AgenticMailError] | None  # None: answered with a value, never raised
    run: Callable[[DaemonHandle, Path], object]


def _closed() -> int:
    return free_port()  # nothing listens there


def _endpoints(port: int) -> Endpoints:
    return Endpoints(imap_host="127.0.0.1", imap_port=port, submission_host="127.0.0.1",
                     submission_port=port, delivery_host="127.0.0.1", delivery_port=port,
                     imap_tls=False, delivery_protocol="lmtp")


def _relay(port: int, password: str = "x", username: str = "nobody@localhost") -> RelayAccount:
    return RelayAccount(provider="custom", address="owner@example.org", username=username,
                        password=password, smtp_host="127.0.0.1", smtp_port=port,
                        smtp_tls="none", imap_host="127.0.0.1", imap_port=port, imap_tls=False)


def _database(tmp: Path) -> Database:
    db = Database(tmp / "t.db")
    migrate(db)
    return db


def _damaged_db(d: DaemonHandle, tmp: Path) -> object:
    path = tmp / "damaged.db"
    path.write_bytes(b"this is not a database file, " * 512)
    return Database(path).query("SELECT 1")


def _duplicate_agent(d: DaemonHandle, tmp: Path) -> object:
    db = _database(tmp)
    for _ in range(2):
        with db.write() as conn:
            agent_store.insert_agent(conn, name="twin", address="twin@localhost",
                                     role=Role.SECRETARY, display_name="Twin", metadata={},
                                     password_enc="x")
    return None


def _duplicate_idempotency_key(d: DaemonHandle, tmp: Path) -> object:
    db = _database(tmp)
    for n in range(2):
        with db.write() as conn:
            outbound.insert_outbox(conn, id=f"ob_{n}", agent="a", agent_id=None,
                                   message_id=f"<{n}@x>", envelope_from="a@localhost",
                                   local_rcpts=[], external_rcpts=["b@example.org"], bcc=[],
                                   raw=b"x", thread_id=None, subject="s", idempotency_key="k")
    return None


def _imap_port(d: DaemonHandle) -> int:
    return d.settings.imap_port


def _bad_login(d: DaemonHandle) -> Credentials:
    address = d.create_agent(f"x{free_port()}")["agent"]["address"]
    return Credentials(address, "not-the-password")


def _smtp_route(port: int, username: str | None, password: str | None) -> smtp.SmtpRoute:
    return smtp.SmtpRoute(host="127.0.0.1", port=port, tls="none", username=username,
                          password=password, address="a@localhost")


def _smtp_send(port: int, username: str | None = None, password: str | None = None) -> object:
    return asyncio.run(smtp.send(_smtp_route(port, username, password), "a@localhost",
                                 ["b@localhost"], b"Subject: x\r\n\r\nx\r\n", timeout=5))


def _port_taken(d: DaemonHandle, tmp: Path) -> object:
    async def bind_twice() -> None:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            server = SubmissionServer(d.daemon.ctx, port=busy.getsockname()[1])  # type: ignore[union-attr]
            async with Scope("submission") as scope:
                await server.start(scope)
    return asyncio.run(bind_twice())


def _damaged_config(d: DaemonHandle, tmp: Path) -> object:
    (tmp / "config.toml").write_text("this = is not [toml\n")
    return load_settings(tmp, env={})


def _client(d: DaemonHandle, tmp: Path) -> object:
    with Client("ak_" + "0" * 64, f"http://127.0.0.1:{_closed()}", timeout=5) as client:
        return client.health()


def _async_client(d: DaemonHandle, tmp: Path) -> object:
    async def ask() -> object:
        async with AsyncClient("ak_" + "0" * 64, f"http://127.0.0.1:{_closed()}",
                               timeout=5) as client:
            return await client.whoami()
    return asyncio.run(ask())


def _pdf_text(d: DaemonHandle, tmp: Path) -> object:
    assert pdf_text(b"%PDF-1.4 this is no PDF") is None  # unreadable: no text, no raise
    return None


def _stalwart_login(d: DaemonHandle, tmp: Path) -> object:
    host = StalwartHost(tmp / "stalwart", secrets_box=SecretBox(new_encryption_key()),
                        imap_port=_closed(), lmtp_port=_closed(), submission_port=_closed(),
                        engine=DockerEngine(f"tcp://127.0.0.1:{_closed()}"))
    return host.verify_login("a@localhost", "x")


def _damaged_zone(d: DaemonHandle, tmp: Path) -> object:
    """Stalwart's zone file with a hostname label over 63 octets: dns.zone cannot read it."""
    fake = FakeStalwart(recovery_admin="admin:recovery-Pass-42", bootstrap=False).start()
    try:
        client = JmapClient(fake.url, username="admin", secret="recovery-Pass-42", timeout=5)
        domain = stalwart_admin.ensure_domain(client, "agents.test")
        stalwart_admin.ensure_hostname(client, "x" * 70 + ".agents.test")
        return stalwart_admin.dns_records(client, domain, "agents.test")
    finally:
        fake.stop()


def _revoked_grant(d: DaemonHandle, tmp: Path, kind: str) -> object:
    """A refresh token the provider does not know (any more): ``invalid_grant``."""
    ca = trustme.CA()
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    fake = FakeOAuth(ca, "a@example.org").start()
    try:
        app = oauth.OAuthApp(kind, "test-client-id", authority=fake.authority if
                             kind == "microsoft" else None, token_url=f"{fake.base}/token",
                             ca_file=str(ca_file))
        return oauth.refresh(app, "rt-revoked")
    finally:
        fake.stop()


def _dns_lookup(d: DaemonHandle, tmp: Path) -> object:
    lookup = dnspython_resolver(1.0, f"127.0.0.1:{_closed()}")
    return lookup("selector._domainkey.example.org")  # unanswered: for now, not "no key"


def _spf_dead_dns(d: DaemonHandle, tmp: Path) -> object:
    found = spf_verdict("192.0.2.1", "a@example.org", "mail.example.org",
                        lookup=dnspython_records(1.0, f"127.0.0.1:{_closed()}"), timeout=1.0)
    assert found.result == "temperror", found  # pyspf's TempError, answered as a result
    return found


def _unwritable_mbox(d: DaemonHandle, tmp: Path) -> object:
    with archive.writer(tmp / "no" / "such" / "dir.mbox", "mbox"):  # the module's OSError
        return None


def _webhook_post(url: str, allowed: bool = False) -> object:
    """A POST through the webhook poster (``allowed``: any address, as for the owner's URL)."""
    async def post() -> object:
        poster = WebhookPoster()
        try:
            return await poster.post(url, b"{}", {}, timeout=5,
                                     allowed=None if allowed else public_address)
        finally:
            await poster.aclose()
    return asyncio.run(post())


def _cloudflare_refused(d: DaemonHandle, t: Path) -> object:
    """The fake API refuses a call the token has no permission for (403, code 10000)."""
    with FakeCloudflare() as cf:
        zone = cf.add_zone("example.com")
        token = cf.add_token({DNS})
        with CloudflareApi(token, base_url=cf.base_url) as api:
            return api.enable_email_routing(zone, "example.com")


ROWS = [
    Row("mail.template", "a template with a syntax error", InvalidRequest,
        lambda d, t: template.render("{{ name", {}, part="text", max_chars=100)),
    Row("mail.template", "a template reaching a Python attribute", InvalidRequest,
        lambda d, t: template.render("{{ x.__class__ }}", {"x": ""}, part="text",
                                     max_chars=100)),
    Row("mail.archive", "an mbox file that cannot be created", InvalidRequest,
        _unwritable_mbox),
    Row("store", "a damaged database file", StorageUnavailable, _damaged_db),
    Row("store", "a second agent with the same name", Conflict, _duplicate_agent),
    Row("store", "a second send with the same Idempotency-Key", Conflict,
        _duplicate_idempotency_key),
    Row("mail.imap", "IMAP at a closed port", MailHostUnavailable,
        lambda d, t: MailboxSession.open(_endpoints(_closed()), Credentials("a", "b"), 5)),
    Row("mail.imap", "IMAP login with a wrong password", MailHostError,
        lambda d, t: MailboxSession.open(_endpoints(_imap_port(d)), _bad_login(d), 5)),
    Row("mail.idle", "IDLE watch at a closed port", MailHostUnavailable,
        lambda d, t: FolderWatch(_endpoints(_closed()), Credentials("a", "b")).connect()),
    Row("mail.idle", "IDLE watch login with a wrong password", MailHostError,
        lambda d, t: FolderWatch(_endpoints(_imap_port(d)), _bad_login(d)).connect()),
    Row("mail.smtp", "SMTP at a closed port", TransientDeliveryError,
        lambda d, t: _smtp_send(_closed())),
    Row("mail.smtp", "SMTP login with a wrong password", PermanentDeliveryError,
        lambda d, t: _smtp_send(d.settings.submission_port, "nobody@localhost", "wrong")),
    Row("mail.smtp", "SMTP login check at a closed port", MailHostUnavailable,
        lambda d, t: asyncio.run(smtp.check_login(_smtp_route(_closed(), "a", "b"), 5))),
    Row("mail.smtp", "SMTP login check with a wrong password", MailHostError,
        lambda d, t: asyncio.run(smtp.check_login(
            _smtp_route(d.settings.submission_port, "nobody@localhost", "wrong"), 5))),
    Row("mail.delivery", "LMTP at a closed port", TransientDeliveryError,
        lambda d, t: deliver_lmtp("127.0.0.1", _closed(), "a@localhost", ["b@localhost"],
                                  b"Subject: x\r\n\r\nx\r\n", timeout=5)),
    Row("gateway.relay_account", "relay SMTP at a closed port", MailHostUnavailable,
        lambda d, t: check_smtp_login(_relay(_closed()), timeout=5)),
    Row("gateway.relay_account", "relay SMTP login with a wrong password", MailHostError,
        lambda d, t: check_smtp_login(_relay(d.settings.submission_port), timeout=5)),
    Row("gateway.relay_account", "relay IMAP at a closed port", MailHostUnavailable,
        lambda d, t: check_imap_login(_relay(_closed()), timeout=5)),
    Row("gateway.relay_account", "relay IMAP login with a wrong password", MailHostError,
        lambda d, t: check_imap_login(_relay(_imap_port(d), username=_bad_login(d).username),
                                      timeout=5)),
    Row("hosts.jmap", "Stalwart's JMAP at a closed port", MailHostUnavailable,
        lambda d, t: JmapClient(f"http://127.0.0.1:{_closed()}", username="admin",
                                secret="x", timeout=5).session()),
    Row("hosts.stalwart", "Stalwart's IMAP login check at a closed port", MailHostUnavailable,
        _stalwart_login),
    Row("hosts.stalwart_admin", "Stalwart's DNS zone file unreadable", MailHostError,
        _damaged_zone),
    Row("providers.docker_engine", "a Docker engine at a closed port", DependencyMissing,
        lambda d, t: DockerEngine(f"tcp://127.0.0.1:{_closed()}", timeout=5).info()),
    Row("security.authresults", "DNS at a closed port", DnsUnavailable, _dns_lookup),
    Row("security.spf_check", "SPF with DNS at a closed port", None, _spf_dead_dns),
    Row("mail.mx", "an MX lookup at a closed DNS port", TransientDeliveryError,
        lambda d, t: asyncio.run(MxResolver(f"127.0.0.1:{_closed()}", timeout=1.0)
                                 .exchangers("example.org"))),
    Row("security.sender_policy", "a policy file that is not TOML", InvalidRequest,
        lambda d, t: parse_policy("default = ")),
    Row("daemon.submission", "SMTP submission on a port already taken", AgenticMailError,
        _port_taken),
    Row("config", "a damaged config.toml", ConfigError, _damaged_config),
    Row("client.sync", "the daemon's API at a closed port", DaemonUnavailable, _client),
    Row("client.aio", "the daemon's API at a closed port", DaemonUnavailable, _async_client),
    Row("providers.web_fetch", "a URL at a closed port", InvalidRequest,
        lambda d, t: fetch(f"http://127.0.0.1:{_closed()}/a.pdf", max_bytes=1000, timeout=5,
                           allowed=lambda ip: True, allow_http=True)),
    Row("providers.web_fetch", "a URL on a loopback address", InvalidRequest,
        lambda d, t: fetch(f"https://127.0.0.1:{_closed()}/a.pdf", max_bytes=1000)),
    Row("providers.webhook_http", "a webhook URL at a closed port", TransientDeliveryError,
        lambda d, t: _webhook_post(f"http://127.0.0.1:{_closed()}/hook", allowed=True)),
    Row("providers.webhook_http", "an agent's webhook URL on a loopback address",
        PermissionDenied,
        lambda d, t: check_destination(f"https://localhost:{_closed()}/", public_address,
                                       allow_http=False)),
    Row("providers.webhook_http", "an agent's webhook POST to a loopback address",
        PermissionDenied, lambda d, t: _webhook_post(f"https://127.0.0.1:{_closed()}/")),
    Row("providers.rdap", "an RDAP bootstrap file at a closed port", RegistryUnavailable,
        lambda d, t: rdap.lookup("example.com", f"http://127.0.0.1:{_closed()}/dns.json",
                                 timeout=5)),
    Row("providers.public_dns", "public DNS at a closed port", DnsUnavailable,
        lambda d, t: public_dns.lookup("example.org", "MX",
                                       nameservers=f"127.0.0.1:{_closed()}", timeout=1)),
    Row("mcp.server", "a damaged PDF attachment", None, _pdf_text),
    Row("providers.cloudflared", "a cloudflared release download from a closed port",
        DependencyMissing, lambda d, t: cloudflared.install(load_settings(
            t, env={}, cloudflared_download_url=f"http://127.0.0.1:{_closed()}"))),
    Row("providers.oauth", "Google's token endpoint at a closed port", MailHostUnavailable,
        lambda d, t: oauth.refresh(oauth.OAuthApp(
            "google", "cid", token_url=f"https://127.0.0.1:{_closed()}/token"), "rt")),
    Row("providers.oauth", "a Microsoft authority at a closed port", MailHostUnavailable,
        lambda d, t: oauth.refresh(oauth.OAuthApp(
            "microsoft", "cid", authority=f"https://127.0.0.1:{_closed()}/t"), "rt")),
    Row("providers.oauth", "a revoked grant at Google's token endpoint", SignInRequired,
        lambda d, t: _revoked_grant(d, t, "google")),
    Row("providers.oauth", "a revoked grant at Microsoft's token endpoint", SignInRequired,
        lambda d, t: _revoked_grant(d, t, "microsoft")),
    Row("providers.cloudflare", "a call the API token is not allowed", CloudflareError,
        _cloudflare_refused),
    Row("providers.cloudflare", "the API at a closed port", CloudflareUnavailable,
        lambda d, t: CloudflareApi("t", base_url=f"http://127.0.0.1:{_closed()}/client/v4",
                                   max_retries=0).verify_token()),
]


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


@pytest.fixture(scope="module")
def daemon() -> Iterator[DaemonHandle]:
    """A daemon of this module's own: the shared one has by now seen many failed logins from
    this address, and its login throttle (daemon/submission.py) would make each wrong-password
    row here wait its 4 s penalty twice."""
    handle = DaemonHandle().start()
    yield handle
    handle.close()


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.adapter}: {r.failure}")
def test_foreign_failure_becomes_an_agenticmail_error(row: Row, daemon: DaemonHandle,
                                                      scratch: Path) -> None:
    if row.expected is None:
        row.run(daemon, scratch)  # converted into an answer: nothing may escape
        return
    with pytest.raises(row.expected) as caught:
        row.run(daemon, scratch)
    assert isinstance(caught.value, AgenticMailError)


def test_every_adapter_has_a_row() -> None:
    """Each module that wraps a library with its own exception types has a row above (or a
    reason in NO_ROW): a new adapter cannot leave its library's exceptions unmapped."""
    wrapping = set()
    for path in sources():
        for imp in imports_of(path):
            lib = imp.target.split(".")[0]
            if lib in RAISING and not imp.type_only:
                wrapping.add(imp.source)
    covered = {r.adapter for r in ROWS} | set(NO_ROW)
    missing = sorted(m for m in wrapping
                     if not any(m == c or m.startswith(c + ".") for c in covered))
    assert missing == [], f"adapters without a row in ROWS: {missing}"
    assert set(RAISING) <= set(FOREIGN), "every raising library has its adapters in FOREIGN"
