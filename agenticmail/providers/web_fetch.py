"""Fetching an attachment from a URL without becoming a proxy into the owner's network (SSRF).

Only ``https``; every connection (the first and each redirect, followed by hand, at most
:data:`MAX_REDIRECTS`) resolves the host itself and connects to an address it checked: no
loopback, private, link-local (cloud metadata ``169.254.169.254``), multicast, reserved or
unspecified address, IPv4 or IPv6 — so DNS rebinding between check and connect is impossible.
Size capped while streaming, connect/read timeouts, content type sniffed from the bytes.
httpcore's errors become ``InvalidRequest`` here (the adapter's edge).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore

from ..errors import InvalidRequest, PayloadTooLarge

MAX_REDIRECTS = 3
TIMEOUT = 10.0
IpCheck = Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address], bool]


def public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``ip`` is a globally routable unicast address (never a local one)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback
                                 or ip.is_link_local or ip.is_private or ip.is_unspecified)


@dataclass(frozen=True)
class Fetched:
    url: str
    content: bytes
    content_type: str
    filename: str


class Refused(InvalidRequest):
    code = "url_refused"


class _CheckedBackend(httpcore.SyncBackend):
    """Resolves the host, refuses any non-public address, and connects to the checked IP."""

    def __init__(self, allowed: IpCheck) -> None:
        self.allowed = allowed

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        addresses = resolve(host, port)
        bad = [a for a in addresses if not self.allowed(ipaddress.ip_address(a))]
        if bad or not addresses:
            where = bad[0] if bad else "nothing"
            raise Refused(f"refusing to fetch from {host}: it resolves to {where}, a private, "
                          "loopback or link-local address",
                          hint="attachments by URL must come from a public https server")
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidRequest(f"cannot resolve {host}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def sniff(content: bytes, declared: str | None) -> str:
    """The content type from the first bytes; the declared one only for plain text/unknown."""
    magic = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"),
             (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"),
             (b"PK\x03\x04", "application/zip"), (b"\x1f\x8b", "application/gzip"))
    for prefix, kind in magic:
        if content.startswith(prefix):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    head = content[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    try:
        content[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    kind = (declared or "").split(";")[0].strip().lower()
    return kind if kind.startswith("text/") or kind in ("application/json", "text/csv") \
        else "text/plain"


def _check_url(url: str, allow_http: bool) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidRequest(f"not a URL to fetch: {url[:200]!r}", hint="give an https:// URL")
    host = parts.hostname
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and not public_address(literal):
        raise Refused(f"refusing to fetch {url[:200]}: {host} is a private, loopback or "
                      "link-local address", hint="attachments by URL must come from a public "
                      "https server")
    if parts.scheme != "https" and not allow_http:
        raise InvalidRequest(f"refusing to fetch {url[:200]}: only https URLs are fetched")
    return parts.scheme, host


def fetch(url: str, *, max_bytes: int, timeout: float = TIMEOUT,
          allowed: IpCheck = public_address, allow_http: bool = False,
          ssl_context: ssl.SSLContext | None = None) -> Fetched:
    """GET ``url`` (following up to :data:`MAX_REDIRECTS` redirects, each checked afresh)."""
    pool = httpcore.ConnectionPool(ssl_context=ssl_context or ssl.create_default_context(),
                                   network_backend=_CheckedBackend(allowed), retries=0)
    extensions = {"timeout": {"connect": timeout, "read": timeout, "write": timeout,
                              "pool": timeout}}
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            _check_url(current, allow_http)
            with pool.stream("GET", current, headers={"User-Agent": "agenticmail",
                                                      "Accept": "*/*"},
                             extensions=extensions) as response:
                headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                           for k, v in response.headers}
                if response.status in (301, 302, 303, 307, 308) and "location" in headers:
                    current = urljoin(current, headers["location"])
                    continue
                if response.status != 200:
                    raise InvalidRequest(f"fetching {url[:200]} failed: HTTP {response.status}")
                declared = int(headers.get("content-length", "0") or 0)
                if declared > max_bytes:
                    raise PayloadTooLarge(f"{url[:200]} is {declared} bytes; the limit is "
                                          f"{max_bytes}")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_stream():
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLarge(f"{url[:200]} is larger than {max_bytes} bytes")
                    chunks.append(chunk)
                content = b"".join(chunks)
                name = urlsplit(current).path.rsplit("/", 1)[-1] or "attachment"
                return Fetched(current, content, sniff(content, headers.get("content-type")),
                               name[:255])
        raise InvalidRequest(f"fetching {url[:200]}: more than {MAX_REDIRECTS} redirects")
    except httpcore.TimeoutException:
        raise InvalidRequest(f"fetching {url[:200]} timed out") from None
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol,
            ssl.SSLError, OSError) as exc:
        raise InvalidRequest(f"fetching {url[:200]} failed: {exc}") from None
    finally:
        pool.close()
