"""Build outgoing MIME messages and parse stored ones.

* :func:`build_message` turns an :class:`OutgoingMail` into an ``EmailMessage`` (text and/or
  HTML as ``multipart/alternative``, attachments in ``multipart/mixed``, threading headers,
  a generated Message-ID). Bcc recipients are validated but never written to the headers.
* :func:`parse_message` turns raw RFC 5322 bytes into a :class:`ParsedMessage` using
  mail-parser, falling back to the stdlib parser; it never raises on malformed mail.
* :func:`get_attachment` returns one attachment's bytes by the index that
  :func:`parse_message` reported.
* :func:`thread_key` names the thread a message belongs to (its root Message-ID).
"""

from __future__ import annotations

import base64
import email
import email.policy
import functools
import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from email.utils import format_datetime, getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

import mailparser

from ..errors import InvalidRequest, NotFound
from ..models import Attachment, AttachmentInfo, OutgoingMail, ParsedMessage
from . import bounds
from .addresses import parse_address, validate_address
from .rfc2047 import decode_header_value

__all__ = [
    "build_message",
    "decode_header_value",
    "display_address",
    "get_attachment",
    "html_to_text",
    "make_message_id",
    "normalize_message_id",
    "parse_message",
    "parse_message_ids",
    "thread_key",
]

log = logging.getLogger(__name__)

_MEMO_SIZE = 1024
_MEMO_VALUE = 200


