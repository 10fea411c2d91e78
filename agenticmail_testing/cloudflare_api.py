"""A fake Cloudflare v4 API: a real HTTP server speaking the REST contract the SDK uses.

:class:`FakeCloudflare` serves, on 127.0.0.1 and a free port, the calls domain mode makes:
tokens (``/user/tokens/verify``), accounts, zones, DNS records (paginated), Email Routing
(settings, its DNS, the catch-all rule), Workers scripts (multipart module upload), Cloudflare
Tunnels (create, list, token, ingress configuration, delete) and email sending
(``send_raw``). Answers use the v4 envelope (``success``, ``errors``, ``messages``,
``result``, ``result_info``); refusals carry real codes (10000 for a token without the
permission, 81058 for an identical record, 81053 for a name taken by a CNAME...).

Tests point the production SDK at :attr:`FakeCloudflare.base_url`, give tokens their own
permission sets (:meth:`add_token`), make pages small (:attr:`per_page_max`), count mutating
calls (:attr:`mutations`) and inject faults (:meth:`fail`)::

    with FakeCloudflare() as cf:
        token = cf.add_token()                     # every permission
        zone = cf.add_zone("example.com")
        cf.add_record(zone, "A", "example.com", "192.0.2.1")
        CloudflareApi(token, base_url=cf.base_url)...
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# permission names a token may hold (the Cloudflare dashboard's wording)
DNS = "Zone DNS edit"
EMAIL_ROUTING = "Email Routing edit"
WORKERS = "Workers edit"
TUNNEL = "Tunnel edit"
EMAIL_SENDING = "Email Sending edit"
ALL_PERMISSIONS = frozenset({DNS, EMAIL_ROUTING, WORKERS, TUNNEL, EMAIL_SENDING})

EMAIL_ROUTING_MX = (("route1.mx.cloudflare.net", 13), ("route2.mx.cloudflare.net", 86),
                    ("route3.mx.cloudflare.net", 24))
EMAIL_ROUTING_SPF = "v=spf1 include:_spf.mx.cloudflare.net ~all"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ApiError(Exception):
    """An answer ``{"success": false, "errors": [{code, message}]}`` with an HTTP status."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    nth: int
    status: int
    code: int
    message: str
    times: int
    seen: int = 0


