"""Relay mode: a person's own mail account (Gmail, Outlook, any SMTP+IMAP) as the gateway.

``setup`` tests both logins before saving anything; the account is stored in the database
with its password encrypted, and its SMTP half becomes the outbound route (agents then send
as ``owner+agent@domain``). ``handle`` is what the relay worker calls for each new message in
the account's INBOX: the daemon's own mail to the owner (approval notifications,
confirmations) and every reply to it is recognised by the Message-IDs the daemon recorded,
goes to the approval function and never to an agent, whatever the routing settings; other
mail is routed to an agent and delivered into its mailbox (deduplicated by (Message-ID,
agent)) with ``Authentication-Results`` headers claiming the provider's id stripped unless
the provider wrote them; the owner's own mail is left alone. The checkpoint advances only
once a message has been handled, so a failed delivery is retried.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from email import message_from_bytes, policy
from email.utils import parseaddr
from typing import Any

from ..errors import InvalidRequest, PermanentDeliveryError
from ..event_types import RELAY_CONFIGURED, RELAY_DELIVERED, RELAY_DISABLED
from ..gateway import relay_account as gw
from ..mail.addresses import is_valid_address, validate_address
from ..mail.idle import FolderWatch
from ..security.mime_view import InboundMessage
from ..security.trace_headers import Connection
from ..security.trace_headers import provider_connection as _recorded_connection
from ..store import agents as agent_store
from ..store import kv
from ..store import outbox as outbound_store
from ..store import relay_state as store
from ..store._time import now_iso
from . import approvals, gateway_delivery, relay_oauth, routes
from .context import ServiceContext, transaction

log = logging.getLogger(__name__)

RELAY_KEY = "relay.account"
RELAY_SEAL = "relay-seal"  # MAC purpose: the provider's A-R on a copy the relay delivered
PROVIDERS = ("gmail", "outlook", "other")
PRESETS = gw.PRESETS
FIRST_RUN_NEWEST = gw.FIRST_RUN_NEWEST  # a first run (or a new UIDVALIDITY) reads these
RelayAccount = gw.RelayAccount
OAuthInput = relay_oauth.OAuthInput


@dataclass(frozen=True)
class RelayInput:
    provider: str
    address: str
    password: str = ""  # the app password; empty with ``oauth``
    username: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_tls: str | None = None
    imap_host: str | None = None
    imap_port: int | None = None
    imap_tls: bool = True
    ca_file: str | None = None
    default_agent: str | None = None
    default_scope: str = "tagged"
    authserv_ids: tuple[str, ...] | None = None
    oauth: OAuthInput | None = None  # sign in with OAuth2 (gmail, outlook) instead


def presets() -> dict[str, dict[str, Any]]:
    return {name: asdict(p) for name, p in gw.PRESETS.items()}


def build_account(data: RelayInput) -> gw.RelayAccount:
    if data.provider not in PROVIDERS:
        raise InvalidRequest(f"provider must be one of {', '.join(PROVIDERS)}")
    if data.oauth is not None and data.provider not in relay_oauth.PROVIDER_KIND:
        raise InvalidRequest("OAuth2 sign-in is for the gmail and outlook providers")
    if not data.password and data.oauth is None:
        raise InvalidRequest("the relay account needs its (app) password or an OAuth2 grant")
    address = validate_address(data.address)
    fields = gw.apply_preset(
        data.provider, smtp_host=data.smtp_host, smtp_port=data.smtp_port,
        smtp_tls=data.smtp_tls, imap_host=data.imap_host, imap_port=data.imap_port,
        authserv_ids=tuple(data.authserv_ids) if data.authserv_ids is not None else None)
    if data.provider == "other" and not (fields.get("smtp_host") and fields.get("imap_host")):
        raise InvalidRequest("provider 'other' needs smtp_host and imap_host")
    password = "".join(data.password.split()) if data.provider == "gmail" else data.password
    account = gw.RelayAccount(
        provider=data.provider, address=address, username=data.username or address,
        password=password, smtp_host=fields["smtp_host"],
        smtp_port=int(fields.get("smtp_port") or 465),
        smtp_tls=fields.get("smtp_tls") or "implicit", imap_host=fields["imap_host"],
        imap_port=int(fields.get("imap_port") or 993), imap_tls=data.imap_tls,
        ca_file=data.ca_file, default_agent=data.default_agent,
        default_scope=data.default_scope,
        authserv_ids=tuple(a.strip().lower() for a in fields.get("authserv_ids") or ()
                           if a.strip()),
        oauth=data.oauth is not None)
    account.validate()
    return account


def setup(ctx: ServiceContext, data: RelayInput) -> dict[str, Any]:
    """Test both logins, then save the account (password encrypted) and make its SMTP the
    outbound route. Nothing is saved when a login fails."""
    account = build_account(data)
    if account.default_agent and agent_store.find_agent(ctx.db, account.default_agent) is None:
        raise InvalidRequest(f"default agent {account.default_agent!r} does not exist")
    grant = None
    if data.oauth is not None:  # an access token now: proves the grant, and logs in below
        app = data.oauth.app(account.provider, account.ca_file)
        grant = (app, relay_oauth.first_tokens(app, data.oauth.refresh_token))
        account = replace(account, password=grant[1].access_token)
    gw.check_smtp_login(account)
    idle = gw.check_imap_login(account)
    stored = {k: v for k, v in asdict(account).items() if k != "password"}
    stored["authserv_ids"] = list(account.authserv_ids)
    if not account.oauth:
        stored["password_enc"] = ctx.secrets.encrypt(account.password)
    with transaction(ctx) as tx:  # the grant first: the route below signs in with it
        if grant is not None:
            relay_oauth.save(ctx, tx.conn, *grant)
        else:
            relay_oauth.clear(tx.conn)
    routes.set_route(ctx, routes.RouteInput(
        host=account.smtp_host, port=account.smtp_port, tls=account.smtp_tls,
        address=account.address, username=account.username,
        password=None if account.oauth else account.password, ca_file=account.ca_file,
        oauth=account.oauth))
    with transaction(ctx) as tx:
        kv.put(tx.conn, RELAY_KEY, json.dumps(stored))
        store.update_state(tx.conn, mode="starting", connected=0, failures=0,
                           next_retry_at=None)
        tx.emit(RELAY_CONFIGURED, None, {"address": account.address,
                                         "provider": account.provider, "idle": idle})
    log.info("relay account %s (%s) saved", account.address, account.provider)
    return {**summary(account), "idle": idle}


def disable(ctx: ServiceContext) -> None:
    account = get_account(ctx)
    with transaction(ctx) as tx:
        tx.conn.execute("DELETE FROM config WHERE key = ?", (RELAY_KEY,))
        relay_oauth.clear(tx.conn)
        store.update_state(tx.conn, mode="off", connected=0, failures=0, next_retry_at=None)
        tx.emit(RELAY_DISABLED, None, {})
    route = routes.get_route(ctx)
    if account is not None and route is not None and route.host == account.smtp_host \
            and route.address == account.address:
        routes.clear_route(ctx)


def get_account(ctx: ServiceContext) -> gw.RelayAccount | None:
    raw = kv.get(ctx.db, RELAY_KEY)
    if raw is None:
        return None
    data = json.loads(raw)
    encrypted = data.pop("password_enc", None)  # none with OAuth2: see signed_in()
    password = ctx.secrets.decrypt(encrypted) if encrypted else ""
    data["authserv_ids"] = tuple(data.get("authserv_ids") or ())
    return gw.RelayAccount(password=password, **data)


def summary(account: gw.RelayAccount) -> dict[str, Any]:
    return {"provider": account.provider, "address": account.address,
            "username": account.username,
            "smtp": {"host": account.smtp_host, "port": account.smtp_port,
                     "tls": account.smtp_tls},
            "imap": {"host": account.imap_host, "port": account.imap_port,
                     "tls": account.imap_tls},
            "default_agent": default_agent(None, account),
            "default_scope": account.default_scope,
            "trusted_authserv_ids": list(account.authserv_ids),
            "reply_approval": reply_approval(account),
            "auth": "oauth2" if account.oauth else "basic"}


def reply_approval(account: gw.RelayAccount) -> str:
    """How an owner's emailed answer to a notification is authenticated, in plain words."""
    if account.authserv_ids:
        return ("the provider's own Authentication-Results header (topmost, from "
                f"{', '.join(account.authserv_ids)}) must show DKIM or DMARC passing for the "
                "owner's domain")
    return ("agenticmail verifies the reply's DKIM signature itself (DNS): it must be valid "
            "and aligned with the owner's domain; Authentication-Results headers are ignored")


