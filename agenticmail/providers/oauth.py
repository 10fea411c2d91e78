"""OAuth2 sign-in for the relay account: the adapter to Microsoft's identity platform (msal,
device-code flow) and to Google's OAuth2 endpoints (httpx, the installed-app loopback flow
with PKCE).

It owns the protocol only: running a sign-in, refreshing an access token, the
:class:`TokenSet` and its expiry. Where tokens are kept is the caller's business. Every
failure is converted here: a grant the provider no longer honours (``invalid_grant``: the
refresh token was revoked or expired) is :class:`SignInRequired`, an endpoint that cannot be
reached is :class:`MailHostUnavailable`, any other OAuth2 error is :class:`MailHostError` in
the provider's own words.

Endpoints are configurable (``authority`` for Microsoft, ``auth_url``/``token_url`` for
Google) so that a self-hosted identity provider, or a test's fake, can stand in.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import secrets
import ssl
import threading
import time
import urllib.parse
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import msal
import requests

from ..errors import (
    AgenticMailError,
    InvalidRequest,
    MailHostError,
    MailHostUnavailable,
    SignInRequired,
)

KINDS = ("microsoft", "google")
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com/common"  # personal and work accounts
MICROSOFT_SCOPES = ("https://outlook.office.com/IMAP.AccessAsUser.All",
                    "https://outlook.office.com/SMTP.Send")
GOOGLE_AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_SCOPES = ("https://mail.google.com/",)
HTTP_TIMEOUT = 30.0
SIGNIN_TIMEOUT = 600.0  # how long a sign-in waits for the owner
SIGN_IN_AGAIN = "sign in again: agenticmail relay setup --oauth (see docs/relay.md)"


@dataclass(frozen=True)
class OAuthApp:
    """The owner's own OAuth2 client (app registration) and where its provider lives."""

    kind: str  # "microsoft" | "google"
    client_id: str
    client_secret: str | None = field(default=None, repr=False)  # Google installed apps
    authority: str | None = None  # Microsoft: https://login.microsoftonline.com/<tenant>
    auth_url: str | None = None  # Google's authorization endpoint
    token_url: str | None = None  # Google's token endpoint
    ca_file: str | None = None  # an extra CA to trust (self-hosted provider, tests)

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise InvalidRequest(f"OAuth2 provider must be one of {', '.join(KINDS)}")
        if not self.client_id:
            raise InvalidRequest("OAuth2 needs the client id of your own app registration")
        for url in (self.authority, self.auth_url, self.token_url):
            if url is not None and urllib.parse.urlsplit(url).scheme != "https":
                raise InvalidRequest(f"an OAuth2 endpoint must be https: {url}")

    @property
    def scopes(self) -> tuple[str, ...]:
        return MICROSOFT_SCOPES if self.kind == "microsoft" else GOOGLE_SCOPES


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float  # Unix time


def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(ca_file)
    return context


def _error(data: Mapping[str, Any], what: str) -> AgenticMailError:
    code = str(data.get("error") or "unknown_error")
    words = " ".join(str(data.get("error_description") or code).split())[:300]
    if code == "invalid_grant":
        return SignInRequired(f"the provider no longer accepts the relay's sign-in: the "
                              f"grant was revoked or has expired ({words})", hint=SIGN_IN_AGAIN)
    if code in ("expired_token", "authorization_declined", "access_denied"):
        return MailHostError(f"the sign-in was not completed ({code}): {words}",
                             hint="run the sign-in again and allow access")
    return MailHostError(f"{what} failed: {code}: {words}")


def _tokens(data: Mapping[str, Any], what: str, refresh_token: str | None = None) -> TokenSet:
    """A token endpoint's answer as a TokenSet (the old refresh token kept when the provider
    does not rotate it)."""
    if "access_token" not in data:
        raise _error(data, what)
    refresh = str(data.get("refresh_token") or refresh_token or "")
    if not refresh:
        raise MailHostError(f"{what}: the provider sent no refresh token",
                            hint="the app registration must allow offline access")
    return TokenSet(str(data["access_token"]), refresh,
                    time.time() + float(data.get("expires_in") or 3600))


# -- Microsoft (msal) ----------------------------------------------------------------------------

class _Session(requests.Session):
    """msal's transport, trusting ``ca_file`` even where REQUESTS_CA_BUNDLE is set (requests
    lets that variable override a session's own ``verify``)."""

    def __init__(self, ca_file: str | None) -> None:
        super().__init__()
        self.verify = ca_file or True

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        settings = dict(super().merge_environment_settings(url, proxies, stream, verify, cert))
        if verify is None and self.verify is not True:
            settings["verify"] = self.verify
        return settings


def _msal(app: OAuthApp) -> msal.PublicClientApplication:
    try:
        return msal.PublicClientApplication(
            app.client_id, authority=app.authority or MICROSOFT_AUTHORITY,
            http_client=_Session(app.ca_file), timeout=HTTP_TIMEOUT,
            instance_discovery=None if app.authority is None else False)
    except ValueError as exc:  # the authority's discovery document was refused
        raise MailHostError(f"the Microsoft authority was refused: {exc}") from None
    except requests.RequestException as exc:
        raise MailHostUnavailable(f"cannot reach the Microsoft authority: {exc}") from None


