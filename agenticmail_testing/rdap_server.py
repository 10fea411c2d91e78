"""A fake domain registry for ``domain check`` tests: a real HTTP server on loopback serving
IANA's RDAP bootstrap file (RFC 9224) at ``/dns.json`` and RDAP domain objects (RFC 9083) at
``/rdap/domain/<name>`` for the names :meth:`RdapServer.register` added; any other name of a
TLD it serves is answered 404 with an RDAP error object, as registries do. Its bootstrap file
also names a registry for ``.down`` where nothing listens (a registry that is down).

Point the daemon's ``rdap_bootstrap_url`` setting at :attr:`RdapServer.bootstrap_url`: the
production lookup (httpx, the bootstrap, the registry) runs unchanged.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agenticmail_testing.ports import free_port


class RdapServer:
    """Serves the TLDs in ``tlds`` (``.test`` and ``.example`` by default)."""

    def __init__(self, tlds: tuple[str, ...] = ("test", "example")) -> None:
        self.tlds = tlds
        self.domains: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self._closed = free_port()  # the .down registry: nothing listens there
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                status, body = server.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/rdap+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="test-rdap",
                                        daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bootstrap_url(self) -> str:
        return f"{self.base}/dns.json"

    def register(self, name: str, *, registrar: str = "Example Registrar, Inc.",
                 expires: str = "2027-08-14T04:00:00Z",
                 status: tuple[str, ...] = ("client transfer prohibited",)) -> None:
        """Make ``name`` a registered domain (an RFC 9083 domain object)."""
        name = name.lower()
        self.domains[name] = {
            "objectClassName": "domain", "rdapConformance": ["rdap_level_0"],
            "handle": f"{name.upper().replace('.', '_')}-TEST", "ldhName": name,
            "status": list(status),
            "events": [{"eventAction": "registration", "eventDate": "2019-08-14T04:00:00Z"},
                       {"eventAction": "expiration", "eventDate": expires},
                       {"eventAction": "last update of RDAP database",
                        "eventDate": "2026-12-05T00:00:00Z"}],
            "entities": [{"objectClassName": "entity", "handle": "9999", "roles": ["registrar"],
                          "publicIds": [{"type": "IANA Registrar ID", "identifier": "9999"}],
                          "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                                   ["fn", {}, "text", registrar]]]}],
            "nameservers": [{"objectClassName": "nameserver", "ldhName": "NS1.EXAMPLE.NET"},
                            {"objectClassName": "nameserver", "ldhName": "NS2.EXAMPLE.NET"}],
            "secureDNS": {"delegationSigned": False},
        }

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        if path == "/dns.json":
            return 200, {"description": "RDAP bootstrap file for Domain Name System registrations",
                         "publication": "2026-12-01T18:00:01Z", "version": "1.0",
                         "services": [[list(self.tlds), [f"{self.base}/rdap/"]],
                                      [["down"], [f"http://127.0.0.1:{self._closed}/rdap/"]]]}
        prefix = "/rdap/domain/"
        if path.startswith(prefix):
            name = path[len(prefix):].lower()
            if name in self.domains:
                return 200, self.domains[name]
            return 404, {"errorCode": 404, "title": "Not Found",
                         "description": [f"{name} is not registered"],
                         "rdapConformance": ["rdap_level_0"]}
        return 400, {"errorCode": 400, "title": "Bad Request"}

    def start(self) -> RdapServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
