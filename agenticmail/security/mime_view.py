"""Parse an inbound message once into a :class:`MessageView` for the security rules.

This is the security layer's small facade over :mod:`email`: it accepts raw bytes or an
already parsed :class:`email.message.Message` / :class:`~email.message.EmailMessage` and
returns plain decoded data (headers, text, HTML, visible-or-not HTML text, links,
attachments). It never raises on malformed input: every header, part and charset is
decoded defensively and whatever cannot be read is skipped.

:func:`read` parses a message ONCE into an :class:`InboundMessage` (its bytes, the one
stdlib parse and the view): the ingest pipeline builds one per message and hands it to the
sanitiser, the scorer, the advisory, the authentication checks and the index
(:func:`agenticmail.mail.mime.parse_message` takes its ``message``). Every function here
that takes bytes or a Message takes an :class:`InboundMessage` too and reuses its parse.

All extraction here is linear time: substitutions use stdlib ``re`` patterns whose
quantifiers are delimited by a character class (so no backtracking explosion), detection
uses RE2 (:mod:`agenticmail.security.patterns`), and every collection is capped.
"""

from __future__ import annotations

import codecs
import contextlib
import email
import html as html_lib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.utils import getaddresses, parseaddr

from agenticmail.mail import bounds
from agenticmail.mail.addresses import domain_of
from agenticmail.mail.rfc2047 import decode_header_value
from agenticmail.models import AttachmentInfo
from agenticmail.security import patterns as P
from agenticmail.security.respelling import respell

MAX_PART_BYTES = 2 * 1024 * 1024  # decoded bytes read from one MIME part
MAX_TEXT_CHARS = 2 * 1024 * 1024  # total text/HTML kept per message
MAX_LINKS = 500
MAX_PARTS = 500

TAG_RE = re.compile(r"<[^<>]*>")
_WS = re.compile(r"[ \t\r\f\v]{2,}|[\t\r\f\v]")
_BLANKS = re.compile(r"\n[ \t\r\f\v\n]*\n")


@dataclass(frozen=True)
class Link:
    """One link: its target and the text a reader sees ("" for a bare URL in text)."""

    href: str
    text: str = ""


@dataclass(frozen=True)
class MessageView:
    """Decoded, capped view of one message (see module docstring)."""

    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    subject: str = ""
    from_name: str = ""
    from_addr: str = ""
    text: str = ""
    html: str = ""
    html_text: str = ""
    links: tuple[Link, ...] = ()
    attachments: tuple[AttachmentInfo, ...] = ()  # the non-body parts, numbered in order

    def header(self, name: str) -> str:
        """First decoded value of header ``name`` ("" when absent)."""
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    def has_header(self, name: str) -> bool:
        return name.lower() in self.headers

    @property
    def from_domain(self) -> str:
        return domain_of(self.from_addr, validate=False)

    @property
    def body_text(self) -> str:
        """Everything a model could be shown: plain parts and all text of the HTML parts."""
        if self.text and self.html_text:
            return self.text + "\n" + self.html_text
        return self.text or self.html_text

    def address_domains(self, name: str) -> tuple[str, ...]:
        """Domains of every address in header ``name`` (lower case)."""
        values = self.headers.get(name.lower(), ())
        try:
            pairs = getaddresses(list(values))
        except Exception:
            return ()
        return tuple(d for d in (domain_of(a, validate=False) for _, a in pairs) if d)


@dataclass(frozen=True)
class InboundMessage:
    """One inbound message, parsed once: what every later step of the pipeline shares."""

    raw: bytes | None  # the bytes as received (DKIM, the origin stamp); None: given a Message
    message: Message  # the one stdlib parse (compat32) of ``raw`` or of its bounded stand-in
    view: MessageView
    exceeded: bounds.Exceeded | None = None  # the parsing bound ``raw`` is over, if any
    failed: bool = False  # the parser gave up: ``message`` and ``view`` are empty