class _HeaderClasses(HeaderRegistry):
    """The email package's registry, with what it builds again and again made once:

    * each header class: its ``__getitem__`` builds a new class (``type(...)``) for every
      header set or read, about a tenth of the cost of building a message. The classes carry
      no state, so sharing them changes nothing;
    * the header objects of the last :data:`_MEMO_SIZE` text values up to
      :data:`_MEMO_VALUE` characters (``Content-Type: text/plain; charset="utf-8"``,
      ``MIME-Version``, ``Auto-Submitted``, this second's ``Date``, a repeated subject):
      parsing a value into its header object is most of the cost of setting it (a third of
      building a small message: 0.33 -> 0.24 ms). A header object is immutable (a ``str``
      with its parse tree, which folding only reads), so one serves every message with that
      value. Values given as objects (``Address``) are parsed each time, as before.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}
        self._parsed = functools.lru_cache(maxsize=_MEMO_SIZE)(super().__call__)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if type(value) is str and len(value) <= _MEMO_VALUE:
            return self._parsed(name, value)
        return super().__call__(name, value)

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._made.pop(name.lower(), None)
        self._parsed.cache_clear()

# SMTP policy (CRLF) that never emits 8bit bodies: non-ASCII text becomes QP/base64.
POLICY = email.policy.SMTP.clone(cte_type="7bit", header_factory=_HeaderClasses())

_STRUCTURAL_HEADERS = frozenset(
    h.lower()
    for h in (
        "From", "To", "Cc", "Bcc", "Message-ID", "Date", "MIME-Version", "Subject",
        "Reply-To", "In-Reply-To", "References", "Sender", "Return-Path", "Received",
        "DKIM-Signature", "Resent-From", "Resent-To", "Resent-Cc", "Resent-Bcc",
        "Resent-Date", "Resent-Message-ID", "Resent-Sender",
    )
)  # fmt: skip
_HEADER_NAME_RE = re.compile(r"^[!-9;-~]{1,76}$")  # RFC 5322 ftext
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control chars except TAB
_MSGID_RE = re.compile(r"<([^<>\s]+)>")
_CONTENT_TYPE_RE = re.compile(r"^([a-z0-9][a-z0-9!#$&^_.+-]*)/([a-z0-9][a-z0-9!#$&^_.+-]*)$")
_FILENAME_BAD_RE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_MAX_REFERENCES = 50
_TAG_RE = re.compile(r"<[^<>]*>")  # delimited by a class: linear, unlike <[^>]*>
_MAX_HTML_TAGS = 20_000  # as security.sanitize.MAX_HTML_TAGS


# --------------------------------------------------------------------------- message ids


def make_message_id(domain: str) -> str:
    """A fresh ``<uuid@domain>`` Message-ID."""
    return f"<{uuid.uuid4().hex}@{domain}>"


def normalize_message_id(value: str | None) -> str | None:
    """``"abc@x"`` / ``" <abc@x> "`` -> ``"<abc@x>"``; ``None`` for empty or unusable input."""
    if not value:
        return None
    match = _MSGID_RE.search(value)
    if match:
        return f"<{match.group(1)}>"
    token = value.strip()
    if not token or any(ch.isspace() or ch in "<>" for ch in token) or _CONTROL_RE.search(token):
        return None
    return f"<{token}>"


def parse_message_ids(value: str | None) -> tuple[str, ...]:
    """All ``<id>`` tokens in a References/In-Reply-To value, in order, without duplicates."""
    if not value:
        return ()
    seen: dict[str, None] = {}
    for match in _MSGID_RE.finditer(value):
        seen.setdefault(f"<{match.group(1)}>", None)
    if not seen:  # some clients omit the brackets
        for token in value.split():
            norm = normalize_message_id(token)
            if norm:
                seen.setdefault(norm, None)
    return tuple(seen)


def _require_msgid(value: str, what: str) -> str:
    if _CONTROL_RE.search(value):
        raise InvalidRequest(f"{what} may not contain line breaks or control characters")
    norm = normalize_message_id(value)
    if norm is None:
        raise InvalidRequest(f"{what} {value!r} is not a Message-ID like <id@host>")
    return norm


def thread_key(
    message_id: str | None, in_reply_to: str | None, references: Iterable[str] | str | None
) -> str:
    """The root Message-ID of the thread a message belongs to.

    The first entry of References is the thread root (RFC 5256); without References the
    parent (In-Reply-To) is used, and a message with neither starts its own thread. Returns
    ``""`` only when no id at all is known (the caller must then key the message otherwise).
    """
    refs = (
        parse_message_ids(references)
        if isinstance(references, str)
        else tuple(n for n in (normalize_message_id(r) for r in references or ()) if n)
    )
    if refs:
        return refs[0]
    return normalize_message_id(in_reply_to) or normalize_message_id(message_id) or ""


# --------------------------------------------------------------------------- building


def _address_obj(value: str) -> Address:
    display, addr = parse_address(value)
    local, domain = addr.rsplit("@", 1)
    return Address(display_name=display, username=local, domain=domain)


def _check_header_value(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"header {name!r} must be a string")
    if _CONTROL_RE.search(value):
        raise InvalidRequest(f"header {name!r} may not contain line breaks or control characters")
    return value


def _split_content_type(content_type: str, filename: str) -> tuple[str, str]:
    ctype = (content_type or "application/octet-stream").strip().lower().split(";", 1)[0]
    match = _CONTENT_TYPE_RE.match(ctype.strip())
    if not match:
        raise InvalidRequest(
            f"attachment {filename!r} has an invalid content type {content_type!r} "
            "(expected type/subtype, e.g. application/pdf)"
        )
    maintype, subtype = match.group(1), match.group(2)
    if maintype == "multipart" or (maintype, subtype) == ("message", "rfc822"):
        # Attached as opaque bytes; an .eml attachment keeps its type via the filename.
        return ("message", "rfc822") if maintype == "message" else ("application", "octet-stream")
    return maintype, subtype


def _safe_filename(name: str, index: int) -> str:
    cleaned = _FILENAME_BAD_RE.sub("_", (name or "").strip()).strip(" .")
    return cleaned[:200] or f"attachment-{index + 1}"


def _strip_part_mime_version(container: EmailMessage) -> None:
    """The stdlib stamps MIME-Version on each sub-part it creates; only the top needs it."""
    if container.get_content_maintype() != "multipart":
        return
    for part in container.iter_parts():
        if isinstance(part, EmailMessage):
            del part["MIME-Version"]
            _strip_part_mime_version(part)


def build_message(
    mail: OutgoingMail,
    *,
    from_addr: str,
    from_name: str | None,
    domain: str,
    message_id: str | None = None,
) -> tuple[EmailMessage, str]:
    """Build the MIME message for ``mail``; returns ``(message, message_id)``.

    ``mail.from_name`` (a per-message override) wins over ``from_name`` (the agent's default).
    Raises InvalidRequest for bad addresses, no recipients, a subject or header with line
    breaks, a custom header that would override a structural one, or a bad attachment type.
    """
    recipients = tuple(mail.to) + tuple(mail.cc) + tuple(mail.bcc)
    if not recipients:
        raise InvalidRequest("a message needs at least one recipient (to, cc or bcc)")
    for rcpt in mail.bcc:
        validate_address(rcpt)
    subject = _check_header_value("Subject", mail.subject or "")
    msg_id = _require_msgid(message_id, "message_id") if message_id else make_message_id(domain)

    headers: list[tuple[str, Any]] = []
    sender_name = mail.from_name if mail.from_name is not None else from_name
    if sender_name is not None:
        _check_header_value("From name", sender_name)
    local, _, from_domain = validate_address(from_addr).rpartition("@")
    headers.append(("From", Address(" ".join((sender_name or "").split()), local, from_domain)))
    if mail.to:
        headers.append(("To", [_address_obj(a) for a in mail.to]))
    if mail.cc:
        headers.append(("Cc", [_address_obj(a) for a in mail.cc]))
    if mail.reply_to:
        headers.append(("Reply-To", _address_obj(mail.reply_to)))
    headers.append(("Subject", subject))
    headers.append(("Date", format_datetime(datetime.now(UTC))))
    headers.append(("Message-ID", msg_id))
    refs = [_require_msgid(r, "references entry") for r in mail.references]
    if mail.in_reply_to:
        parent = _require_msgid(mail.in_reply_to, "in_reply_to")
        headers.append(("In-Reply-To", parent))
        if parent not in refs:
            refs.append(parent)
    if refs:
        refs = list(dict.fromkeys(refs))
        if len(refs) > _MAX_REFERENCES:  # keep the root and the most recent ancestors
            refs = refs[:1] + refs[-(_MAX_REFERENCES - 1) :]
        headers.append(("References", " ".join(refs)))
    for name, value in mail.headers:
        if not isinstance(name, str) or not _HEADER_NAME_RE.match(name):
            raise InvalidRequest(f"invalid header name {name!r}")
        lname = name.lower()
        if lname in _STRUCTURAL_HEADERS or lname.startswith("content-"):
            raise InvalidRequest(
                f"header {name!r} cannot be set directly; use the dedicated field instead"
            )
        headers.append((name, _check_header_value(name, value)))

    msg = EmailMessage(policy=POLICY)
    try:
        for name, value in headers:
            msg[name] = value
    except (ValueError, TypeError) as exc:  # defensive: the email package's own checks
        raise InvalidRequest(f"invalid header: {exc}") from exc

    # Body last: set_content/add_alternative/add_attachment only touch Content-* headers.
    text, html = mail.text, mail.html
    if text is not None and html is not None:
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(text or "")
    for index, att in enumerate(mail.attachments):
        filename = _safe_filename(att.filename, index)
        maintype, subtype = _split_content_type(att.content_type, filename)
        content = bytes(att.content)
        if (maintype, subtype) == ("message", "rfc822"):
            inner = email.message_from_bytes(content, policy=POLICY)
            msg.add_attachment(inner, filename=filename)
        else:
            msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    _strip_part_mime_version(msg)
    if "MIME-Version" not in msg:
        msg["MIME-Version"] = "1.0"
    return msg, msg_id


# --------------------------------------------------------------------------- parsing


class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"script", "style", "head", "title"})
    _BREAK = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _strip_tags(html: str) -> str:
    return " ".join(_TAG_RE.sub(" ", html).split())


def html_to_text(html: str) -> str:
    """A plain-text rendering of HTML for agents (tags dropped, scripts/styles skipped).
    Markup denser than :data:`_MAX_HTML_TAGS` tags only has its tags stripped (linear):
    ``HTMLParser`` is not linear on every malformed input."""
    if html.count("<") > _MAX_HTML_TAGS:
        return _strip_tags(html)
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is lenient; be safe anyway
        return _strip_tags(html)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def display_address(name: str, addr: str) -> str:
    """``Name <addr>`` for display (quoted when needed); ``addr`` or ``name`` if one is empty."""
    name = " ".join((name or "").split())
    if name and addr:
        if any(ch in name for ch in ',;<>"@()[]:\\'):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name} <{addr}>"
    return addr or name


def _addresses(message: Message, name: str) -> tuple[str, ...]:
    values = [decode_header_value(v) for v in message.get_all(name, [])]
    try:
        pairs = getaddresses(values)
    except Exception:
        return tuple(v for v in values if v)
    return tuple(d for d in (display_address(n, a) for n, a in pairs) if d)


def _iso_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def _headers_dict(message: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in message.items():
        decoded = decode_header_value(value)
        out[name] = f"{out[name]}\n{decoded}" if name in out else decoded
    return out


def _normalise_text(parts: Sequence[str]) -> str:
    return "\n".join(parts).replace("\r\n", "\n")


def _mailparser_parts(source: bytes | Message
                      ) -> tuple[str, str | None, list[Attachment], Message]:
    parsed = (mailparser.MailParser(source) if isinstance(source, Message)
              else mailparser.parse_from_bytes(source))
    text = _normalise_text(parsed.text_plain)
    html = _normalise_text(parsed.text_html) if parsed.text_html else None
    attachments: list[Attachment] = []
    for item in parsed.attachments:
        payload = item.get("payload") or ""
        if item.get("binary"):
            content = base64.b64decode(payload)
        else:
            content = payload.encode("utf-8", "surrogateescape")
        attachments.append(
            Attachment(
                filename=str(item.get("filename") or f"attachment-{len(attachments) + 1}"),
                content_type=str(item.get("mail_content_type") or "application/octet-stream"),
                content=content,
            )
        )
    if any(a.content_type.startswith("message/") for a in attachments):
        # mail-parser folds an attached message's text into the body; take the body from
        # the stdlib walk instead so forwarded content is not attributed to this sender.
        text, html, _, _ = _stdlib_parts(parsed.message)
    return text, html, attachments, parsed.message


def _part_bytes(part: Message) -> bytes:
    if part.is_multipart():  # an attached message/rfc822: the inner message itself
        inner = part.get_payload()
        if part.get_content_maintype() == "message" and isinstance(inner, list) and inner:
            first = inner[0]
            if isinstance(first, Message):
                return first.as_bytes()
        return part.as_bytes()
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _part_text(part: Message) -> str:
    data = _part_bytes(part)
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _stdlib_parts(source: bytes | Message) -> tuple[str, str | None, list[Attachment], Message]:
    # compat32 policy: lenient and lazily decoded
    message = email.message_from_bytes(source) if isinstance(source, bytes) else source
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []

    def walk(part: Message) -> None:
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
        if part.is_multipart() and disposition != "attachment" and ctype != "message/rfc822":
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    walk(sub)
            return
        if disposition != "attachment" and not filename and ctype in ("text/plain", "text/html"):
            (htmls if ctype == "text/html" else texts).append(_part_text(part))
            return
        name = decode_header_value(filename) if filename else ""
        attachments.append(
            Attachment(name or f"attachment-{len(attachments) + 1}", ctype, _part_bytes(part))
        )

    walk(message)
    return (
        _normalise_text(texts),
        _normalise_text(htmls) if htmls else None,
        attachments,
        message,
    )


def _extract(raw: bytes, message: Message | None = None
             ) -> tuple[str, str | None, list[Attachment], Message]:
    source: bytes | Message
    if message is not None:  # parsed already, within the bounds
        source = message
    elif bounds.check(raw) is not None:  # never hand the parsers a message over a bound
        source = raw = bounds.safe_copy(raw)
    else:
        source = raw
    try:
        return _mailparser_parts(source)
    except Exception as exc:
        log.debug("mail-parser failed (%s); falling back to the stdlib parser", exc)
    try:
        return _stdlib_parts(source)
    except Exception as exc:
        log.debug("stdlib parser failed too (%s); returning the raw text", exc)
    return raw.decode("utf-8", "replace"), None, [], Message()


def _flag_str(flag: Any) -> str:
    return flag.decode("utf-8", "replace") if isinstance(flag, bytes) else str(flag)


def parse_message(
    raw: bytes, *, uid: int, folder: str, flags: Iterable[str | bytes] = (),
    message: Message | None = None,
) -> ParsedMessage:
    """Parse raw message bytes into a :class:`ParsedMessage`; never raises on bad mail.

    ``date`` is ISO 8601 in UTC (``None`` when missing or unparseable); addresses render as
    ``Name <addr>``; ``text`` falls back to a rendering of the HTML part when there is no
    plain-text part; duplicate headers are joined with newlines in ``headers``. A message
    over a parsing bound (:mod:`.bounds`) is read from its stand-in: its first headers, cut
    short, and no body or attachments. ``message``: the stdlib (compat32) parse of ``raw``
    (of its stand-in when over a bound) made once at ingest
    (:func:`agenticmail.security.mime_view.read`), read here instead of parsing again.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise InvalidRequest("raw message must be bytes")
    raw = bytes(raw)
    text, html, attachments, message = _extract(raw, message)
    if not text.strip() and html:
        text = html_to_text(html)
    try:
        headers = _headers_dict(message)
        from_ = _addresses(message, "From")
        to = _addresses(message, "To")
        cc = _addresses(message, "Cc")
        reply_to = _addresses(message, "Reply-To")
        refs = parse_message_ids(decode_header_value(message.get("References")))
        irt_ids = parse_message_ids(decode_header_value(message.get("In-Reply-To")))
    except Exception as exc:  # pragma: no cover - defensive
        log.debug("header extraction failed: %s", exc)
        headers, from_, to, cc, reply_to, refs, irt_ids = {}, (), (), (), (), (), ()
    return ParsedMessage(
        uid=uid,
        folder=folder,
        message_id=normalize_message_id(decode_header_value(message.get("Message-ID"))),
        subject=decode_header_value(message.get("Subject")),
        from_=from_[0] if from_ else "",
        to=to,
        cc=cc,
        reply_to=reply_to,
        date=_iso_date(message.get("Date")),
        text=text,
        html=html,
        attachments=tuple(
            AttachmentInfo(i, a.filename, a.content_type, len(a.content))
            for i, a in enumerate(attachments)
        ),
        headers=headers,
        flags=tuple(_flag_str(f) for f in flags),
        in_reply_to=irt_ids[0] if irt_ids else None,
        references=refs,
        size=len(raw),
    )


def get_attachment(raw: bytes, index: int) -> Attachment:
    """Attachment number ``index`` (as listed by :func:`parse_message`); NotFound if absent."""
    attachments = _extract(bytes(raw))[2]
    if not isinstance(index, int) or isinstance(index, bool) or not (0 <= index < len(attachments)):
        raise NotFound(f"attachment {index} not found (message has {len(attachments)})")
    return attachments[index]
