"""The relay account's OAuth2 grant: kept encrypted, its access token renewed before it
expires, and a revoked or expired grant turned into a stop that the owner is told about,
never a silent retry loop.

The grant lives under the config key ``relay.oauth`` (JSON): the owner's app registration
(provider, client id, endpoints) with the client secret, the refresh token and the current
access token encrypted by the daemon's key (as the relay's app password is). Whoever needs
to log in (the relay worker's IMAP, the sender's SMTP, setup's and doctor's checks) calls
:func:`access_token`: the stored token until ``relay_oauth_refresh_margin_seconds`` before
it expires (half its lifetime for a token that lives less than twice that), else a new one
from the provider (one refresh at a time, the rotated refresh token saved in the same
write). When the provider answers ``invalid_grant`` the grant is marked as needing a new
sign-in: the relay's status and ``doctor`` say so, a ``relay.signin_required`` event tells
the owner (SSE, webhooks), and every later call fails at once with :class:`SignInRequired`
without asking the provider again, until ``relay setup --oauth`` saves a new grant.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequest, SignInRequired
from ..event_types import RELAY_SIGNIN_REQUIRED
from ..providers import oauth
from ..store import kv
from ..store import relay_state as state_store
from ..store._time import now_iso
from .context import ServiceContext, transaction

if TYPE_CHECKING:
    import sqlite3

log = logging.getLogger(__name__)

OAUTH_KEY = "relay.oauth"
PROVIDER_KIND = {"gmail": "google", "outlook": "microsoft"}
_refreshing = threading.Lock()  # one refresh at a time (relay worker, sender, doctor)

OAuthApp = oauth.OAuthApp
TokenSet = oauth.TokenSet


@dataclass(frozen=True)
class OAuthInput:
    """What ``PUT /v1/relay`` carries for an OAuth2 account (the CLI ran the sign-in)."""

    client_id: str
    refresh_token: str
    client_secret: str | None = None
    authority: str | None = None
    auth_url: str | None = None
    token_url: str | None = None

    def app(self, provider: str, ca_file: str | None) -> OAuthApp:
        app = OAuthApp(kind=PROVIDER_KIND.get(provider, ""), client_id=self.client_id,
                       client_secret=self.client_secret, authority=self.authority,
                       auth_url=self.auth_url, token_url=self.token_url, ca_file=ca_file)
        app.validate()
        return app


def sign_in(provider: str, app: OAuthApp, show: Callable[[str], None], *,
            login_hint: str | None = None, open_browser: bool = True) -> TokenSet:
    """The interactive sign-in, run where the owner is (the CLI): Microsoft's device code or
    Google's loopback redirect. ``provider`` is the relay preset (gmail, outlook)."""
    if PROVIDER_KIND.get(provider) != app.kind:
        raise InvalidRequest("OAuth2 sign-in is for the gmail and outlook presets")
    return oauth.sign_in(app, show, login_hint=login_hint, open_browser=open_browser)


def first_tokens(app: OAuthApp, refresh_token: str) -> TokenSet:
    """Setup's first use of a grant: proves the refresh token works and gets an access token."""
    return oauth.refresh(app, refresh_token)


def _stored(ctx: ServiceContext, app: OAuthApp, tokens: TokenSet) -> dict[str, Any]:
    box = ctx.secrets
    return {"kind": app.kind, "client_id": app.client_id,
            "client_secret_enc": box.encrypt(app.client_secret) if app.client_secret else None,
            "authority": app.authority, "auth_url": app.auth_url, "token_url": app.token_url,
            "ca_file": app.ca_file,
            "refresh_token_enc": box.encrypt(tokens.refresh_token),
            "access_token_enc": box.encrypt(tokens.access_token),
            "expires_at": tokens.expires_at, "issued_at": time.time(), "signin_required": None}


def save(ctx: ServiceContext, conn: sqlite3.Connection, app: OAuthApp, tokens: TokenSet
         ) -> None:
    """Store a (new) grant, in the caller's transaction."""
    kv.put(conn, OAUTH_KEY, json.dumps(_stored(ctx, app, tokens)))