Source = bytes | bytearray | memoryview | Message | InboundMessage


def read(source: Source, *, bounded: bool = False) -> InboundMessage:
    """Parse ``source`` once (an :class:`InboundMessage` is passed through); never raises.

    ``bounded``: a message over a parsing bound (:func:`agenticmail.mail.bounds.check`) is
    read from its stand-in (:func:`~agenticmail.mail.bounds.safe_copy`), never whole, and
    ``exceeded`` says which bound it is over."""
    if isinstance(source, InboundMessage):
        return source
    if isinstance(source, Message):
        return InboundMessage(None, source, _view(source))
    raw = bytes(source)
    exceeded = bounds.check(raw) if bounded else None
    try:
        message = email.message_from_bytes(bounds.safe_copy(raw) if exceeded else raw,
                                           policy=policy.compat32)
    except Exception:
        return InboundMessage(raw, Message(), MessageView(), exceeded, failed=True)
    return InboundMessage(raw, message, _view(message), exceeded)


def to_message(raw: Source) -> Message:
    """Parse bytes (compat32 policy: tolerant, lazy-free); pass a Message through."""
    if isinstance(raw, InboundMessage):
        return raw.message
    if isinstance(raw, Message):
        return raw
    return email.message_from_bytes(bytes(raw), policy=policy.compat32)


def _charset_text(payload: bytes, charset: str | None) -> str:
    name = (charset or "utf-8").strip().strip('"').lower() or "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        name = "utf-8"
    try:
        return payload.decode(name, "replace")
    except Exception:
        return payload.decode("latin-1")


