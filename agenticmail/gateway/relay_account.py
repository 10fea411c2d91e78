"""The relay gateway's adapter edge: provider presets, the relay account, login checks, reply
routing and the retry schedule.

A relay account is a person's own mailbox (Gmail, Outlook, any SMTP+IMAP account). Agents
send through its SMTP as ``owner+agent@domain``; replies come back to its INBOX and are routed
here, in order, by:

1. the ``+agent`` sub-address in To / Cc / Delivered-To / X-Original-To (Gmail ignores dots
   in the local part, so ``o.wner+bot@gmail.com`` is the same mailbox);
2. In-Reply-To, then References (newest first), against the Message-IDs agents sent;
3. the default agent: for mail sub-addressed to a tag that is no agent, or (scope ``all``)
   for everything not matched above.

Mail that matches none of these is the owner's own and is left alone. Everything foreign
(imapclient, smtplib, ssl, sockets) is converted into :mod:`agenticmail.errors` types here.
"""

from __future__ import annotations

import contextlib
import imaplib
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from ..errors import (
    DeliveryError,
    InvalidRequest,
    MailHostError,
    MailHostUnavailable,
    SignInRequired,
)
from ..mail.addresses import split_plus, validate_address
from ..mail.mime import parse_message_ids
from ..mail.outside_copy import SEAL_HEADER as SEAL_HEADER  # re-exported: the relay's seal
from ..mail.outside_copy import header_addresses, outside_copy
from ..mail.outside_copy import message_key as message_key
from ..mail.outside_copy import seal_input as seal_input
from ..mail.outside_copy import strip_forged_auth_results as strip_forged_auth_results
from ..mail.smtp import TLS_MODES, SmtpRoute, xoauth2
from ..models import Credentials, Endpoints

FIRST_RUN_NEWEST = 50
BACKOFF_FACTOR_CAP = 10  # 30 s first -> 1 m -> 2 m -> 4 m -> 5 m (10 x 30 s)
ROUTING_HEADERS = ("to", "cc", "delivered-to", "x-original-to")
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
DEFAULT_SCOPES = ("tagged", "all")


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    smtp_host: str
    smtp_port: int
    smtp_tls: str
    imap_host: str
    imap_port: int
    authserv_ids: tuple[str, ...] = ()
    help: str = ""


GMAIL_HELP = (
    "Gmail needs an app password (your normal password will not work):\n"
    "  1. Turn on 2-Step Verification: https://myaccount.google.com/security\n"
    "  2. Create an app password: https://myaccount.google.com/apppasswords\n"
    "     (name it 'agenticmail'; Google shows 16 letters once, spaces do not matter)\n"
    "  3. IMAP is always on for Gmail since 2025; for older accounts check\n"
    "     Settings > See all settings > Forwarding and POP/IMAP > Enable IMAP."
)
OUTLOOK_HELP = (
    "Outlook / Office 365: create an app password at https://account.microsoft.com/security\n"
    "(Advanced security options > App passwords; needs two-step verification). Work and\n"
    "school accounts need SMTP AUTH enabled by the administrator."
)

PRESETS: dict[str, Preset] = {
    "gmail": Preset("gmail", "Gmail", "smtp.gmail.com", 465, "implicit", "imap.gmail.com", 993,
                    ("mx.google.com",), GMAIL_HELP),
    "outlook": Preset("outlook", "Outlook / Office 365", "smtp.office365.com", 587, "starttls",
                      "outlook.office365.com", 993, (), OUTLOOK_HELP),
}


@dataclass(frozen=True)
class RelayAccount:
    """Both halves of a relay account. The password is held in memory only."""

    provider: str
    address: str
    username: str
    password: str = field(repr=False)
    smtp_host: str = ""
    smtp_port: int = 465
    smtp_tls: str = "implicit"
    imap_host: str = ""
    imap_port: int = 993
    imap_tls: bool = True
    ca_file: str | None = None
    default_agent: str | None = None
    default_scope: str = "tagged"
    authserv_ids: tuple[str, ...] = ()
    oauth: bool = False  # signs in with OAuth2: ``password`` is then an access token

    def validate(self) -> None:
        validate_address(self.address)
        if self.smtp_tls not in TLS_MODES:
            raise InvalidRequest(f"smtp tls must be one of {', '.join(TLS_MODES)}")
        for what, host, port in (("SMTP", self.smtp_host, self.smtp_port),
                                 ("IMAP", self.imap_host, self.imap_port)):
            if not host or not 0 < port < 65536:
                raise InvalidRequest(f"the relay needs an {what} host and a port 1-65535")
        if split_plus(self.address)[1] is not None:
            raise InvalidRequest("give the account's base address, without a +tag")
        if self.default_scope not in DEFAULT_SCOPES:
            raise InvalidRequest(f"default scope must be one of {', '.join(DEFAULT_SCOPES)}")

    def smtp_route(self) -> SmtpRoute:
        return SmtpRoute(host=self.smtp_host, port=self.smtp_port, tls=self.smtp_tls,
                         username=self.username, password=self.password, address=self.address,
                         ca_file=self.ca_file, oauth=self.oauth)

    def endpoints(self) -> Endpoints:
        return Endpoints(imap_host=self.imap_host, imap_port=self.imap_port,
                         submission_host=self.smtp_host, submission_port=self.smtp_port,
                         delivery_host=self.smtp_host, delivery_port=self.smtp_port,
                         imap_tls=self.imap_tls, delivery_protocol="smtp")

    def credentials(self) -> Credentials:
        return Credentials(self.username, self.password, oauth=self.oauth)

    def ssl_context(self) -> ssl.SSLContext:
        return self.smtp_route().ssl_context()


