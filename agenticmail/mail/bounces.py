"""What a bounce or a complaint says: delivery status notifications read within bounds.

:func:`read_report` turns one parsed message into a :class:`Report` — which recipients failed,
hard or soft, the status code and the remote server's words, and the Message-IDs of the
original message it reports on — or None for anything that is not a machine's report.

- **RFC 3464** (``multipart/report; report-type=delivery-status``, and RFC 6533's
  ``global-delivery-status``): Postfix, modern Exim, Gmail, Outlook/Exchange, Stalwart and an
  MTA relaying a Dovecot LMTP refusal all write one; each per-recipient block gives
  ``Action``, ``Status``, ``Diagnostic-Code`` and ``Remote-MTA``; the original's Message-ID
  comes from the returned ``message/rfc822`` or ``text/rfc822-headers`` part.
- **ARF** (RFC 5965, ``report-type=feedback-report``): a complaint; the complainer is the
  ``Original-Rcpt-To`` (or the returned message's single ``To``).
- **Dovecot's rejection** (``report-type=disposition-notification`` with an automatic
  ``deleted`` disposition, RFC 8098); an ordinary read receipt is not a report here.
- **Non-standard bounces** (Exim's and qmail's plain-text notices, older Exchange…), only
  from a mailer daemon (null return path, ``MAILER-DAEMON``/``postmaster`` sender or
  Exim's ``X-Failed-Recipients``): the failed addresses come from ``flufl.bounce`` (Mailman's
  detectors); the status code and diagnostic are read from the text next to each address.

Classification: ``hard`` for a permanent failure (5.x.x), ``soft`` for a transient one (4.x.x,
or any ``delayed`` action) — except a full mailbox (X.2.2), which clears by itself and is
``soft`` whatever its class; ``complaint`` for an ARF report.

Bounded: the message passed :mod:`agenticmail.mail.bounds` before it got here; each part's
text is read up to :data:`MAX_TEXT` characters, at most :data:`MAX_RECIPIENTS` recipients are
reported, and the heuristic detectors see at most :data:`MAX_HEURISTIC_BYTES` of the message.
Pure: no I/O; never raises on malformed input (a detector's own error means "not a bounce").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, message_from_string, policy
from email.message import Message
from email.utils import getaddresses, parseaddr

from flufl.bounce import all_failures

from .mime import normalize_message_id, parse_message_ids

log = logging.getLogger(__name__)

HARD = "hard"
SOFT = "soft"
COMPLAINT = "complaint"

MAX_TEXT = 64 * 1024  # characters read from one text part
MAX_RECIPIENTS = 100
MAX_HEURISTIC_BYTES = 512 * 1024
MAX_DIAGNOSTIC = 500

MAILER_DAEMONS = frozenset({"mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon",
                            "postmaster", "mdaemon"})
_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
_HEADER_TYPES = ("text/rfc822-headers", "message/global-headers")
_ORIGINAL_TYPES = ("message/rfc822", "message/global")
_STATUS_RE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_MSGID_LINE_RE = re.compile(r"^message-id:[ \t]*(<[^<>\s]{1,250}>)", re.IGNORECASE | re.MULTILINE)
_WS_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class Failure:
    """One recipient the report is about."""

    address: str  # lower case
    kind: str  # hard | soft | complaint
    action: str  # failed | delayed | complained
    status: str | None = None  # the enhanced status code, e.g. "5.1.1"
    diagnostic: str | None = None  # the remote server's words (bounded)
    remote_mta: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"address": self.address, "kind": self.kind, "action": self.action,
                "status": self.status, "diagnostic": self.diagnostic,
                "remote_mta": self.remote_mta}


@dataclass(frozen=True)
class Report:
    """A bounce (``bounce``) or a complaint (``complaint``) about one original message."""

    type: str  # bounce | complaint
    format: str  # rfc3464 | arf | mdn-rejection | the flufl.bounce detector family
    failures: tuple[Failure, ...]
    original_ids: tuple[str, ...]  # Message-IDs the original may have, most certain first
    reporter: str | None = None  # Reporting-MTA / Reporting-UA


def kind_of(status: str | None, action: str) -> str:
    """``hard`` or ``soft`` for a recipient's ``action`` and enhanced ``status`` code."""
    if action == "delayed":
        return SOFT
    if status and status.split(".")[1:2] == ["2"] and status.split(".")[2:3] == ["2"]:
        return SOFT  # X.2.2 mailbox full: it clears by itself
    if status and status.startswith("4"):
        return SOFT
    return HARD


def _one_line(value: object, limit: int = MAX_DIAGNOSTIC) -> str | None:
    text = _WS_RE.sub(" ", str(value or "")).strip()
    return text[:limit] or None