def part_text(part: Message, limit: int = MAX_PART_BYTES) -> str:
    """Decoded text of a leaf part (its first ``limit`` bytes); "" when unreadable."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        return ""
    if not isinstance(payload, bytes):
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return _charset_text(payload[:limit], charset)


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if not name:
        try:
            name = str(part.get_param("name") or "")
        except Exception:
            name = ""
    return decode_header_value(name, squeeze=False).strip() if name else ""


def _payload_size(part: Message) -> int:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        return 0
    return len(payload) if isinstance(payload, bytes) else 0


def iter_leaf_parts(msg: Message) -> list[tuple[Message, str, str, bool]]:
    """(part, content type, filename, is_body) for the first :data:`MAX_PARTS` leaves."""
    leaves: list[tuple[Message, str, str, bool]] = []
    try:
        walker = msg.walk()
        for part in itertools.islice(walker, MAX_PARTS):
            if part.is_multipart():
                continue
            try:
                ctype = part.get_content_type()
            except Exception:
                ctype = "application/octet-stream"
            try:
                disposition = part.get_content_disposition() or ""
            except Exception:
                disposition = ""
            filename = _filename(part)
            is_body = (
                ctype in ("text/plain", "text/html")
                and disposition != "attachment"
                and not filename
            )
            leaves.append((part, ctype, filename, is_body))
    except Exception:
        pass
    return leaves


def drop_blocks(html: str, tags: tuple[str, ...] = ("script", "style")) -> str:
    """Remove ``<script>``/``<style>`` elements with their content, in linear time."""
    low = html.replace("\u0130", "i").lower()  # length-preserving lower case
    out: list[str] = []
    i = 0
    nxt = {t: low.find("<" + t, 0) for t in tags}
    while True:
        live = [(pos, t) for t, pos in nxt.items() if pos >= 0]
        if not live:
            out.append(html[i:])
            break
        pos, tag = min(live)
        out.append(html[i:pos])
        close = low.find("</" + tag, pos)
        if close < 0:
            break  # unclosed raw-text element: the rest is its content
        end = low.find(">", close)
        i = len(html) if end < 0 else end + 1
        for t in tags:
            if 0 <= nxt[t] < i:
                nxt[t] = low.find("<" + t, i)
    return "".join(out)


def html_to_text(html: str) -> str:
    """All text of an HTML document including hidden text and comments (not scripts/CSS)."""
    body = drop_blocks(html[:MAX_TEXT_CHARS])
    body = body.replace("<!--", " ").replace("-->", " ")
    body = TAG_RE.sub(" ", body)
    with contextlib.suppress(Exception):
        body = html_lib.unescape(body)
    return tidy_text(body)


RAWTEXT_TAGS = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"}
)
_NAME = re.compile(r"[^\s/>]*")
_ATTR = re.compile(
    r"""[\s/]*([^\s/>][^\s"'>/=]*)(?:\s*=\s*(?:"([^"]*)(")?|'([^']*)(')?|([^\s>]*)))?"""
)
_ATTR_END = re.compile(r"[\s/]*(/?)>")
_TAG_OPENER = re.compile(r"<[A-Za-z!?/]")
MAX_ATTRIBUTES = 256

Token = tuple[str, str, list[tuple[str, str]], bool]
"""(kind, name or text, attributes, self-closing); kind is start, end, text, rawtext, comment."""


def tokenize(html: str) -> Iterator[Token]:
    """Tokenise HTML the way a browser does, closely enough for hiding decisions.

    Linear time: every step advances with ``str.find`` or an anchored match of a pattern
    without nested repeats. Unclosed comments, raw-text elements and quoted attribute
    values run to the end of the input, as in HTML5 (so hidden text cannot "escape" them).
    Attribute values are returned entity-decoded.
    """
    low = html.replace("\u0130", "i").lower()
    n = len(html)
    i = 0
    while i < n:
        j = html.find("<", i)
        if j < 0:
            yield ("text", html[i:], [], False)
            return
        if j > i:
            yield ("text", html[i:j], [], False)
        nxt = html[j + 1 : j + 2]
        if html.startswith("<!--", j):
            if html.startswith("<!-->", j) or html.startswith("<!--->", j):
                i = html.find(">", j + 2) + 1
                continue
            end = html.find("-->", j + 4)
            yield ("comment", html[j + 4 : n if end < 0 else end], [], False)
            i = n if end < 0 else end + 3
            continue
        if nxt in ("!", "?") or (nxt == "/" and not html[j + 2 : j + 3].isalpha()):
            end = html.find(">", j)  # doctype, processing instruction or bogus comment
            yield ("comment", html[j + 2 : n if end < 0 else end], [], False)
            i = n if end < 0 else end + 1
            continue
        closing = nxt == "/"
        start = j + (2 if closing else 1)
        if not html[start : start + 1].isalpha():
            opener = _TAG_OPENER.search(html, j + 1)
            stop = opener.start() if opener else n
            yield ("text", html[j:stop], [], False)
            i = stop
            continue
        m = _NAME.match(low, start)
        name = m.group(0) if m else ""
        pos = m.end() if m else start
        if closing:
            end = html.find(">", pos)
            yield ("end", name, [], False)
            i = n if end < 0 else end + 1
            continue
        attrs: list[tuple[str, str]] = []
        self_closing = False
        while True:
            if len(attrs) >= MAX_ATTRIBUTES:  # pathological tag: skip the rest of it
                end = html.find(">", pos)
                pos = n if end < 0 else end + 1
                break
            e = _ATTR_END.match(html, pos)
            if e:
                self_closing = bool(e.group(1))
                pos = e.end()
                break
            a = _ATTR.match(html, pos)
            if not a or a.end() == pos:
                pos = n
                break
            dq, sq = a.group(2) is not None, a.group(4) is not None
            if (dq and not a.group(3)) or (sq and not a.group(5)):
                return  # quoted value never closed: the tag runs to EOF and is dropped
            value = a.group(2) if dq else a.group(4) if sq else (a.group(6) or "")
            attrs.append((a.group(1).lower(), html_lib.unescape(value)))
            pos = a.end()
        if pos >= n and not html.endswith(">"):
            return  # EOF inside a tag: browsers drop it
        yield ("start", name, attrs, self_closing)
        i = pos
        if name in RAWTEXT_TAGS:
            close = low.find("</" + name, i)
            yield ("rawtext", html[i : n if close < 0 else close], [], False)
            if close < 0:
                return
            end = html.find(">", close)
            yield ("end", name, [], False)
            i = n if end < 0 else end + 1


def tidy_text(text: str) -> str:
    """Collapse horizontal whitespace and blank-line runs."""
    return _BLANKS.sub("\n\n", _WS.sub(" ", text)).strip()


def extract_links(html: str, text: str) -> tuple[Link, ...]:
    """Anchors of the HTML (href + visible text) then bare URLs of the plain text."""
    links: list[Link] = []
    if html:
        for m in itertools.islice(P.ANCHOR.finditer(P.utf8(html[:MAX_TEXT_CHARS])), MAX_LINKS):
            href = (m.group(1) or m.group(2) or m.group(3) or b"").decode()
            label = (m.group(4) or b"").decode()
            links.append(Link(html_lib.unescape(href).strip(),
                              tidy_text(html_lib.unescape(TAG_RE.sub(" ", label)))))
    if text and len(links) < MAX_LINKS:
        for m in itertools.islice(
            P.BARE_URL.finditer(P.utf8(text[:MAX_TEXT_CHARS])), MAX_LINKS - len(links)
        ):
            links.append(Link(m.group(0).decode().rstrip(".,;:!?"), ""))
    return tuple(links)


def parse(raw: Source) -> MessageView:
    """Build the :class:`MessageView` (an :class:`InboundMessage`'s own); never raises on
    malformed input."""
    if isinstance(raw, InboundMessage):
        return raw.view
    try:
        msg = to_message(raw)
    except Exception:
        return MessageView()
    return _view(msg)


def _view(msg: Message) -> MessageView:
    headers: dict[str, list[str]] = {}
    try:
        for name, value in itertools.islice(msg.raw_items(), 1000):
            headers.setdefault(str(name).strip().lower(), []).append(
                decode_header_value(value, squeeze=False))
    except Exception:
        pass
    frozen = {k: tuple(v) for k, v in headers.items()}
    from_raw = frozen.get("from", ("",))[0]
    try:
        from_name, from_addr = parseaddr(from_raw)
    except Exception:
        from_name, from_addr = "", ""
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[AttachmentInfo] = []
    budget = MAX_TEXT_CHARS
    for part, ctype, filename, is_body in iter_leaf_parts(msg):
        if is_body and budget > 0:
            content = part_text(part)[:budget]
            budget -= len(content)
            (htmls if ctype == "text/html" else texts).append(content)
        elif not is_body:
            attachments.append(
                AttachmentInfo(len(attachments), filename, ctype, _payload_size(part)))
    text = "\n".join(texts)
    html = "\n".join(htmls)
    return MessageView(
        headers=frozen,
        subject=frozen.get("subject", ("",))[0],
        from_name=from_name.strip(),
        from_addr=from_addr.strip(),
        text=text,
        html=html,
        html_text=html_to_text(html) if html else "",
        links=extract_links(html, text),
        attachments=tuple(attachments),
    )


# RE2 where the classes are ASCII (same matches as ``re``; a linear scan instead of a retry at
# every position of every long word)
_B64 = P.compile_re2(r"[A-Za-z0-9+/]{16,}={0,2}")
_B32 = P.compile_re2(r"[A-Z2-7]{24,}=*")
_HEX = P.compile_re2(r"(?:[0-9a-fA-F]{2}){12,}")
_BINARY = P.compile_re2(r"(?:[01]{8}[ ]?){8,}")
_ASCII85 = re.compile(r"<~([!-u\s]{10,}?)~>")
_MORSE = P.compile_re2(r"(?:[.-]{1,7}[ ]{1,3}(?:/[ ]{1,3})?){8,}[.-]{1,7}")
_MORSE_CODES = (
    ".- -... -.-. -.. . ..-. --. .... .. .--- -.- .-.. -- -. --- .--. --.- .-. ... - ..- ...- "
    ".-- -..- -.-- --.. ----- .---- ..--- ...-- ....- ..... -.... --... ---.. ----."
)
_MORSE_TABLE = dict(zip(_MORSE_CODES.split(), "abcdefghijklmnopqrstuvwxyz0123456789", strict=True))
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_SPACED = re.compile(r"\b(?:[A-Za-z] ){3,}[A-Za-z]\b")
_MAYBE_SPACED = P.compile_re2(r"(?:[A-Za-z] ){3,}[A-Za-z]")  # in every _SPACED match: a quick test
MAX_DEOBFUSCATE_CHARS = 32_000
_LEET_BYTES = bytes.maketrans(b"013457@$", b"oieastas")
_ROT13_BYTES = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                               b"NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm")


