"""POSTing a webhook to an endpoint over HTTP(S) (httpx), without becoming a proxy into the
owner's network.

An endpoint an agent registered is checked at every delivery, not only when it was saved: the
host is resolved here, every address must pass the caller's check (public unicast by default,
:func:`~agenticmail.providers.web_fetch.public_address`), and the connection goes to the
address that was checked (TLS still verifies the certificate for the URL's host name), so DNS
rebinding between check and connect is impossible. Redirects are never followed; the
response body is ignored (up to 64 KiB of it is read, only so that the connection can be
used again). httpx's errors become ``agenticmail.errors`` types here: a network failure or a
timeout is a :class:`~agenticmail.errors.TransientDeliveryError` (:class:`NoAnswer` for a
timeout), a refused address a :class:`DestinationRefused`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..errors import InvalidRequest, PermissionDenied, TransientDeliveryError
from .web_fetch import IpCheck

if TYPE_CHECKING:
    import ssl

KEEP_BODY_BYTES = 64 * 1024

__all__ = ["Answer", "DestinationRefused", "IpCheck", "NoAnswer", "WebhookPoster",
           "check_destination", "split_url"]


class DestinationRefused(PermissionDenied):
    """The URL's host is (or resolves to) an address this endpoint may not call."""

    code = "webhook_url_refused"


class NoAnswer(TransientDeliveryError):
    """The endpoint did not answer within the time allowed."""

    code = "webhook_timeout"


@dataclass(frozen=True)
class Answer:
    status_code: int
    duration_ms: float


def split_url(url: str, *, allow_http: bool) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an endpoint URL; :class:`InvalidRequest` for anything but an
    absolute ``https`` URL (or ``http`` when allowed) without user info."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidRequest(f"not a valid URL: {url[:200]!r}") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidRequest(f"a webhook URL must be an absolute {' or '.join(schemes)} URL, "
                             f"got {url[:200]!r}")
    if parts.username is not None or parts.password is not None:
        raise InvalidRequest("a webhook URL may not carry a user name or password")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidRequest(f"cannot resolve {host}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_destination(url: str, allowed: IpCheck, *, allow_http: bool) -> list[str]:
    """The addresses to connect to for ``url`` (blocking: it resolves the host): every address
    its host resolves to must pass ``allowed``, else :class:`DestinationRefused`; a URL that
    is not one or a host that does not resolve is an :class:`InvalidRequest`."""
    scheme, host, port = split_url(url, allow_http=True)
    addresses = _resolve(host, port)
    bad = [a for a in addresses if not allowed(ipaddress.ip_address(a.split("%")[0]))]
    if bad or not addresses:
        where = bad[0] if bad else "no address"
        raise DestinationRefused(
            f"refusing to call {host}: it resolves to {where}, a loopback, private, "
            "link-local, multicast or reserved address",
            hint="an agent's webhook must be a public https URL (the owner may allow more "
                 "with the webhook_agent_networks setting)")
    if scheme != "https" and not allow_http:
        raise DestinationRefused(
            f"refusing a plain http URL for {host}: an agent's webhook must use https",
            hint="the owner may allow http with the webhook_agent_allow_http setting")
    return addresses


def _pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """``url`` with its host replaced by the checked ``address``, the Host header and the TLS
    server name that keep the request (and certificate check) about the original host."""
    parts = urlsplit(url)
    ip = ipaddress.ip_address(address.split("%")[0])
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host = parts.hostname or ""
    host_header = parts.netloc.rpartition("@")[2]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": host_header}, extensions


class WebhookPoster:
    """HTTP clients for the endpoints: a small one per endpoint (one POST in flight each, its
    connection kept), at most ``max_clients`` kept open (the least recently used idle one is
    closed first). One client for every endpoint would scan its whole pool on each request
    (httpcore checks every pooled connection), which costs more the more endpoints there are.
    :meth:`aclose` when done."""

    def __init__(self, max_clients: int = 100, *, verify: bool | ssl.SSLContext = True) -> None:
        self._verify = httpx.create_ssl_context() if verify is True else verify  # built once
        self._max = max(max_clients, 1)
        self._clients: OrderedDict[str, httpx.AsyncClient] = OrderedDict()
        self._in_use: Counter[str] = Counter()

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), OrderedDict()
        for client in clients:
            await client.aclose()

    async def _client(self, key: str) -> httpx.AsyncClient:
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        idle = [k for k in self._clients if not self._in_use[k]]
        for old in idle[:max(len(self._clients) + 1 - self._max, 0)]:
            await self._clients.pop(old).aclose()
        client = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, verify=self._verify,
            limits=httpx.Limits(max_connections=2, max_keepalive_connections=1),
            headers={"user-agent": "agenticmail-webhooks"})
        self._clients[key] = client
        return client

    async def post(self, url: str, body: bytes, headers: dict[str, str], *, timeout: float,
                   allowed: IpCheck | None = None, allow_http: bool = True,
                   key: str | None = None) -> Answer:
        """POST ``body``; the answer's status and how long it took. ``allowed``: check the
        resolved addresses (an agent's endpoint) and connect only to checked ones (the next
        when one refuses the connection). ``key`` names the endpoint (default: the URL)."""
        started = time.perf_counter()
        headers = {"content-type": "application/json", **headers}
        key = key or url
        self._in_use[key] += 1
        try:
            client = await self._client(key)
            async with asyncio.timeout(timeout):
                if allowed is None:
                    status = await self._send(client, url, body, headers, {}, timeout)
                else:
                    addresses = await asyncio.to_thread(check_destination, url, allowed,
                                                        allow_http=allow_http)
                    for n, address in enumerate(addresses, 1):
                        target, extra, extensions = _pinned(url, address)
                        try:
                            status = await self._send(client, target, body,
                                                      {**headers, **extra}, extensions, timeout)
                            break
                        except httpx.ConnectError:
                            if n == len(addresses):
                                raise
        except TimeoutError:
            raise NoAnswer(f"no answer within {timeout:g} s") from None
        except httpx.TimeoutException:
            raise NoAnswer(f"no answer within {timeout:g} s") from None
        except DestinationRefused:
            raise
        except InvalidRequest as exc:  # not a URL (any more), a host that does not resolve
            raise TransientDeliveryError(str(exc)) from None
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            raise TransientDeliveryError(f"{type(exc).__name__}: {exc}"[:500]) from None
        finally:
            self._in_use[key] -= 1
            if not self._in_use[key]:
                del self._in_use[key]
        return Answer(status, round((time.perf_counter() - started) * 1000, 2))

    @staticmethod
    async def _send(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str],
                    extensions: dict[str, str], timeout: float) -> int:
        async with client.stream("POST", url, content=body, headers=headers,
                                       extensions=extensions, timeout=timeout) as response:
            read = 0  # a short body is read so the connection can be used again
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read > KEEP_BODY_BYTES:
                    break  # a long one is cut off with its connection
            return response.status_code
