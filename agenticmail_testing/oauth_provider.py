"""A stand-in OAuth2 identity provider for the relay tests: real HTTP servers speaking the
documented endpoints of Microsoft's identity platform and Google's OAuth2, plus the token
introspection (RFC 7662) a mail server uses to check a bearer token.

HTTPS (a trustme certificate; msal accepts only https authorities):

- ``GET  /tenant/v2.0/.well-known/openid-configuration``: OpenID discovery (msal);
- ``POST /tenant/oauth2/v2.0/devicecode``: a device code (RFC 8628); ``authorization_pending``
  until the test, playing the user, calls :meth:`FakeOAuth.approve` with the user code;
- ``POST /tenant/oauth2/v2.0/token`` and ``POST /token``: the ``device_code``,
  ``authorization_code`` (PKCE S256 checked) and ``refresh_token`` grants; errors as
  ``{"error": "invalid_grant", ...}`` with HTTP 400;
- ``GET  /authorize``: the consent page, which approves at once and redirects (302) to the
  loopback ``redirect_uri`` with the code and state, as the user's browser would follow.

Plain HTTP on its own port: ``POST /introspect`` (``token=...``) answers
``{"active": bool, "username": ...}`` for Dovecot's ``oauth2`` passdb (``introspection_mode =
post``). :meth:`check` is the same verdict for an SMTP server's XOAUTH2 authenticator.

Access tokens live ``lifetime`` seconds; :meth:`revoke` kills every token and refresh token
of the user (as revoking the app's access in the account settings does).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme

TENANT = "tenant"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class Grant:
    grant_type: str
    ok: bool
    error: str | None = None


@dataclass
class _State:
    username: str
    client_id: str
    client_secret: str | None
    lifetime: float
    access: dict[str, float] = field(default_factory=dict)  # token -> expires (Unix)
    refresh: set[str] = field(default_factory=set)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)  # device_code -> ...
    codes: dict[str, dict[str, str]] = field(default_factory=dict)  # auth code -> ...
    grants: list[Grant] = field(default_factory=list)
    introspected: list[tuple[str, bool]] = field(default_factory=list)


class FakeOAuth:
    def __init__(self, ca: trustme.CA, username: str, *, client_id: str = "test-client-id",
                 client_secret: str | None = "test-client-secret", lifetime: float = 3600
                 ) -> None:
        self.ca = ca
        self.state = _State(username, client_id, client_secret, lifetime)
        self.lock = threading.Lock()
        self.https = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.https.socket = context.wrap_socket(self.https.socket, server_side=True)
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True)
                         for s in (self.https, self.http)]

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeOAuth:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        for server in (self.https, self.http):
            server.shutdown()
            server.server_close()

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.https.server_address[1]}"

    @property
    def authority(self) -> str:
        return f"{self.base}/{TENANT}"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/introspect"

    # -- the user's side -------------------------------------------------------------------------
    def approve(self, user_code: str) -> bool:
        """The user enters ``user_code`` at the verification page and allows access."""
        with self.lock:
            for device in self.state.devices.values():
                if device["user_code"] == user_code:
                    device["approved"] = True
                    return True
        return False

    def revoke(self) -> None:
        """The user revokes the app's access: every token and refresh token dies."""
        with self.lock:
            self.state.access.clear()
            self.state.refresh.clear()

    def set_lifetime(self, seconds: float) -> None:
        with self.lock:
            self.state.lifetime = seconds

    # -- what servers and tests ask --------------------------------------------------------------
    def check(self, username: str, token: str) -> bool:
        """Whether ``token`` is a live access token of ``username`` (an XOAUTH2 check)."""
        active = self._active(token)
        return active and username.lower() == self.state.username.lower()

    def _active(self, token: str) -> bool:
        with self.lock:
            expires = self.state.access.get(token)
            active = expires is not None and expires > time.time()
            self.state.introspected.append((token, active))
            return active

    @property
    def grants(self) -> list[Grant]:
        with self.lock:
            return list(self.state.grants)

    @property
    def introspected(self) -> list[tuple[str, bool]]:
        with self.lock:
            return list(self.state.introspected)

    def refreshes(self, ok: bool | None = None) -> int:
        return sum(1 for g in self.grants
                   if g.grant_type == "refresh_token" and (ok is None or g.ok == ok))

    # -- the token endpoint ----------------------------------------------------------------------
    def _issue(self, rotate: bool) -> dict[str, Any]:
        access = "at-" + secrets.token_urlsafe(24)
        self.state.access[access] = time.time() + self.state.lifetime
        answer: dict[str, Any] = {"token_type": "Bearer", "access_token": access,
                                  "expires_in": int(self.state.lifetime),
                                  "scope": "https://mail.example/ offline_access"}
        if rotate:
            refresh = "rt-" + secrets.token_urlsafe(24)
            self.state.refresh.add(refresh)
            answer["refresh_token"] = refresh
        return answer

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        with self.lock:
            status, body = self._token(grant, form)
            self.state.grants.append(Grant(grant, status == 200, body.get("error")))
            return status, body

    def _token(self, grant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        state = self.state
        if form.get("client_id") != state.client_id:
            return 400, {"error": "invalid_client", "error_description": "unknown client"}
        if grant == DEVICE_GRANT:
            device = state.devices.get(form.get("device_code", ""))
            if device is None:
                return 400, {"error": "invalid_grant", "error_description": "bad device code"}
            if not device["approved"]:
                return 400, {"error": "authorization_pending",
                             "error_description": "the user has not signed in yet"}
            del state.devices[form["device_code"]]
            return 200, self._issue(rotate=True)
        if grant == "authorization_code":
            if state.client_secret and form.get("client_secret") != state.client_secret:
                return 401, {"error": "invalid_client", "error_description": "bad secret"}
            code = state.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(
                hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if code is None or code["redirect_uri"] != form.get("redirect_uri") \
                    or code["challenge"] != challenge:
                return 400, {"error": "invalid_grant", "error_description": "bad code"}
            return 200, self._issue(rotate=True)
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            if token not in state.refresh:
                return 400, {"error": "invalid_grant", "error_description":
                             "AADSTS70000: the refresh token was revoked or has expired"}
            # Microsoft rotates refresh tokens; Google keeps the one it gave (sends none)
            microsoft = "offline_access" in form.get("scope", "")
            if microsoft:
                state.refresh.discard(token)
            return 200, self._issue(rotate=microsoft)
        return 400, {"error": "unsupported_grant_type"}

    def device_code(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if form.get("client_id") != self.state.client_id:
                return 400, {"error": "invalid_client"}
            device, user = secrets.token_urlsafe(16), secrets.token_hex(4).upper()
            self.state.devices[device] = {"user_code": user, "approved": False}
        uri = f"{self.base}/devicelogin"
        return 200, {"device_code": device, "user_code": user, "verification_uri": uri,
                     "expires_in": 300, "interval": 1,
                     "message": f"To sign in, use a web browser to open the page {uri} and "
                                f"enter the code {user} to authenticate."}

    def authorize(self, query: dict[str, str]) -> str:
        """The consent page: the user allows; the redirect location."""
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.state.codes[code] = {"redirect_uri": query["redirect_uri"],
                                      "challenge": query.get("code_challenge", "")}
        return query["redirect_uri"] + "?" + urllib.parse.urlencode(
            {"code": code, "state": query.get("state", "")})

    def discovery(self) -> dict[str, Any]:
        root = f"{self.authority}/oauth2/v2.0"
        return {"issuer": f"{self.authority}/v2.0", "authorization_endpoint": f"{root}/authorize",
                "token_endpoint": f"{root}/token",
                "device_authorization_endpoint": f"{root}/devicecode",
                "response_types_supported": ["code"]}


def _handler(fake: FakeOAuth) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            return dict(urllib.parse.parse_qsl(raw))

        def do_GET(self) -> None:  # the http.server API
            url = urllib.parse.urlsplit(self.path)
            if url.path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
                self._send(200, fake.discovery())
            elif url.path == "/authorize":
                self.send_response(302)
                self.send_header("Location", fake.authorize(
                    dict(urllib.parse.parse_qsl(url.query))))
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:  # the http.server API
            path, form = urllib.parse.urlsplit(self.path).path, self._form()
            if path in (f"/{TENANT}/oauth2/v2.0/token", "/token"):
                self._send(*fake.token(form))
            elif path == f"/{TENANT}/oauth2/v2.0/devicecode":
                self._send(*fake.device_code(form))
            elif path == "/introspect":
                active = fake._active(form.get("token", ""))
                self._send(200, {"active": active, "username": fake.state.username}
                           if active else {"active": False})
            else:
                self._send(404, {"error": "not_found"})

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