def _translate(text: str, ascii_table: bytes) -> str:
    """``text`` with its ASCII characters mapped by ``ascii_table`` (which maps ASCII to ASCII)
    and every other character kept: the UTF-8 bytes translated, as UTF-8 writes every other
    character with bytes >= 0x80 only (no dictionary lookup per character)."""
    return text.encode("utf-8", "surrogatepass").translate(ascii_table).decode(
        "utf-8", "surrogatepass")


def _printable(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    ok = sum(ch.isprintable() or ch.isspace() for ch in text)
    return text if text and ok / len(text) > 0.9 else ""


def deobfuscate(text: str) -> str:
    """Alternative readings of ``text`` that hide instructions from plain matching.

    Returns the decoded base64/base32/hex/binary blocks, URL- and ``\\uXXXX``-unescaped,
    letter-spaced, leetspeak, reversed and rot13 readings, and the attack words' misspellings
    respelled (:func:`.respelling.respell`), joined by newlines (capped).
    """
    import base64
    from urllib.parse import unquote

    text = text[:MAX_DEOBFUSCATE_CHARS]
    data = P.utf8(text)  # the RE2 scans below match ASCII only: their groups decode as ASCII
    views: list[str] = []
    for m in itertools.islice(_B64.finditer(data), 50):
        chunk = m.group(0).decode()
        with contextlib.suppress(ValueError):
            views.append(_printable(base64.b64decode(chunk + "=" * (-len(chunk) % 4))))
    for m in itertools.islice(_B32.finditer(data), 20):
        chunk = m.group(0).decode()
        with contextlib.suppress(ValueError):
            views.append(_printable(base64.b32decode(chunk + "=" * (-len(chunk) % 8))))
    for m in itertools.islice(_HEX.finditer(data), 20):
        with contextlib.suppress(ValueError):
            views.append(_printable(bytes.fromhex(m.group(0).decode())))
    for m in itertools.islice(_BINARY.finditer(data), 20):
        bits = m.group(0).decode().replace(" ", "")
        views.append(_printable(bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits) - 7, 8))))
    for m in itertools.islice(_ASCII85.finditer(text), 20):
        with contextlib.suppress(ValueError):
            views.append(_printable(base64.a85decode(m.group(1), ignorechars=b" \t\r\n")))
    for m in itertools.islice(_MORSE.finditer(data), 20):
        words = m.group(0).decode().split("/")
        views.append(" ".join("".join(_MORSE_TABLE.get(c, "") for c in w.split()) for w in words))
    if text.count("%") >= 5:
        views.append(unquote(text))
    if "\\u" in text:
        views.append(_UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))
    spaced = _MAYBE_SPACED.search(data) is not None  # _SPACED (stdlib) only when it can match
    views.append(_SPACED.sub(lambda m: m.group(0).replace(" ", ""), text) if spaced else text)
    views.append(_translate(text, _LEET_BYTES))
    views.append(text[::-1])
    views.append(_translate(text, _ROT13_BYTES))
    views.append(respell(text))
    return "\n".join(v for v in views if v)
