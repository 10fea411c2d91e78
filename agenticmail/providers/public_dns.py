"""Public DNS lookups (dnspython) for ``domain status``: what the world sees of a record.

:func:`lookup` answers one name and type as text: MX as ``"<priority> <host>"``, TXT with
its strings joined (a long TXT record is published as several strings), CNAME as the target;
host names lower case without the trailing dot. The ``dns_nameservers`` setting replaces the
system's resolvers (tests use a local DNS server). NXDOMAIN and "no such record" are an empty
answer; a timeout or a failing server raises :class:`DnsUnavailable` (the adapter's edge).
"""

from __future__ import annotations

import dns.exception
import dns.rdatatype
import dns.resolver

from ..config import dns_resolver
from ..errors import DnsUnavailable

TIMEOUT = 3.0


def _host(name: object) -> str:
    return str(name).rstrip(".").lower()


def lookup(name: str, rdtype: str, *, nameservers: str = "",
           timeout: float = TIMEOUT) -> list[str]:
    """The ``rdtype`` records of ``name`` as text (empty when there are none)."""
    try:
        resolver = dns_resolver(dns.resolver.Resolver, nameservers)
        answer = resolver.resolve(name.rstrip("."), rdtype, lifetime=timeout,
                                  raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return []
    except (dns.exception.DNSException, OSError) as exc:
        raise DnsUnavailable(f"looking up {rdtype} {name} failed: {type(exc).__name__}"
                             ) from None
    found = []
    for rrset in answer.response.answer:
        if rrset.rdtype != dns.rdatatype.from_text(rdtype):
            continue  # a CNAME chain on the way
        for item in rrset:
            if rdtype == "MX":
                found.append(f"{item.preference} {_host(item.exchange)}")
            elif rdtype == "TXT":
                found.append(b"".join(item.strings).decode("utf-8", "replace"))
            elif rdtype == "CNAME":
                found.append(_host(item.target))
            else:
                found.append(item.to_text())
    return found