def apply_preset(provider: str, **given: Any) -> dict[str, Any]:
    """Fill host/port/TLS (and trusted authserv-ids) from a preset; explicit values win."""
    preset = PRESETS.get(provider)
    if preset is None:
        if provider != "other":
            raise InvalidRequest(f"unknown provider {provider!r}: gmail, outlook or other")
        return given
    base = {"smtp_host": preset.smtp_host, "smtp_port": preset.smtp_port,
            "smtp_tls": preset.smtp_tls, "imap_host": preset.imap_host,
            "imap_port": preset.imap_port, "authserv_ids": preset.authserv_ids}
    return {**base, **{k: v for k, v in given.items() if v is not None}}


# -- the retry schedule ----------------------------------------------------------------------

def backoff_delay(failures: int, first: float = 30.0) -> float:
    """Seconds to wait after ``failures`` consecutive failures (1-based): 30 s, 1 m, 2 m, 4 m,
    then 5 m for ever (with ``first`` = 30). No jitter: there is one relay per daemon."""
    if failures < 1:
        return 0.0
    return float(min(first * 2 ** min(failures - 1, 16), first * BACKOFF_FACTOR_CAP))


# -- plain-words errors -----------------------------------------------------------------------

def explain(exc: BaseException, account: RelayAccount | None = None) -> str:
    """A failure's cause in plain words (never the password)."""
    text = str(exc)
    if isinstance(exc, SignInRequired):
        return f"{text} ({exc.hint})" if exc.hint else text
    if isinstance(exc, DeliveryError):
        return ("a relayed message could not be put into the agent's mailbox (the agents' "
                f"mail host is down or refused it); it will be retried: {text}")
    where = f"{account.imap_host}:{account.imap_port}" if account else "the relay's IMAP server"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, LoginError) or "login failed" in str(cause).lower():
            who = account.username if account else "the relay account"
            return (f"the relay account refused the login for {who}: the app password was "
                    "revoked or changed (run: agenticmail relay setup)")
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"the certificate of {where} is not trusted: {cause.verify_message}"
        if isinstance(cause, ConnectionRefusedError):
            return f"{where} refused the connection: the server is down or restarting"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve {where}: no network or DNS"
        if isinstance(cause, TimeoutError | socket.timeout):
            return f"{where} did not answer in time: the network is down or slow"
        cause = cause.__cause__
    if "closed the connection" in text or "connection lost" in text:
        return f"{where} closed the connection (server restart or network loss): {text}"
    return text


# -- login checks (setup) ---------------------------------------------------------------------

_LOGIN_HINT = {False: "check the app password",
               True: "the server refused the OAuth2 token: check the app registration's "
                     "permissions (IMAP and SMTP) and that IMAP/SMTP AUTH is enabled"}


def check_smtp_login(account: RelayAccount, timeout: float = 20) -> None:
    """Log in to the relay's SMTP server and log out; MailHostError in plain words if not."""
    where = f"{account.smtp_host}:{account.smtp_port}"
    context = account.ssl_context()
    try:
        client: smtplib.SMTP
        if account.smtp_tls == "implicit":
            client = smtplib.SMTP_SSL(account.smtp_host, account.smtp_port, timeout=timeout,
                                      context=context)
        else:
            client = smtplib.SMTP(account.smtp_host, account.smtp_port, timeout=timeout)
        with client:
            client.ehlo()
            if account.smtp_tls == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if account.oauth:
                response = xoauth2(account.username, account.password)
                client.auth("XOAUTH2", lambda challenge=None: "" if challenge else response)
            else:
                client.login(account.username, account.password)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailHostError(f"the SMTP server {where} refused the login for "
                            f"{account.username} ({exc.smtp_code})",
                            hint=_LOGIN_HINT[account.oauth]) from None
    except ssl.SSLError as exc:
        raise MailHostUnavailable(f"TLS with {where} failed: {exc}",
                                  hint="check the port and TLS mode") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailHostUnavailable(f"cannot reach the SMTP server {where}: {exc}") from None