def default_agent(ctx: ServiceContext | None, account: gw.RelayAccount) -> str | None:
    if account.default_agent:
        return account.default_agent
    return ctx.settings.relay_default_agent if ctx is not None else None


def status(ctx: ServiceContext) -> dict[str, Any]:
    account = get_account(ctx)
    state = store.state(ctx.db)
    data: dict[str, Any] = {"configured": account is not None,
                            **state.to_dict(),
                            "sent": store.sent_count(ctx.db),
                            "poll_seconds": ctx.settings.relay_poll_seconds}
    if account is None:
        data["mode"] = "off"
    else:
        data["account"] = summary(account)
        data["account"]["default_agent"] = default_agent(ctx, account)
        checkpoint = store.checkpoint(ctx.db, account.address)
        data["checkpoint"] = ({"uidvalidity": checkpoint[0], "last_uid": checkpoint[1]}
                              if checkpoint else None)
        if account.oauth:
            data["oauth"] = relay_oauth.summary(ctx)
    data["healthy"] = account is not None and state.failures == 0 and state.connected
    return data


def sealed_by_relay(ctx: ServiceContext, message: InboundMessage) -> bool:
    """Whether ``message`` is a copy this daemon's relay delivered, unchanged in what the seal
    binds (its topmost Authentication-Results, Message-ID, From, body)."""
    return gateway_delivery.sealed(ctx, message, RELAY_SEAL)


