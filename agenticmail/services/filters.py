"""The filters run on one message outside the daemon (``agenticmail filter``): the inbound
verdict, the sanitiser and the outbound guard, each as its JSON-ready result. No store, no
mail host: the same functions the daemon's pipeline uses, on bytes the caller read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..security import sanitize, score

if TYPE_CHECKING:
    from ..security.outbound import ScanResult


def verdict(raw: bytes, local_domains: frozenset[str]) -> dict[str, Any]:
    """The spam/threat verdict (no mail is internal here: that takes the origin stamp)."""
    return score(raw, local_domains=local_domains).to_dict()


def sanitized(raw: bytes) -> dict[str, Any]:
    """Model-safe text and HTML, with what was removed."""
    return sanitize(raw).to_dict()


def outbound_scan(raw: bytes) -> ScanResult:
    """What the outbound guard finds (masked previews) and whether it would hold the mail."""
    from ..security.outbound import scan_message  # only ``filter scan`` pays for the DLP rules

    return scan_message(raw)