def _typed(value: object) -> str:
    """``"rfc822; a@b"`` -> ``"a@b"``; ``"smtp; 550 …"`` -> ``"550 …"``."""
    text = str(value or "")
    kind, sep, rest = text.partition(";")
    return rest.strip() if sep and " " not in kind.strip() else text.strip()


def _address(value: object) -> str | None:
    address = parseaddr(_typed(value))[1].strip().lower()
    return address if "@" in address and len(address) <= 320 else None


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload[:MAX_TEXT * 4].decode(charset, "replace")[:MAX_TEXT]
        except LookupError:
            return payload[:MAX_TEXT * 4].decode("utf-8", "replace")[:MAX_TEXT]
    raw = part.get_payload()
    return raw[:MAX_TEXT] if isinstance(raw, str) else ""


def _walk(message: Message) -> Iterator[Message]:
    """The report's own parts: not the parts of a returned original."""
    yield message
    if message.get_content_type() in _ORIGINAL_TYPES:
        return
    payload = message.get_payload()
    if isinstance(payload, list):
        for part in payload:
            if isinstance(part, Message):
                yield from _walk(part)


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a delivery-status / feedback / disposition part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = _text(part).replace("\r\n", "\n")
    return [message_from_string(chunk.strip() + "\n", policy=policy.compat32)
            for chunk in re.split(r"\n[ \t]*\n", text) if chunk.strip()]


def _returned_headers(message: Message) -> Message | None:
    """The original message's headers as returned in the report, if any."""
    for part in _walk(message):
        ctype = part.get_content_type()
        if ctype in _ORIGINAL_TYPES:
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            return message_from_string(_text(part), policy=policy.compat32)
        if ctype in _HEADER_TYPES:
            return message_from_string(_text(part), policy=policy.compat32)
    return None


def _original_ids(message: Message, extra: tuple[str | None, ...] = ()) -> tuple[str, ...]:
    """Message-IDs the original may have: the returned headers' first, then what the report
    itself names (``X-Original-Message-ID``, ``Original-Message-ID``), then its own
    ``In-Reply-To``/``References``."""
    found: dict[str, None] = {}
    original = _returned_headers(message)
    if original is not None:
        mid = normalize_message_id(str(original.get("Message-ID") or ""))
        if mid:
            found[mid] = None
    for value in extra:
        mid = normalize_message_id(value)
        if mid:
            found.setdefault(mid, None)
    for name in ("In-Reply-To", "References"):
        for mid in parse_message_ids(str(message.get(name) or "")):
            found.setdefault(mid, None)
    return tuple(found)


def _delivery_status(message: Message) -> Report | None:
    failures: list[Failure] = []
    reporter: str | None = None
    extra: list[str | None] = []
    for part in _walk(message):
        if part.get_content_type() not in _DSN_TYPES:
            continue
        for block in _blocks(part):
            reporter = reporter or _one_line(_typed(block.get("Reporting-MTA")), 200)
            extra.append(str(block.get("X-Original-Message-ID") or "") or None)
            action = str(block.get("Action") or "").strip().lower()
            address = _address(block.get("Final-Recipient") or block.get("Original-Recipient"))
            if address is None or action not in ("failed", "delayed"):
                continue  # the per-message block, or a delivered / relayed / expanded one
            status_match = _STATUS_RE.search(str(block.get("Status") or ""))
            status = status_match.group(0) if status_match else None
            failures.append(Failure(
                address, kind_of(status, action), action, status,
                _one_line(_typed(block.get("Diagnostic-Code"))),
                _one_line(_typed(block.get("Remote-MTA")), 200)))
            if len(failures) >= MAX_RECIPIENTS:
                break
    if not failures:
        return None
    return Report("bounce", "rfc3464", tuple(failures), _original_ids(message, tuple(extra)),
                  reporter)


def _feedback(message: Message) -> Report | None:
    original = _returned_headers(message)
    for part in _walk(message):
        if part.get_content_type() != "message/feedback-report":
            continue
        for block in _blocks(part)[:1]:
            feedback = (_one_line(block.get("Feedback-Type"), 50) or "abuse").lower()
            rcpts = [a for a in (_address(v) for v in block.get_all("Original-Rcpt-To") or [])
                     if a]
            if not rcpts and original is not None:
                to = [a.lower() for _, a in getaddresses(original.get_all("To") or []) if a]
                rcpts = to if len(to) == 1 else []
            failures = tuple(Failure(a, COMPLAINT, "complained", None, f"feedback: {feedback}")
                             for a in dict.fromkeys(rcpts))
            if failures:
                reporter = _one_line(block.get("User-Agent"), 200)
                return Report("complaint", "arf", failures[:MAX_RECIPIENTS],
                              _original_ids(message), reporter)
    return None