def provider_connection(ctx: ServiceContext, message: InboundMessage) -> Connection | None:
    """The SMTP connection the relay provider received ``message`` on (client IP, HELO,
    MAIL FROM), as the provider recorded it in its own headers, for SPF: only on a copy this
    relay delivered (its seal), only from the headers between our seal and the provider's own
    topmost ``Authentication-Results`` (:func:`.trace_headers.provider_connection`), and only
    for a provider with authserv-ids (the boundary). None otherwise."""
    account = get_account(ctx)
    if account is None or not account.authserv_ids or not sealed_by_relay(ctx, message):
        return None
    names = [str(k).strip().lower() for k, _ in message.message.raw_items()]
    start = names.index(gw.SEAL_HEADER.lower()) + 1  # the seal is there: sealed_by_relay
    return _recorded_connection(message, provider_ids=frozenset(account.authserv_ids),
                                start=start)


def trusted_ids(ctx: ServiceContext, account: gw.RelayAccount) -> frozenset[str] | None:
    """The relay provider's own authserv-ids (the only ones that can stamp mail fetched from
    its mailbox), or None when it has none: then the daemon verifies DKIM itself."""
    ids = {i.strip().lower() for i in account.authserv_ids if i.strip()}
    return frozenset(ids) if ids else None


# -- the worker's per-message step --------------------------------------------------------------

def signed_in(ctx: ServiceContext, account: gw.RelayAccount
              ) -> tuple[gw.RelayAccount, float | None]:
    """``account`` ready to log in, and when its OAuth2 access token should be renewed (Unix
    time; None with an app password). :class:`SignInRequired` when the grant is gone."""
    if not account.oauth:
        return account, None
    token, renew_at = relay_oauth.access_token(ctx, account.address)
    return replace(account, password=token), renew_at


def login_failed(ctx: ServiceContext, account: gw.RelayAccount) -> None:
    """The relay's connection failed: with OAuth2 its next login gets a new access token."""
    if account.oauth:
        relay_oauth.forget_access_token(ctx)


def open_watch(ctx: ServiceContext, account: gw.RelayAccount) -> FolderWatch:
    """A watch on the relay account's INBOX (not connected yet), renewing IDLE at least as
    often as the poll interval."""
    settings = ctx.settings
    return FolderWatch(account.endpoints(), account.credentials(), "INBOX",
                       renew_seconds=min(settings.idle_renew_seconds,
                                         max(settings.relay_poll_seconds, 1)),
                       ssl_context=account.ssl_context() if account.imap_tls else None)


def checkpoint(ctx: ServiceContext, account: gw.RelayAccount) -> tuple[int, int] | None:
    """(UIDVALIDITY, last UID handled) in the relay account's INBOX, or None at first."""
    return store.checkpoint(ctx.db, account.address)


def retry_delay(ctx: ServiceContext, failures: int) -> float:
    return gw.backoff_delay(failures, ctx.settings.relay_backoff_seconds)


