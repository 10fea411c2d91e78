"""Attachments by URL: loopback, link-local (cloud metadata), private addresses and redirects
to them are refused with a clear error; a public-looking server is fetched with its bytes."""

from __future__ import annotations

import http.server
import ipaddress
import ssl
import threading
from collections.abc import Iterator

import pytest
import trustme

from agenticmail.errors import InvalidRequest
from agenticmail.providers.web_fetch import fetch, public_address, sniff


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/secret", "https://127.0.0.1/secret", "http://169.254.169.254/latest/meta-data/",
    "https://[::1]/x", "https://10.0.0.1/x", "https://192.168.1.1/x", "https://0.0.0.0/x",
    "https://[::ffff:127.0.0.1]/x", "https://localhost/x",
])
def test_private_addresses_refused(url: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        fetch(url, max_bytes=1000, timeout=2)
    assert err.value.code == "url_refused"
    assert "private, loopback or link-local" in err.value.message


def test_other_schemes_refused() -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/x", "gopher://x"):
        with pytest.raises(InvalidRequest):
            fetch(url, max_bytes=1000)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/redirect-meta"):
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
        elif self.path.startswith("/redirect-private"):
            self.send_response(301)
            self.send_header("Location", "https://10.1.2.3/x")
            self.end_headers()
        elif self.path.startswith("/big"):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * 5000)
        else:
            body = b"%PDF-1.4 hello\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")  # lies: sniffed from the bytes
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, ssl.SSLContext]]:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    client = ssl.create_default_context()
    ca.configure_trust(client)
    yield f"https://127.0.0.1:{httpd.server_address[1]}", client
    httpd.shutdown()


def _only_this_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """The test server stands in for a public host: 127.0.0.1 allowed, the rest as usual."""
    return str(ip) == "127.0.0.1" or public_address(ip)


def test_redirect_to_private_address_refused(server: tuple[str, ssl.SSLContext]) -> None:
    base, tls = server
    # literal 127.0.0.1 in the URL is refused before any connection, so use a host name
    # that resolves to it: "localhost" (connect-time check, with the test's allowance)
    host = base.replace("127.0.0.1", "localhost")
    for path in ("/redirect-meta", "/redirect-private"):
        with pytest.raises(InvalidRequest) as err:
            fetch(host + path, max_bytes=1000, allowed=_only_this_loopback, ssl_context=tls,
                  allow_http=True)
        assert err.value.code == "url_refused", err.value.message


def test_fetch_sniffs_and_caps(server: tuple[str, ssl.SSLContext]) -> None:
    base, tls = server
    host = base.replace("127.0.0.1", "localhost")
    got = fetch(host + "/doc.pdf", max_bytes=1000, allowed=_only_this_loopback,
                ssl_context=tls)
    assert got.content == b"%PDF-1.4 hello\n" and got.content_type == "application/pdf"
    assert got.filename == "doc.pdf"
    with pytest.raises(InvalidRequest) as err:
        fetch(host + "/big", max_bytes=1000, allowed=_only_this_loopback, ssl_context=tls)
    assert err.value.code == "payload_too_large"


def test_sniff() -> None:
    assert sniff(b"\x89PNG\r\n\x1a\nxx", "text/plain") == "image/png"
    assert sniff(b"hello", "text/csv") == "text/csv"
    assert sniff(b"\xff\xfe\x00bin", None) == "application/octet-stream"