def _microsoft(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return call()
    except requests.RequestException as exc:
        raise MailHostUnavailable(f"cannot reach Microsoft's token endpoint: {exc}") from None
    except ValueError as exc:  # a reply that is no JSON
        raise MailHostError(f"Microsoft's token endpoint answered nonsense: {exc}") from None


def microsoft_device_flow(app: OAuthApp, show: Callable[[str], None],
                          timeout: float = SIGNIN_TIMEOUT) -> TokenSet:
    """The device-code flow: ``show`` gets the line telling the owner where to enter which
    code; returns once they have signed in (or raises)."""
    client = _msal(app)
    flow = _microsoft(lambda: client.initiate_device_flow(scopes=list(app.scopes)))
    if "user_code" not in flow:
        raise _error(flow, "starting the Microsoft sign-in")
    show(str(flow.get("message") or f"Open {flow.get('verification_uri')} and enter the code "
                                       f"{flow['user_code']}"))
    flow["expires_at"] = min(float(flow.get("expires_at") or 0) or time.time() + timeout,
                             time.time() + timeout)
    result = _microsoft(lambda: client.acquire_token_by_device_flow(flow))
    return _tokens(result, "the Microsoft sign-in")


# -- Google (httpx, loopback redirect + PKCE) ----------------------------------------------------

def _post_token(app: OAuthApp, form: dict[str, str], what: str) -> dict[str, Any]:
    url = app.token_url or GOOGLE_TOKEN_URL
    if app.client_secret:
        form["client_secret"] = app.client_secret
    try:
        with httpx.Client(verify=_ssl_context(app.ca_file), timeout=HTTP_TIMEOUT) as client:
            reply = client.post(url, data={"client_id": app.client_id, **form},
                                headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise MailHostUnavailable(f"cannot reach the token endpoint {url}: {exc}") from None
    try:
        data = reply.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise MailHostError(f"{what}: {url} answered HTTP {reply.status_code} without JSON")
    return data


class _Redirect(http.server.BaseHTTPRequestHandler):
    """Receives the browser's redirect: keeps its query, shows a short page."""

    server: _LoopbackServer

    def do_GET(self) -> None:  # the http.server API
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        if "code" not in query and "error" not in query:
            self.send_error(404)
            return
        body = (b"<!doctype html><title>agenticmail</title><p>Done: you can close this window "
                b"and go back to the terminal.</p>")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.answer(query)

    def log_message(self, format: str, *args: Any) -> None:  # the code is a secret: no log
        return


class _LoopbackServer(http.server.HTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Redirect)
        self.query: dict[str, str] | None = None
        self.done = threading.Event()

    def answer(self, query: dict[str, str]) -> None:
        if self.query is None:
            self.query = query
        self.done.set()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def google_loopback_flow(app: OAuthApp, show: Callable[[str], None], *,
                         login_hint: str | None = None, open_browser: bool = True,
                         timeout: float = SIGNIN_TIMEOUT) -> TokenSet:
    """The installed-app flow: a listener on 127.0.0.1 (a free port) receives the browser's
    redirect with the authorization code, which is exchanged (with the PKCE verifier) for
    tokens. ``show`` gets the URL to open; ``open_browser`` also opens it."""
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(16)
    server = _LoopbackServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="oauth-loopback", daemon=True)
    thread.start()
    redirect_uri = f"http://127.0.0.1:{server.port}/"
    try:
        params = {"client_id": app.client_id, "redirect_uri": redirect_uri,
                  "response_type": "code", "scope": " ".join(app.scopes),
                  "code_challenge": challenge, "code_challenge_method": "S256",
                  "state": state, "access_type": "offline", "prompt": "consent"}
        if login_hint:
            params["login_hint"] = login_hint
        url = f"{app.auth_url or GOOGLE_AUTH_URL}?{urllib.parse.urlencode(params)}"
        show(f"Open this page in your browser and allow access:\n{url}")
        if open_browser:
            webbrowser.open(url)
        if not server.done.wait(timeout):
            raise MailHostError("the sign-in was not completed in time",
                                hint="run the sign-in again and allow access")
        query = server.query or {}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    if not secrets.compare_digest(query.get("state", ""), state):
        raise MailHostError("the sign-in redirect did not carry this sign-in's state: ignored")
    if "error" in query:
        raise _error(query, "the Google sign-in")
    data = _post_token(app, {"grant_type": "authorization_code", "code": query["code"],
                             "redirect_uri": redirect_uri, "code_verifier": verifier},
                       "the Google sign-in")
    return _tokens(data, "the Google sign-in")


# -- both -------------------------------------------------------------------------------------

def sign_in(app: OAuthApp, show: Callable[[str], None], *, login_hint: str | None = None,
            open_browser: bool = True, timeout: float = SIGNIN_TIMEOUT) -> TokenSet:
    """Run the provider's interactive sign-in (device code or loopback redirect)."""
    app.validate()
    if app.kind == "microsoft":
        return microsoft_device_flow(app, show, timeout)
    return google_loopback_flow(app, show, login_hint=login_hint, open_browser=open_browser,
                                timeout=timeout)


def refresh(app: OAuthApp, refresh_token: str) -> TokenSet:
    """A new access token from the refresh token (the new refresh token, where the provider
    rotates it). :class:`SignInRequired` when the grant was revoked or has expired."""
    if app.kind == "microsoft":
        client = _msal(app)
        result = _microsoft(lambda: client.acquire_token_by_refresh_token(
            refresh_token, scopes=list(app.scopes)))
        return _tokens(result, "renewing the Microsoft access token", refresh_token)
    data = _post_token(app, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                       "renewing the Google access token")
    return _tokens(data, "renewing the Google access token", refresh_token)