@dataclass
class Request:
    """One request as the handler saw it (for a route)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    token: str
    match: re.Match[str] | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Script:
    """A Worker as uploaded: its modules (name → text), metadata and bindings."""

    name: str
    modules: dict[str, str]
    metadata: dict[str, Any]
    uploads: int = 1

    @property
    def bindings(self) -> list[dict[str, Any]]:
        return list(self.metadata.get("bindings") or [])


@dataclass
class _State:
    tokens: dict[str, frozenset[str]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    zones: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # zone → id → rec
    routing: dict[str, dict[str, Any]] = field(default_factory=dict)  # zone → settings
    catch_all: dict[str, dict[str, Any]] = field(default_factory=dict)  # zone → rule
    tunnels: dict[str, dict[str, Any]] = field(default_factory=dict)  # tunnel id → tunnel
    tunnel_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    scripts: dict[tuple[str, str], Script] = field(default_factory=dict)  # (account, name)
    sent: list[dict[str, Any]] = field(default_factory=list)


Handler = Callable[["FakeCloudflare", Request], Any]
_ROUTES: list[tuple[str, re.Pattern[str], str | None, Handler]] = []


def route(method: str, pattern: str, permission: str | None = None
          ) -> Callable[[Handler], Handler]:
    """Register a handler for ``method`` on the path regex ``pattern`` (named groups)."""
    def register(fn: Handler) -> Handler:
        _ROUTES.append((method, re.compile(f"^{pattern}$"), permission, fn))
        return fn
    return register


class FakeCloudflare:
    """The fake v4 API. Start with ``start()`` (or as a context manager); ``base_url`` is
    what the SDK's ``base_url`` takes. Thread-safe: one lock around every request."""

    def __init__(self, *, account_name: str = "Owner's account") -> None:
        self.state = _State()
        self.lock = threading.RLock()
        self.per_page_max = 100
        self.mutations = 0  # mutating calls received (refused ones included)
        self.calls: list[tuple[str, str]] = []  # (method, path) of every call
        self.faults: list[Fault] = []
        self.account_id = uuid.uuid4().hex
        self.state.accounts[self.account_id] = {"id": self.account_id, "name": account_name,
                                                "type": "standard"}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeCloudflare:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-cloudflare")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeCloudflare:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/client/v4"

    # -- test set-up ---------------------------------------------------------------------------

    def add_token(self, permissions: frozenset[str] | set[str] = ALL_PERMISSIONS) -> str:
        token = secrets.token_urlsafe(30)
        with self.lock:
            self.state.tokens[token] = frozenset(permissions)
        return token

    def add_zone(self, name: str) -> str:
        zone_id = uuid.uuid4().hex
        account = self.state.accounts[self.account_id]
        with self.lock:
            self.state.zones[zone_id] = {
                "id": zone_id, "name": name, "status": "active", "type": "full",
                "account": {"id": account["id"], "name": account["name"]},
                "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]}
            self.state.records[zone_id] = {}
        return zone_id

    def add_record(self, zone_id: str, type_: str, name: str, content: str, *,
                   priority: int | None = None, proxied: bool = False,
                   ttl: int = 1) -> dict[str, Any]:
        with self.lock:
            return self._create_record(zone_id, {"type": type_, "name": name,
                                                 "content": content, "priority": priority,
                                                 "proxied": proxied, "ttl": ttl})

    def records(self, zone_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.state.records[zone_id].values()]

    def fail(self, method: str, path: str, *, nth: int = 1, status: int = 400,
             code: int = 1003, message: str = "injected failure", times: int = 1) -> None:
        """Refuse the ``nth`` call (and the ``times - 1`` after it) of ``method`` to a path
        matching the regex ``path`` (searched in the path after ``/client/v4``)."""
        with self.lock:
            self.faults.append(Fault(method.upper(), re.compile(path), nth, status, code,
                                     message, times))

    def script(self, name: str) -> Script | None:
        return self.state.scripts.get((self.account_id, name))

    @property
    def sent(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.state.sent)

    # -- the server side ------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        path = url.path.removeprefix("/client/v4")
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        auth = handler.headers.get("Authorization", "")
        req = Request(handler.command, path, parse_qs(url.query),
                      {k.lower(): v for k, v in handler.headers.items()}, body,
                      auth.removeprefix("Bearer ").strip())
        status, payload = self._dispatch(req)
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _dispatch(self, req: Request) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.calls.append((req.method, req.path))
            if req.method in MUTATING:
                self.mutations += 1
            try:
                self._inject(req)
                for method, pattern, permission, fn in _ROUTES:
                    match = pattern.match(req.path)
                    if match is None or method != req.method:
                        continue
                    req.match = match
                    self._authorize(req, permission)
                    result = fn(self, req)
                    if isinstance(result, _Page):
                        return 200, result.envelope()
                    return 200, _envelope(result)
                raise ApiError(404, 7003, f"Could not route to {req.path}, perhaps your "
                                          "object identifier is invalid?")
            except ApiError as exc:
                return exc.status, {"success": False, "messages": [], "result": None,
                                    "errors": [{"code": exc.code, "message": exc.message}]}

    def _inject(self, req: Request) -> None:
        for fault in self.faults:
            if fault.method == req.method and fault.pattern.search(req.path):
                fault.seen += 1
                if fault.nth <= fault.seen < fault.nth + fault.times:
                    raise ApiError(fault.status, fault.code, fault.message)

    def _authorize(self, req: Request, permission: str | None) -> None:
        held = self.state.tokens.get(req.token)
        if held is None:
            raise ApiError(400, 1000, "Invalid API Token")
        if permission is not None and permission not in held:
            raise ApiError(403, 10000, "Authentication error")

    # -- helpers for the handlers -------------------------------------------------------------

    def _zone(self, req: Request) -> str:
        zone_id = req.match["zone"] if req.match else ""
        if zone_id not in self.state.zones:
            raise ApiError(404, 1001, "Invalid zone identifier")  # also: not this token's
        return zone_id

    def _account(self, req: Request) -> str:
        account_id = req.match["account"] if req.match else ""
        if account_id not in self.state.accounts:
            raise ApiError(403, 9109, "Unauthorized to access requested resource")
        return account_id

    def _page(self, req: Request, items: list[dict[str, Any]]) -> _Page:
        per_page = min(int(req.arg("per_page") or 100), self.per_page_max)
        page = max(int(req.arg("page") or 1), 1)
        return _Page(items, page, per_page)

    def _create_record(self, zone_id: str, data: dict[str, Any]) -> dict[str, Any]:
        zone = self.state.zones[zone_id]
        type_ = str(data.get("type") or "").upper()
        name = str(data.get("name") or "").lower().rstrip(".")
        if name == "@":
            name = zone["name"]
        elif not (name == zone["name"] or name.endswith("." + zone["name"])):
            name = f"{name}.{zone['name']}"
        content = str(data.get("content") or "")
        if not type_ or not content:
            raise ApiError(400, 9005, "Content for record is invalid.")
        existing = self.state.records[zone_id].values()
        if any(r["type"] == type_ and r["name"] == name and r["content"] == content
               for r in existing):
            raise ApiError(400, 81058, "An identical record already exists.")
        if any(r["name"] == name and (r["type"] == "CNAME") != (type_ == "CNAME")
               and "CNAME" in (r["type"], type_) for r in existing):
            raise ApiError(400, 81053, "An A, AAAA, or CNAME record with that host already "
                                       "exists.")
        record = {
            "id": uuid.uuid4().hex, "zone_id": zone_id, "zone_name": zone["name"],
            "type": type_, "name": name, "content": content,
            "proxiable": type_ in ("A", "AAAA", "CNAME"),
            "proxied": bool(data.get("proxied", False)), "ttl": int(data.get("ttl") or 1),
            "settings": {}, "meta": dict(data.get("meta") or {}), "comment": data.get("comment"),
            "tags": [], "created_on": "2026-01-01T00:00:00Z",
            "modified_on": "2026-01-01T00:00:00Z"}
        if type_ == "MX":
            record["priority"] = int(data.get("priority") or 10)
        self.state.records[zone_id][record["id"]] = record
        return record

    def _routing(self, zone_id: str) -> dict[str, Any]:
        zone = self.state.zones[zone_id]
        return self.state.routing.setdefault(zone_id, {
            "id": zone_id, "tag": zone_id, "name": zone["name"], "enabled": False,
            "status": "unconfigured", "skip_wizard": True, "created": "2026-01-01T00:00:00Z",
            "modified": "2026-01-01T00:00:00Z"})

    def _catch_all(self, zone_id: str) -> dict[str, Any]:
        return self.state.catch_all.setdefault(zone_id, {
            "id": f"catch-{zone_id[:8]}", "tag": f"catch-{zone_id[:8]}", "name": "",
            "enabled": False, "matchers": [{"type": "all"}], "actions": [{"type": "drop"}]})

    def _tunnel(self, req: Request) -> dict[str, Any]:
        tunnel = self.state.tunnels.get(req.match["tunnel"] if req.match else "")
        if tunnel is None or tunnel["deleted_at"] or tunnel["account_tag"] != self._account(req):
            raise ApiError(404, 1003, "Tunnel not found")
        return tunnel


@dataclass
class _Page:
    items: list[dict[str, Any]]
    page: int
    per_page: int

    def envelope(self) -> dict[str, Any]:
        total = len(self.items)
        start = (self.page - 1) * self.per_page
        chunk = self.items[start:start + self.per_page]
        pages = max((total + self.per_page - 1) // self.per_page, 1)
        return {**_envelope(chunk), "result_info": {
            "page": self.page, "per_page": self.per_page, "count": len(chunk),
            "total_count": total, "total_pages": pages}}


def _envelope(result: Any) -> dict[str, Any]:
    return {"success": True, "errors": [], "messages": [], "result": result}


# -- tokens, accounts, zones ---------------------------------------------------------------------

@route("GET", "/user/tokens/verify")
def _verify(fake: FakeCloudflare, req: Request) -> Any:
    return {"id": "tok-" + req.token[:6], "status": "active", "expires_on": None,
            "not_before": None}


@route("GET", "/accounts")
def _accounts(fake: FakeCloudflare, req: Request) -> Any:
    return fake._page(req, list(fake.state.accounts.values()))


@route("GET", "/zones")
def _zones(fake: FakeCloudflare, req: Request) -> Any:
    name = req.arg("name")
    zones = [z for z in fake.state.zones.values() if name is None or z["name"] == name]
    return fake._page(req, zones)


# -- DNS records ---------------------------------------------------------------------------------

@route("GET", "/zones/(?P<zone>[^/]+)/dns_records", DNS)
def _list_records(fake: FakeCloudflare, req: Request) -> Any:
    zone_id = fake._zone(req)
    records = sorted(fake.state.records[zone_id].values(),
                     key=lambda r: (r["name"], r["type"], r["content"]))
    if req.arg("type"):
        records = [r for r in records if r["type"] == req.arg("type")]
    if req.arg("name.exact") or req.arg("name"):
        wanted = (req.arg("name.exact") or req.arg("name") or "").lower()
        records = [r for r in records if r["name"] == wanted]
    return fake._page(req, records)


@route("POST", "/zones/(?P<zone>[^/]+)/dns_records", DNS)
def _create(fake: FakeCloudflare, req: Request) -> Any:
    return fake._create_record(fake._zone(req), req.json())


@route("PUT", "/zones/(?P<zone>[^/]+)/dns_records/(?P<record>[^/]+)", DNS)
def _update(fake: FakeCloudflare, req: Request) -> Any:
    zone_id = fake._zone(req)
    old = fake.state.records[zone_id].pop(req.match["record"] if req.match else "", None)
    if old is None:
        raise ApiError(404, 81044, "Record does not exist.")
    try:
        record = fake._create_record(zone_id, req.json())
    except ApiError:
        fake.state.records[zone_id][old["id"]] = old
        raise
    del fake.state.records[zone_id][record["id"]]
    record["id"] = old["id"]
    fake.state.records[zone_id][old["id"]] = record
    return record


@route("DELETE", "/zones/(?P<zone>[^/]+)/dns_records/(?P<record>[^/]+)", DNS)
def _delete(fake: FakeCloudflare, req: Request) -> Any:
    zone_id = fake._zone(req)
    record_id = req.match["record"] if req.match else ""
    if fake.state.records[zone_id].pop(record_id, None) is None:
        raise ApiError(404, 81044, "Record does not exist.")
    return {"id": record_id}


# -- Email Routing -------------------------------------------------------------------------------

@route("GET", "/zones/(?P<zone>[^/]+)/email/routing", EMAIL_ROUTING)
def _routing_get(fake: FakeCloudflare, req: Request) -> Any:
    return fake._routing(fake._zone(req))


@route("GET", "/zones/(?P<zone>[^/]+)/email/routing/dns", EMAIL_ROUTING)
def _routing_dns(fake: FakeCloudflare, req: Request) -> Any:
    zone = fake.state.zones[fake._zone(req)]
    return [{"type": "MX", "name": zone["name"], "content": host, "priority": prio, "ttl": 1}
            for host, prio in EMAIL_ROUTING_MX] + [
        {"type": "TXT", "name": zone["name"], "content": EMAIL_ROUTING_SPF, "ttl": 1}]


@route("POST", "/zones/(?P<zone>[^/]+)/email/routing/dns", EMAIL_ROUTING)
def _routing_enable(fake: FakeCloudflare, req: Request) -> Any:
    """Enable Email Routing: add (and lock) its MX records and SPF, as Cloudflare does."""
    zone_id = fake._zone(req)
    name = fake.state.zones[zone_id]["name"]
    existing = fake.state.records[zone_id].values()
    if any(r["type"] == "MX" and r["name"] == name and not r["meta"].get("email_routing")
           for r in existing):
        raise ApiError(400, 2020, "There are other MX records on this zone: remove them first")
    wanted = [{"type": "MX", "name": name, "content": h, "priority": p}
              for h, p in EMAIL_ROUTING_MX]
    if not any(r["type"] == "TXT" and r["name"] == name and r["content"].startswith("v=spf1")
               for r in existing):
        wanted.append({"type": "TXT", "name": name, "content": EMAIL_ROUTING_SPF})
    for rec in wanted:
        if not any(r["type"] == rec["type"] and r["name"] == name
                   and r["content"] == rec["content"] for r in existing):
            fake._create_record(zone_id, {**rec, "meta": {"email_routing": True}})
    routing = fake._routing(zone_id)
    routing.update(enabled=True, status="ready")
    return routing


@route("DELETE", "/zones/(?P<zone>[^/]+)/email/routing/dns", EMAIL_ROUTING)
def _routing_disable(fake: FakeCloudflare, req: Request) -> Any:
    zone_id = fake._zone(req)
    records = fake.state.records[zone_id]
    for rid in [rid for rid, r in records.items() if r["meta"].get("email_routing")]:
        del records[rid]
    routing = fake._routing(zone_id)
    routing.update(enabled=False, status="unconfigured")
    return routing


@route("GET", "/zones/(?P<zone>[^/]+)/email/routing/rules/catch_all", EMAIL_ROUTING)
def _catch_all_get(fake: FakeCloudflare, req: Request) -> Any:
    return fake._catch_all(fake._zone(req))


@route("PUT", "/zones/(?P<zone>[^/]+)/email/routing/rules/catch_all", EMAIL_ROUTING)
def _catch_all_put(fake: FakeCloudflare, req: Request) -> Any:
    rule = fake._catch_all(fake._zone(req))
    data = req.json()
    for action in data.get("actions") or []:
        if action.get("type") == "worker":
            for name in action.get("value") or []:
                if (fake.account_id, name) not in fake.state.scripts:
                    raise ApiError(400, 2007, f"Worker {name} does not exist")
    rule.update({k: data[k] for k in ("actions", "matchers", "enabled", "name") if k in data})
    return rule


# -- Workers -------------------------------------------------------------------------------------

@route("GET", "/accounts/(?P<account>[^/]+)/workers/scripts", WORKERS)
def _scripts(fake: FakeCloudflare, req: Request) -> Any:
    account_id = fake._account(req)
    return [{"id": name, "created_on": "2026-01-01T00:00:00Z", "handlers": ["email"],
             "modified_on": "2026-01-01T00:00:00Z"}
            for (acct, name) in fake.state.scripts if acct == account_id]


@route("PUT", "/accounts/(?P<account>[^/]+)/workers/scripts/(?P<script>[^/]+)", WORKERS)
def _script_upload(fake: FakeCloudflare, req: Request) -> Any:
    """A module upload: multipart/form-data with a ``metadata`` JSON part (``main_module``,
    ``bindings``) and the module files."""
    account_id = fake._account(req)
    name = req.match["script"] if req.match else ""
    ctype = req.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise ApiError(400, 10021, "Uploads must be multipart/form-data")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + req.body)
    metadata: dict[str, Any] | None = None
    modules: dict[str, str] = {}
    for part in message.iter_parts():
        field_name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        assert isinstance(payload, bytes)
        if field_name == "metadata":
            metadata = json.loads(payload)
        else:
            modules[str(part.get_filename() or field_name)] = payload.decode()
    if metadata is None:
        raise ApiError(400, 10021, "No metadata part in the upload")
    main = metadata.get("main_module")
    if not main or main not in modules:
        raise ApiError(400, 10021, f"main_module {main!r} is not among the uploaded files")
    previous = fake.state.scripts.get((account_id, name))
    fake.state.scripts[(account_id, name)] = Script(
        name, modules, metadata, (previous.uploads + 1) if previous else 1)
    return {"id": name, "etag": uuid.uuid4().hex, "handlers": ["email"],
            "created_on": "2026-01-01T00:00:00Z", "modified_on": "2026-01-01T00:00:00Z",
            "startup_time_ms": 1}


@route("DELETE", "/accounts/(?P<account>[^/]+)/workers/scripts/(?P<script>[^/]+)", WORKERS)
def _script_delete(fake: FakeCloudflare, req: Request) -> Any:
    account_id = fake._account(req)
    name = req.match["script"] if req.match else ""
    if fake.state.scripts.pop((account_id, name), None) is None:
        raise ApiError(404, 10007, "This Worker does not exist on your account.")
    return None


# -- Tunnels -------------------------------------------------------------------------------------

@route("GET", "/accounts/(?P<account>[^/]+)/cfd_tunnel", TUNNEL)
def _tunnels(fake: FakeCloudflare, req: Request) -> Any:
    account_id = fake._account(req)
    tunnels = [t for t in fake.state.tunnels.values() if t["account_tag"] == account_id]
    if req.arg("name"):
        tunnels = [t for t in tunnels if t["name"] == req.arg("name")]
    if req.arg("is_deleted") == "false":
        tunnels = [t for t in tunnels if not t["deleted_at"]]
    return fake._page(req, tunnels)


@route("POST", "/accounts/(?P<account>[^/]+)/cfd_tunnel", TUNNEL)
def _tunnel_create(fake: FakeCloudflare, req: Request) -> Any:
    account_id = fake._account(req)
    data = req.json()
    name = str(data.get("name") or "")
    if not name:
        raise ApiError(400, 1003, "name is required")
    if any(t["name"] == name and not t["deleted_at"] and t["account_tag"] == account_id
           for t in fake.state.tunnels.values()):
        raise ApiError(409, 1013, "You already have a tunnel with this name")
    tunnel_id = str(uuid.uuid4())
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    tunnel = {"id": tunnel_id, "account_tag": account_id, "name": name,
              "config_src": data.get("config_src", "local"), "status": "inactive",
              "connections": [], "created_at": "2026-01-01T00:00:00Z", "deleted_at": None,
              "remote_config": data.get("config_src") == "cloudflare", "tun_type": "cfd_tunnel",
              "_secret": secret}
    fake.state.tunnels[tunnel_id] = tunnel
    return {k: v for k, v in tunnel.items() if not k.startswith("_")}


@route("GET", "/accounts/(?P<account>[^/]+)/cfd_tunnel/(?P<tunnel>[^/]+)/token", TUNNEL)
def _tunnel_token(fake: FakeCloudflare, req: Request) -> Any:
    tunnel = fake._tunnel(req)
    return base64.b64encode(json.dumps({"a": tunnel["account_tag"], "t": tunnel["id"],
                                        "s": tunnel["_secret"]}).encode()).decode()


@route("GET", "/accounts/(?P<account>[^/]+)/cfd_tunnel/(?P<tunnel>[^/]+)/configurations",
       TUNNEL)
def _tunnel_config_get(fake: FakeCloudflare, req: Request) -> Any:
    tunnel = fake._tunnel(req)
    return fake.state.tunnel_configs.get(tunnel["id"], {
        "tunnel_id": tunnel["id"], "account_id": tunnel["account_tag"], "version": 0,
        "config": None, "source": "cloudflare", "created_at": "2026-01-01T00:00:00Z"})


@route("PUT", "/accounts/(?P<account>[^/]+)/cfd_tunnel/(?P<tunnel>[^/]+)/configurations",
       TUNNEL)
def _tunnel_config_put(fake: FakeCloudflare, req: Request) -> Any:
    tunnel = fake._tunnel(req)
    config = req.json().get("config") or {}
    ingress = config.get("ingress") or []
    if not ingress or "hostname" in ingress[-1] or "path" in ingress[-1]:
        raise ApiError(400, 1055, "The last ingress rule must match all URLs (no hostname "
                                  "or path)")
    previous = fake.state.tunnel_configs.get(tunnel["id"], {}).get("version", 0)
    fake.state.tunnel_configs[tunnel["id"]] = {
        "tunnel_id": tunnel["id"], "account_id": tunnel["account_tag"],
        "version": previous + 1, "config": config, "source": "cloudflare",
        "created_at": "2026-01-01T00:00:00Z"}
    return fake.state.tunnel_configs[tunnel["id"]]


@route("DELETE", "/accounts/(?P<account>[^/]+)/cfd_tunnel/(?P<tunnel>[^/]+)", TUNNEL)
def _tunnel_delete(fake: FakeCloudflare, req: Request) -> Any:
    tunnel = fake._tunnel(req)
    tunnel["deleted_at"] = "2026-01-02T00:00:00Z"
    fake.state.tunnel_configs.pop(tunnel["id"], None)
    return {k: v for k, v in tunnel.items() if not k.startswith("_")}


# -- email sending (domain outbound path "cloudflare") ------------------------------------------

@route("POST", "/accounts/(?P<account>[^/]+)/email/sending/send_raw", EMAIL_SENDING)
def _send_raw(fake: FakeCloudflare, req: Request) -> Any:
    fake._account(req)
    data = req.json()
    sender, recipients = data.get("from"), list(data.get("recipients") or [])
    raw = data.get("mime_message")
    if not sender or not recipients or not isinstance(raw, str):
        raise ApiError(400, 10001, "from, recipients and mime_message are required")
    message_id = f"<{uuid.uuid4().hex}@cloudflare.fake>"
    fake.state.sent.append({"from": sender, "recipients": recipients, "raw": raw,
                            "message_id": message_id})
    return {"delivered": recipients, "message_id": message_id, "permanent_bounces": [],
            "queued": [], "suppressed_recipients": []}


__all__ = ["ALL_PERMISSIONS", "DNS", "EMAIL_ROUTING", "EMAIL_SENDING", "TUNNEL", "WORKERS",
           "ApiError", "FakeCloudflare", "Script"]