def check_imap_login(account: RelayAccount, timeout: float = 20) -> bool:
    """Log in to the relay's IMAP server, open INBOX; returns whether it supports IDLE."""
    where = f"{account.imap_host}:{account.imap_port}"
    try:
        client = IMAPClient(account.imap_host, port=account.imap_port, ssl=account.imap_tls,
                            ssl_context=account.ssl_context() if account.imap_tls else None,
                            timeout=timeout)
    except (OSError, imaplib.IMAP4.error, IMAPClientError) as exc:
        raise MailHostUnavailable(f"cannot reach the IMAP server {where}: {exc}") from None
    try:
        if account.oauth:
            try:
                client.oauth2_login(account.username, account.password)
            except imaplib.IMAP4.error as exc:  # AUTHENTICATE's NO is no LoginError
                raise LoginError(str(exc)) from exc
        else:
            client.login(account.username, account.password)
        client.select_folder("INBOX", readonly=True)
        return bool(client.has_capability("IDLE"))
    except LoginError:
        raise MailHostError(f"the IMAP server {where} refused the login for "
                            f"{account.username}", hint=_LOGIN_HINT[account.oauth]) from None
    except (OSError, imaplib.IMAP4.error, IMAPClientError) as exc:
        raise MailHostError(f"the IMAP server {where} failed: {exc}") from None
    finally:
        with contextlib.suppress(Exception):  # closing a dead connection: nothing to report
            client.logout()


# -- routing ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RouteDecision:
    agent: str
    reason: str  # "sub-address" | "in-reply-to" | "references" | "default"


def _mailbox(address: str) -> tuple[str, str | None]:
    """(comparable base address, tag); Gmail's dots in the local part are ignored."""
    base, tag = split_plus(address)
    local, _, domain = base.lower().rpartition("@")
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}", tag


def route_message(raw: bytes | Message, account_address: str, agents: Iterable[str],
                  sent_lookup: Callable[[list[str]], str | None],
                  default_agent: str | None = None, default_scope: str = "tagged"
                  ) -> RouteDecision | None:
    """Which agent an inbound relay message is for, or None (the owner's own mail)."""
    message = raw if isinstance(raw, Message) else message_from_bytes(raw, policy=policy.compat32)
    known = {a.lower(): a for a in agents}
    mine = _mailbox(account_address)[0]
    unknown_tag = False
    for address in header_addresses(message, ROUTING_HEADERS):
        try:
            base, tag = _mailbox(address)
        except InvalidRequest:
            continue
        if base != mine or tag is None:
            continue
        if tag.lower() in known:
            return RouteDecision(known[tag.lower()], "sub-address")
        unknown_tag = True
    for header, reason in (("In-Reply-To", "in-reply-to"), ("References", "references")):
        ids = list(parse_message_ids(str(message.get(header) or "")))
        if reason == "references":
            ids.reverse()  # the parent is last
        found = sent_lookup(ids) if ids else None
        if found is not None and found.lower() in known:
            return RouteDecision(known[found.lower()], reason)
    if default_agent and default_agent.lower() in known and (
            unknown_tag or default_scope == "all"):
        return RouteDecision(known[default_agent.lower()], "default")
    return None


def relayed_copy(raw: bytes, *, account: str, uid: int, route: RouteDecision,
                 local_domains: Iterable[str],
                 trusted_authserv_ids: Iterable[str] = (),
                 foreign_authserv_ids: Iterable[str] = (),
                 seal: Callable[[str], str] | None = None) -> bytes:
    """The message as delivered to the agent (:func:`.outside_copy.outside_copy`): our trace
    headers prepended, the rest byte-identical (original From, DKIM signatures and the
    provider's own Authentication-Results intact).

    A From on one of our own domains is replaced by the relay address so the inbound
    pipeline treats the message as external (and scores it). ``Authentication-Results``
    headers claiming the provider's id (``trusted_authserv_ids``) count only as the
    message's topmost header, which the provider's MX prepends; one claiming any of
    ``foreign_authserv_ids`` (the local mail host's, which relayed mail never passed) is
    always forged. ``seal`` (a MAC of :func:`seal_input`) marks the copy as the relay's.
    """
    return outside_copy(raw, [f"X-Agenticmail-Relay: {account}; uid={uid}; "
                              f"route={route.reason}"],
                        local_domains=local_domains, replacement_from=f"relay <{account}>",
                        provider_ids=trusted_authserv_ids, foreign_ids=foreign_authserv_ids,
                        seal=seal)
