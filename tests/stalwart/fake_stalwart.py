"""A faithful fake of Stalwart v0.16's management surface, served over real HTTP.

What it reproduces (``shared/reference/stalwart-jmap.md``): one ``POST /jmap`` dispatcher for
``x:<Type>/get|set|query``; Basic auth (recovery admin from ``STALWART_RECOVERY_ADMIN`` and
internal admin accounts) with 401 ``application/problem+json`` otherwise; non-JSON bodies ->
400 ``notJSON``; ``unknownMethod``; ``#ids`` back-references; short opaque ids; ``Set<T>`` and
``List<T>`` as JSON objects (arrays -> ``invalidPatch``); JSON-pointer patches
(``aliases/N``, ``memberGroupIds/<id>``, ``quotas/<k>``); password strength (8..128 chars and
a zxcvbn-like score) and hashing, secrets masked on read; ``invalidForeignKey`` for an unknown
``domainId``; ``primaryKeyViolation`` on a duplicate name/alias; ``objectIsLinked`` when a
domain in use is destroyed; ``dnsZoneFile`` on Domain get; automatic DKIM keys; bootstrap mode
(no ``config.json``) with ``x:Bootstrap/set``; ``/healthz/live|ready``; ``/jmap/session``.

It also answers IMAP ``LOGIN`` on an optional port so "can this account log in" can be tested.
The objects and rules live in :mod:`.fake_registry`; this module is the HTTP and IMAP front.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import socketserver
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .fake_registry import Registry


def _problem(status: int, title: str, detail: str, kind: str = "about:blank") -> bytes:
    return json.dumps({"type": kind, "title": title, "status": status,
                       "detail": detail}).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json",
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _unauthorized(self) -> None:
        self._send(401, _problem(401, "Unauthorized", "You have to authenticate first."),
                   "application/problem+json",
                   {"WWW-Authenticate": 'Bearer realm="Stalwart Server"'})

    def do_GET(self) -> None:
        fake = self.server.fake
        if self.path in ("/healthz/live", "/healthz/ready"):
            # bootstrap mode has no data store yet: ready answers 503, like the server
            ok = self.path.endswith("live") or (fake.ready and not fake.registry.bootstrap_mode)
            status = 200 if ok else 503
            self._send(status, _problem(status, "OK" if ok else "Service Unavailable",
                                        "OK" if ok else "Data store not available"),
                       "application/problem+json")
            return
        if self.path in ("/jmap/session", "/.well-known/jmap"):
            who = fake.registry.authenticate(self.headers.get("Authorization"))
            if who is None:
                self._unauthorized()
                return
            host = fake.registry.objects["SystemSettings"]["singleton"]["defaultHostname"]
            body = {"capabilities": {"urn:ietf:params:jmap:core": {}, "urn:stalwart:jmap": {}},
                    "accounts": {"d333333": {"name": who[0], "isPersonal": True}},
                    "primaryAccounts": {"urn:ietf:params:jmap:core": "d333333",
                                        "urn:stalwart:jmap": "d333333"},
                    "username": who[0], "apiUrl": f"https://{host}/jmap/", "state": "s0"}
            self._send(200, json.dumps(body).encode())
            return
        self._send(404, _problem(404, "Not Found", "The requested resource does not exist."),
                   "application/problem+json")

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path not in ("/jmap", "/jmap/"):
            self._send(404, _problem(404, "Not Found", "Not found"), "application/problem+json")
            return
        who = fake.registry.authenticate(self.headers.get("Authorization"))
        if who is None:
            self._unauthorized()
            return
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            self._send(400, _problem(400, "Not JSON", "Content-Type must be application/json",
                                     "urn:ietf:params:jmap:error:notJSON"),
                       "application/problem+json")
            return
        try:
            body = json.loads(raw)
            assert isinstance(body.get("methodCalls"), list)
        except (ValueError, AssertionError, AttributeError):
            self._send(400, _problem(400, "Not Request", "Invalid JMAP request",
                                     "urn:ietf:params:jmap:error:notRequest"),
                       "application/problem+json")
            return
        fake.requests.append(body)
        self._send(200, json.dumps(fake.registry.handle(body, admin=who[1])).encode())


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeStalwart


class _ImapHandler(socketserver.StreamRequestHandler):
    """Just enough IMAP for a login check, an idle watcher and an archive of an empty
    mailbox: greeting, CAPABILITY, LOGIN, LIST (INBOX), SELECT/EXAMINE and STATUS (empty),
    UID SEARCH, IDLE ... DONE, LOGOUT; anything else: OK."""

    server: Any

    def handle(self) -> None:
        registry: Registry = self.server.registry
        self.wfile.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Stalwart fake ready\r\n")
        while line := self.rfile.readline():
            tag, _, rest = line.decode(errors="replace").strip().partition(" ")
            cmd, _, arg = rest.partition(" ")
            cmd = cmd.upper()
            if cmd == "CAPABILITY":
                self.wfile.write(b"* CAPABILITY IMAP4rev1 IDLE\r\n" + tag.encode()
                                 + b" OK done\r\n")
            elif cmd == "LOGIN":
                parts = re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', arg)
                user, pw = [(a or b).replace('\\"', '"').replace("\\\\", "\\")
                            for a, b in parts[:2]]
                auth = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
                plain_ok = registry.objects["Imap"]["singleton"]["allowPlainTextAuth"]
                if not plain_ok:
                    self.wfile.write(tag.encode() + b" NO [PRIVACYREQUIRED] Plain text "
                                     b"authentication is not allowed\r\n")
                    continue
                ok = not registry.bootstrap_mode and registry.authenticate(auth) is not None
                self.wfile.write(tag.encode() + (b" OK [CAPABILITY IMAP4rev1 IDLE] LOGIN done\r\n"
                                                 if ok else b" NO [AUTHENTICATIONFAILED] "
                                                 b"Authentication failed\r\n"))
            elif cmd in ("LIST", "LSUB"):
                self.wfile.write(b'* LIST (\\HasNoChildren) "/" "INBOX"\r\n' + tag.encode()
                                 + b" OK LIST done\r\n")
            elif cmd in ("SELECT", "EXAMINE"):
                self.wfile.write(b"* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)\r\n"
                                 b"* 0 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1] UIDs valid\r\n"
                                 b"* OK [UIDNEXT 1] Next UID\r\n" + tag.encode()
                                 + b" OK [READ-WRITE] SELECT completed\r\n")
            elif cmd == "STATUS":  # the empty INBOX: what was asked, in the order asked
                box, _, items = arg.partition(" ")
                values = {"MESSAGES": 0, "RECENT": 0, "UIDNEXT": 1, "UIDVALIDITY": 1,
                          "UNSEEN": 0}
                asked = [i for i in items.strip("()").upper().split() if i in values]
                answer = " ".join(f"{i} {values[i]}" for i in asked)
                self.wfile.write(f"* STATUS {box} ({answer})\r\n".encode() + tag.encode()
                                 + b" OK STATUS done\r\n")
            elif cmd == "UID" and arg.upper().startswith("SEARCH"):
                self.wfile.write(b"* SEARCH\r\n" + tag.encode() + b" OK SEARCH done\r\n")
            elif cmd == "IDLE":
                self.wfile.write(b"+ Idling\r\n")
                self.wfile.flush()
                while (done := self.rfile.readline()) and done.strip().upper() != b"DONE":
                    pass
                self.wfile.write(tag.encode() + b" OK IDLE terminated\r\n")
            elif cmd == "LOGOUT":
                self.wfile.write(b"* BYE\r\n" + tag.encode() + b" OK bye\r\n")
                return
            else:
                self.wfile.write(tag.encode() + b" OK noop\r\n")


class _ImapServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    registry: Registry


class FakeStalwart:
    """One fake server: ``start(port)`` serves HTTP (and IMAP on ``imap_port``) on 127.0.0.1."""

    def __init__(self, *, recovery_admin: str | None = None, config_dir: Path | None = None,
                 bootstrap: bool | None = None) -> None:
        if bootstrap is None:
            bootstrap = config_dir is not None and not (config_dir / "config.json").exists()
        self.registry = Registry(recovery_admin=recovery_admin, config_dir=config_dir,
                                 bootstrap=bootstrap)
        if not bootstrap:
            self.registry.restart(recovery_admin=recovery_admin)
        self.ready = True
        self.requests: list[dict[str, Any]] = []
        self._http: _HttpServer | None = None
        self._imap: _ImapServer | None = None
        self._threads: list[threading.Thread] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0, imap_port: int | None = None) -> FakeStalwart:
        self._http = _HttpServer(("127.0.0.1", port), _Handler)
        self._http.fake = self
        self.port = self._http.server_address[1]
        servers: list[Callable[[], None]] = [self._http.serve_forever]
        if imap_port is not None:
            self._imap = _ImapServer(("127.0.0.1", imap_port), _ImapHandler)
            self._imap.registry = self.registry
            servers.append(self._imap.serve_forever)
        for target in servers:
            thread = threading.Thread(target=target, kwargs={"poll_interval": 0.05},
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for srv in (self._http, self._imap):
            if srv is not None:
                srv.shutdown()
                srv.server_close()
        for thread in self._threads:
            thread.join(5)
        self._http = self._imap = None
        self._threads = []

    def restart(self, *, recovery_admin: str | None) -> None:
        self.registry.restart(recovery_admin=recovery_admin)

    @property
    def running(self) -> bool:
        return self._http is not None


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