def clear(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM config WHERE key = ?", (OAUTH_KEY,))


def _load(ctx: ServiceContext) -> dict[str, Any] | None:
    raw = kv.get(ctx.db, OAUTH_KEY)
    return None if raw is None else dict(json.loads(raw))


def _app(ctx: ServiceContext, data: dict[str, Any]) -> OAuthApp:
    secret = data.get("client_secret_enc")
    return OAuthApp(kind=data["kind"], client_id=data["client_id"],
                    client_secret=ctx.secrets.decrypt(secret) if secret else None,
                    authority=data.get("authority"), auth_url=data.get("auth_url"),
                    token_url=data.get("token_url"), ca_file=data.get("ca_file"))


def _signin_error(data: dict[str, Any]) -> SignInRequired:
    return SignInRequired(str(data["signin_required"]), hint=oauth.SIGN_IN_AGAIN)


def renew_at(expires_at: float, issued_at: float, margin: float) -> float:
    """When an access token is due for renewal (Unix time): ``margin`` before its expiry, or
    half its lifetime for a token shorter-lived than twice the margin (never a renewal per
    use). ``issued_at`` 0: unknown."""
    if 0 < issued_at < expires_at:
        margin = min(margin, (expires_at - issued_at) / 2)
    return expires_at - margin


def _renew_at(ctx: ServiceContext, data: dict[str, Any]) -> float:
    return renew_at(float(data["expires_at"]), float(data.get("issued_at") or 0),
                    float(ctx.settings.relay_oauth_refresh_margin_seconds))


def access_token(ctx: ServiceContext, address: str = "") -> tuple[str, float]:
    """A usable access token and when it is due for renewal (Unix time).
    :class:`SignInRequired` when the grant is gone (no provider round trip once that is
    known)."""
    with _refreshing:
        data = _load(ctx)
        if data is None:
            raise SignInRequired("the relay has no OAuth2 sign-in stored",
                                 hint=oauth.SIGN_IN_AGAIN)
        if data.get("signin_required"):
            raise _signin_error(data)
        if time.time() < _renew_at(ctx, data):
            return ctx.secrets.decrypt(data["access_token_enc"]), _renew_at(ctx, data)
        app = _app(ctx, data)
        try:
            tokens = oauth.refresh(app, ctx.secrets.decrypt(data["refresh_token_enc"]))
        except SignInRequired as exc:
            _grant_lost(ctx, data, address, exc)
            raise
        stored = _stored(ctx, app, tokens)
        with ctx.db.write() as conn:  # the rotated refresh token must not be lost
            kv.put(conn, OAUTH_KEY, json.dumps(stored))
        log.info("relay: OAuth2 access token renewed (valid for %.0f s)",
                 tokens.expires_at - time.time())
        return tokens.access_token, _renew_at(ctx, stored)


def forget_access_token(ctx: ServiceContext) -> None:
    """A login failed: the next :func:`access_token` asks the provider again (a token revoked
    before it expired is refused; renewing it shows whether the grant itself is gone)."""
    with _refreshing:
        data = _load(ctx)
        if data is None or data.get("signin_required") or not float(data["expires_at"]):
            return
        data["expires_at"] = 0.0
        with ctx.db.write() as conn:
            kv.put(conn, OAUTH_KEY, json.dumps(data))


def _grant_lost(ctx: ServiceContext, data: dict[str, Any], address: str,
                exc: SignInRequired) -> None:
    """Remember that the grant is gone, stop the relay and tell the owner (once)."""
    why = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
    data["signin_required"] = exc.message
    log.warning("relay %s: %s", address or "account", why)
    with transaction(ctx) as tx:
        kv.put(tx.conn, OAUTH_KEY, json.dumps(data))
        state_store.update_state(tx.conn, mode="signin_required", connected=0,
                                 last_error=why, last_error_at=now_iso(), next_retry_at=None)
        tx.emit(RELAY_SIGNIN_REQUIRED, None, {"address": address, "reason": exc.message})


def summary(ctx: ServiceContext) -> dict[str, Any] | None:
    """What ``relay status`` shows of the grant (never a token)."""
    data = _load(ctx)
    if data is None:
        return None
    return {"provider": data["kind"], "client_id": data["client_id"],
            "access_token_expires_at": datetime.fromtimestamp(
                float(data["expires_at"]), UTC).isoformat(timespec="seconds"),
            "signin_required": data.get("signin_required")}
