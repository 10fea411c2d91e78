"""Where mail for a domain goes (RFC 5321 §5.1): its MX hosts by preference, with their
addresses, looked up with dnspython through the configured nameservers.

* MX records, lowest preference first (equal ones in random order); each host's A then AAAA
  addresses (the host name is kept for TLS and messages).
* No MX record: the domain itself is the one exchanger (its A/AAAA, the "implicit MX").
* A null MX (RFC 7505, ``MX 0 .``), a domain that does not exist, or one with neither MX nor
  address: :class:`PermanentDeliveryError` (mail to it can never be delivered).
* Timeouts, SERVFAIL, an unreachable resolver, MX hosts without any address:
  :class:`TransientDeliveryError` (the outbox retries later).

Every query is bounded (``timeout`` seconds); answers are kept for their TTL, at most
``CACHE_SECONDS`` (``CACHE_SIZE`` domains), per resolver (:func:`resolver_for` keeps one
per setting).
"""

from __future__ import annotations

import functools
import random
import time
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from ..config import dns_resolver
from ..errors import PermanentDeliveryError, TransientDeliveryError

CACHE_SECONDS = 300.0
CACHE_SIZE = 1024  # domains remembered per resolver
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Exchanger:
    """One host that takes mail for a domain."""

    host: str  # its name, without the final dot (TLS server name)
    preference: int
    addresses: tuple[str, ...]


class MxResolver:
    """MX lookups through ``nameservers`` (the setting's form; empty: the system's)."""

    def __init__(self, nameservers: str = "", timeout: float = DEFAULT_TIMEOUT) -> None:
        self._resolver = dns_resolver(dns.asyncresolver.Resolver, nameservers)
        self._timeout = timeout
        self._cache: dict[str, tuple[float, list[Exchanger]]] = {}

    async def exchangers(self, domain: str) -> list[Exchanger]:
        """The hosts to try for ``domain``, in order (raises as the module says)."""
        domain = domain.lower().rstrip(".")
        cached = self._cache.get(domain)
        if cached is not None and cached[0] > time.monotonic():
            return _ordered(cached[1])
        found, ttl = await self._lookup(domain)
        now = time.monotonic()
        if len(self._cache) >= CACHE_SIZE:  # forget what has expired (else the oldest half)
            kept = {d: e for d, e in self._cache.items() if e[0] > now}
            self._cache = kept if len(kept) < CACHE_SIZE else dict(
                list(kept.items())[CACHE_SIZE // 2:])
        self._cache[domain] = (now + min(ttl, CACHE_SECONDS), found)
        return _ordered(found)

    async def _lookup(self, domain: str) -> tuple[list[Exchanger], float]:
        answer = await self._query(domain, "MX", domain)
        if answer is None:  # no MX: the domain itself (RFC 5321 §5.1)
            addresses, ttl = await self._addresses(domain, domain)
            if not addresses:
                raise PermanentDeliveryError(
                    f"{domain} has no MX record and no address: it takes no mail")
            return [Exchanger(domain, 0, addresses)], ttl
        records = [(int(r.preference), r.exchange) for r in answer]
        if any(exchange == dns.name.root for _, exchange in records):
            raise PermanentDeliveryError(f"{domain} accepts no mail (a null MX, RFC 7505)")
        ttl = float(answer.rrset.ttl) if answer.rrset is not None else CACHE_SECONDS
        found: list[Exchanger] = []
        for preference, exchange in sorted(records, key=lambda r: r[0]):
            host = exchange.to_text(omit_final_dot=True).lower()
            try:
                addresses, address_ttl = await self._addresses(host, domain)
            except PermanentDeliveryError:  # that host does not exist: try the others
                continue
            if addresses:
                found.append(Exchanger(host, preference, addresses))
                ttl = min(ttl, address_ttl)
        if not found:
            raise TransientDeliveryError(f"no MX host of {domain} has an address "
                                         f"({', '.join(e.to_text() for _, e in records)})")
        return found, ttl

    async def _addresses(self, host: str, domain: str) -> tuple[tuple[str, ...], float]:
        addresses: list[str] = []
        ttl = CACHE_SECONDS
        for rdtype in ("A", "AAAA"):
            answer = await self._query(host, rdtype, domain)
            if answer is not None:
                addresses += [r.to_text() for r in answer]
                if answer.rrset is not None:
                    ttl = min(ttl, float(answer.rrset.ttl))
        return tuple(addresses), ttl

    async def _query(self, name: str, rdtype: str, domain: str) -> dns.resolver.Answer | None:
        """The answer, or None when ``name`` has no record of ``rdtype``."""
        try:
            return await self._resolver.resolve(name, rdtype, lifetime=self._timeout,
                                                 search=False)
        except dns.resolver.NXDOMAIN:
            raise PermanentDeliveryError(f"the domain {name} does not exist") from None
        except dns.resolver.NoAnswer:
            return None
        except (dns.exception.DNSException, OSError) as exc:
            raise TransientDeliveryError(
                f"cannot look up where mail for {domain} goes ({rdtype} {name}): "
                f"{type(exc).__name__}") from None


def _ordered(found: list[Exchanger]) -> list[Exchanger]:
    """Lowest preference first; equal preferences shuffled (RFC 5321 §5.1)."""
    shuffled = list(found)
    random.shuffle(shuffled)
    return sorted(shuffled, key=lambda e: e.preference)


@functools.lru_cache(maxsize=8)
def resolver_for(nameservers: str, timeout: float = DEFAULT_TIMEOUT) -> MxResolver:
    """One resolver (and its cache) per ``dns_nameservers`` setting."""
    return MxResolver(nameservers, timeout)
