"""Provisioning a Stalwart v0.16 server through its JMAP management API.

Stateless steps on a :class:`~agenticmail.hosts.jmap.JmapClient` that :mod:`.stalwart` runs
in order; each is idempotent (reads first, changes only what differs):

* :func:`bootstrap` - ``x:Bootstrap/set`` on a server in bootstrap mode; returns the generated
  admin credential (the container must then be restarted).
* :func:`ensure_hostname` - ``x:SystemSettings.defaultHostname``.
* :func:`ensure_domain` - the agents' domain with sub-addressing on and automatic DKIM.
* :func:`ensure_listeners` - plain listeners for IMAP (143), submission (587) and LMTP (24),
  which the defaults lack; the caller restarts the container when any was added.
* :func:`ensure_imap_plain_login` - ``x:Imap.allowPlainTextAuth`` (off by default), so agents
  can log in on the plain IMAP listener; it is published on 127.0.0.1 only.
* :func:`dns_records` - the domain's recommended DNS records, parsed from ``dnsZoneFile``.
* :func:`set_relay` / :func:`clear_relay` - an outbound smarthost (``x:MtaRoute`` +
  ``x:MtaOutboundStrategy``), applied with ``x:Action`` ReloadSettings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.rdatatype
import dns.zone

from ..errors import MailHostError
from .jmap import JmapClient, as_list

log = logging.getLogger(__name__)

# container port -> (listener name, protocol); plain text, loopback-published only
EXTRA_LISTENERS = {143: ("agenticmail-imap", "imap"), 587: ("agenticmail-submission", "smtp"),
                   24: ("agenticmail-lmtp", "lmtp")}
RELAY_ROUTE = "agenticmail-relay"
DEFAULT_STRATEGY = {"match": {"0": {"if": "is_local_domain(rcpt_domain)", "then": "'local'"}},
                    "else": "'mx'"}


@dataclass(frozen=True)
class AdminCredential:
    username: str
    secret: str

    def __repr__(self) -> str:
        return f"AdminCredential(username={self.username!r}, secret='***')"


@dataclass(frozen=True)
class DnsRecord:
    name: str
    type: str
    value: str
    ttl: int


def bootstrap(client: JmapClient, *, hostname: str, domain: str) -> AdminCredential:
    """First-run setup of a server in bootstrap mode; the generated admin credential."""
    answer = client.update("Bootstrap", "singleton", {
        "serverHostname": hostname,
        "defaultDomain": domain,
        "requestTlsCertificate": False,
        "generateDkimKeys": True,
        "dataStore": {"@type": "RocksDb", "path": "/var/lib/stalwart/"},
        "blobStore": {"@type": "Default"},
        "searchStore": {"@type": "Default"},
        "inMemoryStore": {"@type": "Default"},
        "directory": {"@type": "Internal"},
        "tracer": {"@type": "Stdout"},
        "dnsServer": {"@type": "Manual"},
    }, "bootstrapping Stalwart")
    if not isinstance(answer, dict) or not answer.get("username") or not answer.get("secret"):
        raise MailHostError("Stalwart's bootstrap did not return an admin credential")
    return AdminCredential(str(answer["username"]), str(answer["secret"]))


def ensure_hostname(client: JmapClient, hostname: str) -> bool:
    """Set ``defaultHostname``; True if it changed (a ReloadSettings is then due)."""
    current = client.get("SystemSettings", ["singleton"])
    if current and current[0].get("defaultHostname") == hostname:
        return False
    client.update("SystemSettings", "singleton", {"defaultHostname": hostname},
                  "setting the server hostname")
    return True


def domain_id(client: JmapClient, domain: str) -> str | None:
    ids = client.query("Domain", {"name": domain})
    return ids[0] if ids else None


def ensure_domain(client: JmapClient, domain: str) -> str:
    """The agents' domain (created if missing) with sub-addressing and automatic DKIM."""
    wanted = {"subAddressing": {"@type": "Enabled"}, "dkimManagement": {"@type": "Automatic"}}
    found = domain_id(client, domain)
    if found is None:
        return client.create("Domain", {
            "name": domain, "aliases": {}, "certificateManagement": {"@type": "Manual"},
            "dnsManagement": {"@type": "Manual"}, **wanted,
        }, f"creating the domain {domain}")
    current = (client.get("Domain", [found]) or [{}])[0]
    patch = {k: v for k, v in wanted.items()
             if (current.get(k) or {}).get("@type") != v["@type"]}
    if patch:
        client.update("Domain", found, patch, f"updating the domain {domain}")
    return found


