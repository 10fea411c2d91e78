"""Attachment and link advisory: what a reader (human or agent) should be warned about.

Each attachment and link gets a risk level (``critical`` > ``high`` > ``medium``, or None)
with short reasons; :class:`Advisory` carries the worst level. The per-item checks here are
also what the scorer's attachment and link rules use, so both always agree.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit

from agenticmail.models import AttachmentInfo
from agenticmail.security import patterns as P
from agenticmail.security import phishing as PH
from agenticmail.security.mime_view import InboundMessage, Link, parse

RISK_ORDER = ("critical", "high", "medium")
_MACRO_EXT = frozenset(["docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppam", "sldm"])
_EXE_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-ms-installer",
        "application/x-executable",
        "application/x-dosexec",
        "application/x-sh",
        "application/hta",
        "application/x-msi",
        "application/vnd.microsoft.portable-executable",
        "application/java-archive",
    }
)


@dataclass(frozen=True)
class ItemAdvice:
    """Risk of one attachment (``name`` = file name) or link (``name`` = href)."""

    name: str
    risk: str | None
    reasons: tuple[str, ...] = ()
    detail: str = ""  # content type of an attachment, visible text of a link

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "risk": self.risk,
            "reasons": list(self.reasons),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Advisory:
    """Worst risk level and the risky attachments/links (items without risk are left out)."""

    level: str | None
    attachments: tuple[ItemAdvice, ...] = ()
    links: tuple[ItemAdvice, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "level": self.level,
            "attachments": [a.to_dict() for a in self.attachments],
            "links": [lk.to_dict() for lk in self.links],
        }


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].strip().lower() if "." in name else ""


def is_double_extension(name: str) -> bool:
    """invoice.pdf.exe, 'photo.jpg      .scr', or a right-to-left override in the name."""
    if any(ch in name for ch in "\u202e\u202d\u2066\u2067\u2068"):
        return True
    parts = [p.strip() for p in name.lower().split(".")]
    return len(parts) >= 3 and parts[-1] in P.EXECUTABLE_EXT and parts[-2] in P.DOCUMENT_EXT


def attachment_reasons(att: AttachmentInfo) -> list[tuple[str, str]]:
    """(reason, risk) pairs for one attachment; reasons are stable identifiers."""
    ext = extension(att.filename)
    found: list[tuple[str, str]] = []
    if is_double_extension(att.filename):
        found.append(("double_extension", "critical"))
    if ext in P.EXECUTABLE_EXT or att.content_type.lower() in _EXE_TYPES:
        found.append(("executable", "critical"))
    if ext in P.ARCHIVE_EXT:
        found.append(("archive", "high"))
    if ext in P.HTML_EXT or att.content_type.lower() in ("text/html", "image/svg+xml"):
        found.append(("html_or_svg", "high"))
    if ext in _MACRO_EXT:
        found.append(("macro_document", "high"))
    return found


@functools.lru_cache(maxsize=4096)
def link_host(href: str) -> str:
    """The lower-case host of a link ("" when it has none); pure, so cached: the rules ask
    for each link's host several times."""
    href = href.strip()
    if href.lower().startswith("www."):
        href = "http://" + href
    try:
        return (urlsplit(href).hostname or "").lower().strip(".")
    except ValueError:
        return ""


def _mixed_script(host: str) -> bool:
    scripts = set()
    for ch in host:
        if ch.isalpha():
            try:
                scripts.add(unicodedata.name(ch).split(" ")[0])
            except ValueError:
                continue
    return len(scripts) > 1


def is_lookalike_domain(domain: str) -> bool:
    """Punycode label or letters from more than one script."""
    return any(label.startswith("xn--") for label in domain.split(".")) or _mixed_script(domain)


def brand_in_foreign_subdomain(host: str) -> bool:
    """paypal.com.login.example or secure-paypal.example.net: a listed brand's own domain name
    (or a hyphenated brand label) inside someone else's domain
    (:func:`.phishing.brand_in_subdomain`)."""
    return PH.brand_in_subdomain(host) is not None


def text_domain_mismatch(link: Link) -> bool:
    """The visible text is a domain/URL whose registrable domain differs from the href's."""
    if not link.text:
        return False
    shown = P.HOSTNAME_LIKE.match(P.utf8(link.text.strip()))
    real = link_host(link.href)
    return bool(shown and real) and P.registrable_domain(
        shown.group(1).decode()) != P.registrable_domain(real)


@functools.lru_cache(maxsize=4096)
def _host_reasons(host: str) -> tuple[tuple[str, str], ...]:
    """The reasons a link's host alone gives (pure, so each host is judged once: a message's
    links and a day's mail share few hosts)."""
    found: list[tuple[str, str]] = []
    if P.IPV4_HOST.match(host):
        found.append(("ip_address", "high"))
    if host in P.URL_SHORTENERS:
        found.append(("url_shortener", "medium"))
    if len(host.split(".")) >= 6 or brand_in_foreign_subdomain(host):
        found.append(("deep_subdomain", "high"))
    if is_lookalike_domain(host) or PH.lookalike(host):
        found.append(("lookalike_domain", "high"))
    return tuple(found)


def link_reasons(link: Link) -> list[tuple[str, str]]:
    """(reason, risk) pairs for one link; reasons are stable identifiers."""
    found: list[tuple[str, str]] = []
    href = P.utf8(link.href)  # matched as bytes (see patterns.utf8)
    if P.SCRIPT_URI.match(href):
        found.append(("script_uri", "critical"))
        return found
    if PH.unsafe_scheme(link.href):
        found.append(("data_or_blob_uri", "critical"))
        return found
    host = link_host(link.href)
    if not host:
        return found
    found.extend(_host_reasons(host))
    if PH.redirect_target(link.href):
        found.append(("redirector", "medium"))
    if P.EXFIL_HOST_RE.search(href):
        found.append(("exfiltration_endpoint", "high"))
    if text_domain_mismatch(link):
        found.append(("text_href_mismatch", "high"))
    return found


def _worst(risks: list[str]) -> str | None:
    return min(risks, key=RISK_ORDER.index) if risks else None


def advise(raw: bytes | Message | InboundMessage) -> Advisory:
    """Advisory for every risky attachment and link of a message; never raises."""
    try:
        view = parse(raw)
    except Exception:
        return Advisory(None)
    atts: list[ItemAdvice] = []
    for att in view.attachments:
        found = attachment_reasons(att)
        if found:
            atts.append(
                ItemAdvice(
                    att.filename,
                    _worst([r for _, r in found]),
                    tuple(n for n, _ in found),
                    att.content_type,
                )
            )
    links: list[ItemAdvice] = []
    seen: set[tuple[str, str]] = set()
    for link in view.links:
        if (link.href, link.text) in seen:
            continue
        seen.add((link.href, link.text))
        found = link_reasons(link)
        if found:
            links.append(
                ItemAdvice(
                    link.href, _worst([r for _, r in found]), tuple(n for n, _ in found), link.text
                )
            )
    level = _worst([a.risk for a in atts if a.risk] + [lk.risk for lk in links if lk.risk])
    return Advisory(level, tuple(atts), tuple(links))
