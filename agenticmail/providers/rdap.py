"""RDAP (RFC 9082/9083): whether a domain name is registered, asked of its registry.

IANA's bootstrap file (RFC 9224, ``https://data.iana.org/rdap/dns.json``) names each TLD's
RDAP service; it is fetched once and kept for :data:`BOOTSTRAP_TTL` seconds. The registry
answers ``GET <service>domain/<name>``: 404 means no such registration, 200 a domain object
(registrar, status, events). httpx's errors become :class:`RegistryUnavailable` here (the
adapter's edge); a name or TLD that cannot be asked about is an ``InvalidRequest``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import InvalidRequest, RegistryUnavailable

BOOTSTRAP_TTL = 3600.0
TIMEOUT = 10.0
MAX_BYTES = 4 * 1024 * 1024  # the bootstrap file is ~100 KiB; a domain object far less
ACCEPT = "application/rdap+json, application/json;q=0.9"

_cache: dict[str, tuple[float, list[tuple[tuple[str, ...], tuple[str, ...]]]]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Registration:
    """What the registry said about ``name``: ``registered`` or not; for a registered name
    its registrar, status values (RFC 8056 words) and dates (ISO 8601, as the registry
    wrote them); ``server`` is the RDAP service asked."""

    name: str
    registered: bool
    server: str
    registrar: str | None = None
    status: tuple[str, ...] = ()
    created: str | None = None
    expires: str | None = None
    nameservers: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "registered": self.registered, "server": self.server,
                "registrar": self.registrar, "status": list(self.status),
                "created": self.created, "expires": self.expires,
                "nameservers": list(self.nameservers)}


def normalise(name: str) -> str:
    """``name`` as the registry knows it: lower case, no trailing dot, IDNA (A-labels)."""
    text = name.strip().rstrip(".").lower()
    if not text or len(text) > 253 or "." not in text:
        raise InvalidRequest(f"not a domain name: {name[:100]!r}",
                             hint="give a registrable name, e.g. example.com")
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidRequest(f"not a domain name: {name[:100]!r}") from None
    labels = ascii_name.split(".")
    if any(not label or len(label) > 63 or label.startswith("-") or label.endswith("-")
           or not all(c.isalnum() or c == "-" for c in label) for label in labels):
        raise InvalidRequest(f"not a domain name: {name[:100]!r}")
    return ascii_name


def _get_json(client: httpx.Client, url: str, what: str) -> tuple[int, Any]:
    try:
        with client.stream("GET", url, headers={"Accept": ACCEPT}) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise RegistryUnavailable(f"{what} at {url} sent more than "
                                              f"{MAX_BYTES // 2**20} MiB")
            status = response.status_code
    except httpx.TimeoutException:
        raise RegistryUnavailable(f"{what} at {url} did not answer in time") from None
    except httpx.HTTPError as exc:
        raise RegistryUnavailable(f"cannot reach {what} at {url}: {exc}") from None
    if status != 200:
        return status, None
    try:
        return status, json.loads(body)
    except ValueError:
        raise RegistryUnavailable(f"{what} at {url} did not answer JSON") from None


def _services(client: httpx.Client, bootstrap_url: str
              ) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(bootstrap_url)
        if cached is not None and now - cached[0] < BOOTSTRAP_TTL:
            return cached[1]
    status, data = _get_json(client, bootstrap_url, "IANA's RDAP bootstrap file")
    if status != 200 or not isinstance(data, dict) or \
            not isinstance(data.get("services"), list):
        raise RegistryUnavailable(f"the RDAP bootstrap file at {bootstrap_url} could not be "
                                  f"read (HTTP {status})")
    services = []
    for entry in data["services"]:
        if isinstance(entry, list) and len(entry) >= 2 and isinstance(entry[0], list) \
                and isinstance(entry[1], list):
            services.append((tuple(str(s).lower().rstrip(".") for s in entry[0]),
                             tuple(str(u) for u in entry[1])))
    with _cache_lock:
        _cache[bootstrap_url] = (now, services)
    return services


def service_for(name: str, services: list[tuple[tuple[str, ...], tuple[str, ...]]]
                ) -> str | None:
    """The RDAP base URL for ``name``: the longest matching entry (RFC 9224 §4), https
    preferred."""
    labels = name.split(".")
    for start in range(len(labels)):
        suffix = ".".join(labels[start:])
        for suffixes, urls in services:
            if suffix in suffixes and urls:
                https = [u for u in urls if u.lower().startswith("https://")]
                return (https or list(urls))[0]
    return None


def _registrar(data: dict[str, Any]) -> str | None:
    for entity in data.get("entities") or []:
        if not isinstance(entity, dict) or "registrar" not in (entity.get("roles") or []):
            continue
        vcard = entity.get("vcardArray")
        if isinstance(vcard, list) and len(vcard) > 1 and isinstance(vcard[1], list):
            for item in vcard[1]:
                if isinstance(item, list) and len(item) > 3 and item[0] == "fn":
                    return str(item[3])[:200]
        handle = entity.get("handle")
        return str(handle)[:200] if handle else None
    return None


def _event(data: dict[str, Any], action: str) -> str | None:
    for event in data.get("events") or []:
        if isinstance(event, dict) and event.get("eventAction") == action:
            return str(event.get("eventDate") or "")[:40] or None
    return None


def lookup(name: str, bootstrap_url: str, *, timeout: float = TIMEOUT) -> Registration:
    """Ask ``name``'s registry whether it is registered."""
    ascii_name = normalise(name)
    with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=3,
                      headers={"User-Agent": "agenticmail"}) as client:
        base = service_for(ascii_name, _services(client, bootstrap_url))
        if base is None:
            tld = ascii_name.rsplit(".", 1)[-1]
            raise InvalidRequest(f"the registry of .{tld} offers no RDAP service (IANA's "
                                 "bootstrap file names none)", code="rdap_unsupported",
                                 hint="ask the registry's WHOIS or a registrar instead")
        url = f"{base.rstrip('/')}/domain/{ascii_name}"
        status, data = _get_json(client, url, "the registry's RDAP service")
    if status == 404:
        return Registration(ascii_name, registered=False, server=base)
    if status != 200 or not isinstance(data, dict):
        raise RegistryUnavailable(f"the registry's RDAP service at {url} answered HTTP "
                                  f"{status}")
    return Registration(
        ascii_name, registered=True, server=base, registrar=_registrar(data),
        status=tuple(str(s) for s in data.get("status") or [] if isinstance(s, str)),
        created=_event(data, "registration"), expires=_event(data, "expiration"),
        nameservers=tuple(str(ns.get("ldhName", "")).lower() for ns in
                          data.get("nameservers") or [] if isinstance(ns, dict)))
