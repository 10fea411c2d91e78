"""The DNS records domain mode needs: what setup writes and what ``domain status`` expects.

One list serves both, so setup and status never disagree: Email Routing's MX hosts (Cloudflare
publishes them; setup keeps what Email Routing created), SPF, the DKIM key under the
``agenticmail`` selector, DMARC with ``p=quarantine`` and reports to the daemon's ``rua``
address. The tunnel's hostname is a proxied CNAME to ``<tunnel id>.cfargotunnel.com``: public
DNS answers with Cloudflare's addresses for it, so it is checked through the API, not DNS.
"""

from __future__ import annotations

from dataclasses import dataclass

from .domain_config import DomainConfig

EMAIL_ROUTING_MX = (("route1.mx.cloudflare.net", 13), ("route2.mx.cloudflare.net", 86),
                    ("route3.mx.cloudflare.net", 24))
TUNNEL_TARGET = "{tunnel_id}.cfargotunnel.com"


@dataclass(frozen=True)
class ExpectedRecord:
    """One record: ``type`` (MX, TXT, CNAME), its full ``name``, its ``content`` (MX: the host;
    TXT: the text unquoted) and, for MX, its ``priority``. ``purpose`` says what it is for
    (``mx``, ``spf``, ``dkim``, ``dmarc``, ``tunnel``); ``proxied`` records are not visible in
    public DNS."""

    purpose: str
    type: str
    name: str
    content: str
    priority: int | None = None
    proxied: bool = False


def spf_text(config: DomainConfig) -> str:
    mechanisms = [f"include:{inc}" for inc in config.spf_includes]
    mechanisms += [(f"ip6:{ip}" if ":" in ip else f"ip4:{ip}") for ip in config.spf_ips]
    return " ".join(["v=spf1", *mechanisms, "~all"])


def dkim_name(config: DomainConfig) -> str:
    return f"{config.dkim_selector}._domainkey.{config.domain}"


def dkim_text(public_key: str) -> str:
    return f"v=DKIM1; k=rsa; p={public_key}"


def dmarc_text(config: DomainConfig) -> str:
    return f"v=DMARC1; p=quarantine; rua=mailto:{config.rua_address}"


def expected_records(config: DomainConfig) -> list[ExpectedRecord]:
    """Every record domain mode needs for ``config`` (DKIM once a key exists, the tunnel's
    CNAME once a tunnel exists)."""
    records = [ExpectedRecord("mx", "MX", config.domain, host, priority)
               for host, priority in EMAIL_ROUTING_MX]
    records.append(ExpectedRecord("spf", "TXT", config.domain, spf_text(config)))
    if config.dkim_public_key:
        records.append(ExpectedRecord("dkim", "TXT", dkim_name(config),
                                      dkim_text(config.dkim_public_key)))
    if config.rua_address:
        records.append(ExpectedRecord("dmarc", "TXT", f"_dmarc.{config.domain}",
                                      dmarc_text(config)))
    if config.tunnel_id and config.hostname:
        records.append(ExpectedRecord("tunnel", "CNAME", config.hostname,
                                      TUNNEL_TARGET.format(tunnel_id=config.tunnel_id),
                                      proxied=True))
    return records
