"""Is this message from a machine? (RFC 3834 ``Auto-Submitted``, bounces, bulk and no-reply
senders.) Agents should not answer such mail; the reader sees the flag and the reason."""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parseaddr

AUTOMATED_LOCALPARTS = frozenset({
    "mailer-daemon", "postmaster", "noreply", "no-reply", "no_reply", "donotreply",
    "do-not-reply", "do_not_reply", "bounce", "bounces", "notifications", "notification",
})
_AUTORESPONDER_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress")


def automated_reason(headers: Mapping[str, str], from_: str) -> str | None:
    """Why the message looks automated, or None when a person (or an agent) wrote it."""
    lowered = {k.lower(): str(v) for k, v in headers.items()}
    auto = lowered.get("auto-submitted", "").strip().lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    precedence = lowered.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in _AUTORESPONDER_HEADERS:
        if name in lowered:
            return f"{name} header"
    if "list-id" in lowered or "list-unsubscribe" in lowered:
        return "mailing-list message"
    address = parseaddr(from_)[1].lower()
    local = address.split("@", 1)[0].split("+", 1)[0]
    if not address or local in AUTOMATED_LOCALPARTS:
        return "bounce or no-reply sender" if address else "no sender address"
    if lowered.get("return-path", "").strip() == "<>":
        return "null return path (a bounce)"
    return None