def _ports_of(listener: dict[str, Any]) -> set[int]:
    ports = set()
    for bind in (listener.get("bind") or {}):
        tail = str(bind).rpartition(":")[2]
        if tail.isdigit():
            ports.add(int(tail))
    return ports


def ensure_listeners(client: JmapClient) -> list[str]:
    """Create the plain loopback listeners the defaults lack; the names of those added."""
    taken: set[int] = set()
    for listener in client.get("NetworkListener"):
        taken |= _ports_of(listener)
    added = []
    for port, (name, protocol) in EXTRA_LISTENERS.items():
        if port in taken:
            continue
        client.create("NetworkListener", {"name": name, "protocol": protocol,
                                          "bind": {f"[::]:{port}": True}, "useTls": False,
                                          "tlsImplicit": False},
                      f"adding the {protocol} listener on port {port}")
        added.append(name)
    return added


def ensure_imap_plain_login(client: JmapClient) -> bool:
    """Allow LOGIN on the plain (loopback-published) IMAP listener; True if it changed."""
    current = client.get("Imap", ["singleton"])
    if current and current[0].get("allowPlainTextAuth") is True:
        return False
    client.update("Imap", "singleton", {"allowPlainTextAuth": True},
                  "allowing IMAP logins on the loopback listener")
    return True


def dkim_selectors(client: JmapClient, dom_id: str) -> list[str]:
    ids = client.query("DkimSignature", {"domainId": dom_id})
    return [str(s.get("selector")) for s in client.get("DkimSignature", ids)] if ids else []


def dns_records(client: JmapClient, dom_id: str, domain: str) -> list[DnsRecord]:
    """The recommended DNS records (MX, SPF, DMARC, DKIM, SRV …) from ``dnsZoneFile``."""
    found = client.get("Domain", [dom_id], properties=["dnsZoneFile"])
    text = str((found or [{}])[0].get("dnsZoneFile") or "")
    if not text.strip():
        return []
    try:
        zone = dns.zone.from_text(f"$TTL 3600\n{text}", origin=f"{domain}.",
                                  relativize=False, check_origin=False)
    except dns.exception.DNSException as exc:
        raise MailHostError(f"Stalwart's DNS zone for {domain} is unreadable: {exc}") from exc
    records = []
    for name, node in zone.nodes.items():
        for rdataset in node.rdatasets:
            for rdata in rdataset:
                value = rdata.to_text()
                if rdataset.rdtype == dns.rdatatype.TXT:
                    value = "".join(s.decode() for s in rdata.strings)
                records.append(DnsRecord(name.to_text(omit_final_dot=True),
                                         dns.rdatatype.to_text(rdataset.rdtype), value,
                                         rdataset.ttl))
    return sorted(records, key=lambda r: (r.type, r.name))


def set_relay(client: JmapClient, *, host: str, port: int, username: str, secret: str,
              implicit_tls: bool) -> None:
    """Send all non-local mail through a smarthost (e.g. smtp.gmail.com:465)."""
    route = {"@type": "Relay", "address": host, "port": port, "implicitTls": implicit_tls,
             "protocol": "smtp", "authUsername": username,
             "authSecret": {"@type": "Value", "secret": secret}}
    ids = client.query("MtaRoute", {"name": RELAY_ROUTE})
    if ids:
        client.update("MtaRoute", ids[0], route, "updating the relay route")
    else:
        client.create("MtaRoute", {**route, "name": RELAY_ROUTE}, "adding the relay route")
    strategy = {"match": as_list([{"if": "is_local_domain(rcpt_domain)", "then": "'local'"}]),
                "else": f"'{RELAY_ROUTE}'"}
    client.update("MtaOutboundStrategy", "singleton", {"route": strategy},
                  "routing outbound mail through the relay")
    client.action("ReloadSettings")


def clear_relay(client: JmapClient) -> None:
    """Deliver directly again (MX) and remove the relay route."""
    client.update("MtaOutboundStrategy", "singleton", {"route": DEFAULT_STRATEGY},
                  "routing outbound mail directly")
    for rid in client.query("MtaRoute", {"name": RELAY_ROUTE}):
        client.destroy("MtaRoute", rid, "removing the relay route")
    client.action("ReloadSettings")