def _rejection(message: Message) -> Report | None:
    """Dovecot's (and Sieve's) rejection: an automatic MDN whose disposition is ``deleted``."""
    for part in _walk(message):
        if part.get_content_type() != "message/disposition-notification":
            continue
        for block in _blocks(part)[:1]:
            disposition = str(block.get("Disposition") or "").lower()
            mode, _, kind = disposition.partition(";")
            if not mode.strip().startswith("automatic-action") or kind.strip() != "deleted":
                return None
            address = _address(block.get("Final-Recipient") or block.get("Original-Recipient"))
            if address is None:
                return None
            human = next((_text(p) for p in _walk(message)
                          if p.get_content_type() == "text/plain"), "")
            reason = human.partition("rejected:")[2] or human
            diagnostic = _one_line(reason)
            status = "4.2.2" if "quota" in (diagnostic or "").lower() else "5.7.1"
            failure = Failure(address, kind_of(status, "failed"), "failed", status, diagnostic)
            return Report("bounce", "mdn-rejection", (failure,),
                          _original_ids(message, (str(block.get("Original-Message-ID") or ""),)),
                          _one_line(_typed(block.get("Reporting-UA")), 200))
    return None


def from_mailer_daemon(message: Message) -> bool:
    """Whether the message says it is from a mail system (null return path, a mailer-daemon
    or postmaster sender, Exim's ``X-Failed-Recipients``) rather than from a person."""
    if str(message.get("Return-Path") or "").strip() == "<>":
        return True
    if message.get("X-Failed-Recipients") is not None:
        return True
    local = parseaddr(str(message.get("From") or ""))[1].split("@", 1)[0].lower()
    return local in MAILER_DAEMONS


def _context(text: str, address: str) -> tuple[str | None, str | None]:
    """The status code and diagnostic written next to ``address`` in a plain-text bounce."""
    at = text.lower().find(address)
    if at < 0:
        return None, None
    paragraph: list[str] = []
    for line in text[at:at + 600].splitlines()[:6]:  # up to the first blank line
        if not line.strip():
            break
        paragraph.append(line.strip())
    snippet = " ".join(paragraph)
    match = _STATUS_RE.search(snippet)
    return (match.group(0) if match else None), _one_line(snippet)


def _heuristic(message: Message, raw: bytes | None) -> Report | None:
    if not from_mailer_daemon(message):
        return None
    scanned = message
    if raw is not None and len(raw) > MAX_HEURISTIC_BYTES:
        scanned = message_from_bytes(raw[:MAX_HEURISTIC_BYTES], policy=policy.compat32)
    try:
        temporary, permanent = all_failures(scanned)
    except Exception as exc:  # a detector tripping over odd input: not a bounce we can read
        log.info("bounce detectors could not read a message: %s", exc)
        return None
    text = "\n".join(_text(p) for p in _walk(message) if p.get_content_type() == "text/plain")
    failures: list[Failure] = []
    for found, permanent_failure in ((permanent, True), (temporary, False)):
        for item in sorted(found):
            address = _address(item.decode("utf-8", "replace") if isinstance(item, bytes)
                               else str(item))
            if address is None or any(f.address == address for f in failures):
                continue
            status, diagnostic = _context(text, address)
            action = "failed" if permanent_failure else "delayed"
            kind = kind_of(status, action) if status else (HARD if permanent_failure else SOFT)
            failures.append(Failure(address, kind, action, status, diagnostic))
    if not failures:
        return None
    ids = dict.fromkeys(_original_ids(message))
    for match in _MSGID_LINE_RE.finditer(text):
        ids.setdefault(match.group(1), None)
    return Report("bounce", "heuristic", tuple(failures[:MAX_RECIPIENTS]), tuple(ids), None)


def read_report(message: Message, raw: bytes | None = None) -> Report | None:
    """The bounce or complaint ``message`` carries, or None when it is not one.

    ``raw`` (the message's bytes, when known) lets a large non-standard bounce be scanned
    from its first :data:`MAX_HEURISTIC_BYTES` only."""
    if message.get_content_type() == "multipart/report":
        report_type = str(message.get_param("report-type") or "").lower()
        if report_type in ("delivery-status", "global-delivery-status"):
            return _delivery_status(message)
        if report_type == "feedback-report":
            return _feedback(message)
        if report_type == "disposition-notification":
            return _rejection(message) if from_mailer_daemon(message) else None
    return _heuristic(message, raw)