def explain(exc: BaseException, account: gw.RelayAccount) -> str:
    """A failure in plain words, with what to check for this provider."""
    return gw.explain(exc, account)


def note(ctx: ServiceContext, **fields: Any) -> None:
    """Record worker status (mode, connected, last error...)."""
    with ctx.db.write() as conn:
        store.update_state(conn, **fields)


def advance(ctx: ServiceContext, account: gw.RelayAccount, uidvalidity: int, uid: int,
            counter: str | None = None) -> None:
    with ctx.db.write() as conn:
        store.save_checkpoint(conn, account.address, uidvalidity, uid)
        if counter:
            store.bump(conn, counter)


def _envelope_sender(raw: bytes) -> str:
    head = message_from_bytes(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n",
                              policy=policy.compat32)
    for name in ("Return-Path", "From"):
        address = parseaddr(str(head.get(name) or ""))[1]
        if address and is_valid_address(address):
            return validate_address(address)
    return ""


def handle(ctx: ServiceContext, account: gw.RelayAccount, uidvalidity: int, uid: int,
           raw: bytes) -> str:
    """Handle one new relay message; the checkpoint moves past it unless this raises.

    Returns ``approval`` (an owner's reply to a notification: decided, never delivered),
    ``delivered``, ``duplicate``, ``skipped`` (the owner's own mail, left alone) or ``failed``
    (refused permanently by the agent's mailbox). A transient delivery failure raises
    (TransientDeliveryError / MailHostUnavailable) so the worker retries the same UID later.
    """
    if approvals.is_owner_mail(ctx, raw):  # never an agent's, whatever the routing says
        decision = approvals.handle_owner_reply(ctx, raw, trusted_ids(ctx, account))
        if decision is None:
            log.info("relay uid %d is the daemon's own mail to the owner (or a reply to a "
                     "confirmation): left alone", uid)
            advance(ctx, account, uidvalidity, uid, "skipped")
            return "skipped"
        log.info("relay uid %d is a reply to an approval notification: %s (%s)", uid,
                 decision.action or "ignored", decision.reason)
        advance(ctx, account, uidvalidity, uid, "approvals")
        return "approval"
    names = [a.name for a in agent_store.list_agents(ctx.db)]
    decided = gw.route_message(
        raw, account.address, names,
        lambda ids: outbound_store.agent_for_message_ids(ctx.db, ids),
        default_agent(ctx, account), account.default_scope)
    if decided is None:
        advance(ctx, account, uidvalidity, uid, "skipped")
        return "skipped"
    key = gw.message_key(raw)
    if store.already_delivered(ctx.db, key, decided.agent):
        advance(ctx, account, uidvalidity, uid)
        return "duplicate"
    agent = agent_store.find_agent(ctx.db, decided.agent)
    if agent is None:  # deleted meanwhile
        advance(ctx, account, uidvalidity, uid, "skipped")
        return "skipped"
    copy = gw.relayed_copy(
        raw, account=account.address, uid=uid, route=decided,
        local_domains=[ctx.settings.domain],
        trusted_authserv_ids=trusted_ids(ctx, account) or frozenset(),
        foreign_authserv_ids=(ctx.settings.trusted_authserv_ids or "").split(","),
        seal=lambda text: gateway_delivery.seal(ctx, RELAY_SEAL, text))
    try:
        gateway_delivery.deliver(ctx, agent, _envelope_sender(raw), copy)
    except PermanentDeliveryError as exc:
        log.warning("relay uid %d for %s refused by the mailbox, skipped: %s", uid,
                    agent.name, exc)
        with ctx.db.write() as conn:
            store.save_checkpoint(conn, account.address, uidvalidity, uid)
            store.bump(conn, "failed")
            store.update_state(conn, last_error=f"the mailbox of {agent.name} refused a "
                               f"relayed message: {exc}", last_error_at=now_iso())
        return "failed"
    with transaction(ctx) as tx:
        store.record_delivered(tx.conn, key, agent.name, uid, agent_id=agent.id)
        store.save_checkpoint(tx.conn, account.address, uidvalidity, uid)
        store.bump(tx.conn, "delivered")
        tx.emit(RELAY_DELIVERED, agent.name, {"agent": agent.name, "message_id": key,
                                              "route": decided.reason, "relay_uid": uid},
                agent_id=agent.id)
    return "delivered"
