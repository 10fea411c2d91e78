"""Reply-based approval: is an inbound message the owner's genuine answer to a notification?

When the outbound guard holds a message, the owner is e-mailed a notification carrying a
one-time code. :func:`decide` looks at an inbound message and returns a
:class:`ReplyDecision`: ``approve``, ``reject``, or ``None`` (not an approval reply, ignore it)
with a precise reason. The peer product accepted a reply on a From match alone; From is
trivially forged, so here *every* rule below must hold:

1. **Threading.** ``In-Reply-To`` or ``References`` contains the notification's Message-ID
   (angle brackets optional, compared case-insensitively).
2. **Sender.** Exactly one ``From`` header holding exactly one address, equal to the owner's
   (case-insensitive; the display name is ignored, the raw undecoded header is parsed so an
   RFC 2047 word cannot smuggle an address in). A ``Sender`` other than the owner, and mail
   marked ``Auto-Submitted`` (autoresponders), are refused.
3. **Authentication** (``Authentication-Results``, RFC 8601, read by
   :func:`agenticmail.security.authresults.parse_auth_results` plus the domain-aware
   :func:`auth_result_details` below, because :class:`AuthVerdicts` keeps only the result
   words, not the DKIM ``header.d`` / DMARC ``header.from`` domains that alignment needs):

   * required: a ``dkim=pass`` whose signing domain (``header.d``, else the domain of
     ``header.i``) is *aligned* with the owner's domain (relaxed: same organisational
     domain), or a ``dmarc=pass`` for the owner's domain (``header.from`` equal to it, or
     absent: the result then describes this message's single From, which is the owner);
   * forged: a ``dmarc=fail``, or a ``dkim=fail`` for an aligned (or unnamed) domain, in any
     trusted header — the reply is ignored even when another result passes.
   * which headers count: anyone can write ``Authentication-Results`` headers into the
     message they send, and they end up *below* the one the receiving server prepends. With
     ``trusted_authserv_ids`` only headers stamped with one of those ids are read: failures
     from any of them, passes from the topmost of them only (a forged header carrying our
     own id further down could otherwise add a pass when the MTA does not strip it, as
     RFC 8601 §5 asks). Without ``trusted_authserv_ids`` only the topmost header is read,
     which is right only when the receiving MTA always adds one: pass the ids in
     production.

   The organisational domain uses the Public Suffix List that ``publicsuffix2`` bundles
   (installed offline with the ``authheaders`` dependency; read once, never fetched), with
   RFC 7489's default rule for unknown TLDs (``mail.owner.test`` -> ``owner.test``), and
   :func:`agenticmail.security.patterns.registrable_domain` as fallback if it is missing.
4. **Code.** The notification's one-time code appears in the owner's own text or in the
   Subject, case-insensitively, as a whole token (separators ``-``, ``_``, ``.``, space
   between its characters optional). Quoted text does not count: lines starting with ``>``,
   HTML ``<blockquote>`` / Gmail, Yahoo and Thunderbird quote blocks, and everything after an
   Outlook ``-----Original Message-----`` / ``____`` separator or ``From:``+``Sent:`` header
   block, a forwarded-message marker or a signature delimiter (``-- ``); attached
   ``message/*`` parts are not read. Otherwise every reply quoting the notification would
   carry the code. The notification's Subject must therefore never contain the code.
5. **Answer.** The first meaningful line of the owner's text (blank, quoted, attribution
   ``On … wrote:`` lines skipped; the code itself removed, so ``K7QF-9M2X`` alone on a line
   is skipped too) is matched whole-word, case-insensitively against
   :data:`APPROVE_WORDS` and :data:`REJECT_WORDS`. ``don't send`` / ``do not send`` count as
   reject; a line with both kinds, neither, or a negation (``not approved``, ``don't
   block``) is ``unclear answer``. The Subject is not used for the answer (it echoes our own
   subject, which quotes the agent's).

HTML-only replies are rendered to text with block elements as line breaks. Nothing here
raises on malformed input, does I/O (beyond loading the bundled suffix list), reads the
clock or draws random numbers: the caller generates the code and passes it in.
"""

from __future__ import annotations

import contextlib
import email
import functools
import html as html_lib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.utils import getaddresses
from typing import Literal

from agenticmail.errors import InvalidRequest
from agenticmail.mail.addresses import validate_address
from agenticmail.mail.mime import normalize_message_id, parse_message_ids
from agenticmail.security.authresults import parse_auth_results
from agenticmail.security.inbound import decode_header_value, part_text, to_message, tokenize
from agenticmail.security.patterns import registrable_domain

__all__ = [
    "APPROVE_WORDS",
    "MIN_CODE_CHARS",
    "REJECT_WORDS",
    "AuthResult",
    "Notification",
    "ReplyDecision",
    "auth_result_details",
    "classify_line",
    "decide",
    "format_code_instructions",
    "organizational_domain",
    "owner_lines",
]

Action = Literal["approve", "reject"]

APPROVE_WORDS: tuple[str, ...] = (
    "approve",
    "approved",
    "yes",
    "send",
    "go ahead",
    "lgtm",
    "ok",
    "okay",
)
REJECT_WORDS: tuple[str, ...] = (
    "reject",
    "rejected",
    "no",
    "deny",
    "denied",
    "don't send",
    "dont send",
    "do not send",
    "cancel",
    "cancelled",
    "canceled",
    "block",
    "blocked",
)
MIN_CODE_CHARS = 6
"""A code with fewer letters/digits than this is refused: it could be guessed or typed by
accident."""

MAX_TEXT_CHARS = 256 * 1024  # owner text examined (a reply is short; the rest is quotes)
MAX_LINES = 5000
MAX_PARTS = 200
MAX_AR_HEADERS = 50
MAX_AR_CHARS = 8192


@dataclass(frozen=True)
class Notification:
    """What we sent the owner: its Message-ID, the one-time code printed in it, the owner."""

    message_id: str
    code: str
    owner_email: str


@dataclass(frozen=True)
class ReplyDecision:
    """``action`` is ``approve``/``reject``, or ``None`` when the message is not a genuine
    approval reply (ignore it); ``reason`` says which rule decided."""

    action: Action | None
    reason: str

    def to_dict(self) -> dict[str, str | None]:
        return {"action": self.action, "reason": self.reason}


def _ignore(reason: str) -> ReplyDecision:
    return ReplyDecision(None, reason)


# --------------------------------------------------------------------------- domains


@functools.lru_cache(maxsize=1024)
def organizational_domain(domain: str) -> str | None:
    """The organisational domain (public suffix + one label), ``None`` when there is none.

    ``mail.example.co.uk`` -> ``example.co.uk``; ``owner.test`` -> ``owner.test`` (unknown
    TLDs fall under the default ``*`` rule); ``co.uk`` -> ``None`` (a public suffix itself).
    """
    d = domain.strip().strip(".").lower()
    if not d or ".." in d or any(ch.isspace() for ch in d):
        return None
    with contextlib.suppress(UnicodeError):
        d = d.encode("idna").decode("ascii")
    labels = d.split(".")
    try:
        from publicsuffix2 import get_tld

        suffix = get_tld(d, strict=True)
    except ImportError:
        org = registrable_domain(d)
        return org if "." in org else None
    except Exception:
        suffix = None
    if not suffix:
        suffix = labels[-1]  # RFC 7489 §3.2: the default rule "*"
    n = str(suffix).count(".") + 1
    if len(labels) <= n:
        return None
    return ".".join(labels[-(n + 1) :])


def _aligned(domain: str | None, owner_org: str | None) -> bool:
    return bool(domain and owner_org and organizational_domain(domain) == owner_org)


# --------------------------------------------------------------------------- A-R details


@dataclass(frozen=True)
class AuthResult:
    """One ``method=result`` of an ``Authentication-Results`` header with its properties
    (``("header.d", "example.com")``, ``("header.from", "example.com")`` ...)."""

    authserv_id: str
    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()
    position: int = 0  # index of the header among the message's A-R headers, 0 = topmost

    def prop(self, name: str) -> str | None:
        for key, value in self.properties:
            if key == name:
                return value
        return None

    @property
    def domain(self) -> str | None:
        """The domain the result is about: DKIM ``header.d`` (else ``header.i``'s domain),
        DMARC ``header.from``; lower-case, ``None`` when unnamed."""
        if self.method == "dkim":
            value = self.prop("header.d") or self.prop("header.i")
        elif self.method == "dmarc":
            value = self.prop("header.from")
        else:
            value = self.prop("smtp.mailfrom") or self.prop("header.from")
        if not value:
            return None
        value = value.rpartition("@")[2].strip().strip(".").lower()
        return value or None


_RESINFO = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9_.-]*)\s*=\s*([A-Za-z]+)")
_PROP = re.compile(
    r"""([A-Za-z][A-Za-z0-9_-]*)\.([A-Za-z][A-Za-z0-9_.-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;"]*)"""
)


def _segments(value: str) -> list[str]:
    """Split on ``;`` outside quoted strings, dropping (nested) comments; linear time."""
    out: list[str] = []
    buf: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            if depth == 0:
                buf.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
            if depth == 0:
                buf.append(ch)
        elif quoted:
            buf.append(ch)
            if ch == '"':
                quoted = False
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0:
                buf.append(" ")
        elif depth:
            continue
        elif ch == '"':
            quoted = True
            buf.append(ch)
        elif ch == ";":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    out.append("".join(buf))
    return out


def _parse_ar(value: str, position: int) -> tuple[str, list[AuthResult]]:
    flat = value.replace("\r", " ").replace("\n", " ")[:MAX_AR_CHARS]
    segments = _segments(flat)
    head = segments[0].strip()
    results: list[AuthResult] = []
    if _RESINFO.match(head) and "=" in head.split()[0]:
        serv = ""  # no authserv-id (Microsoft style): the first segment is a result
    else:
        serv = head.split()[0].lower() if head.split() else ""
        segments = segments[1:]
    for seg in segments:
        m = _RESINFO.match(seg)
        if not m:
            continue
        props = tuple(
            (f"{p.group(1).lower()}.{p.group(2).lower()}", p.group(3).strip('"'))
            for p in _PROP.finditer(seg, m.end())
        )
        results.append(AuthResult(serv, m.group(1).lower(), m.group(2).lower(), props, position))
    return serv, results


def auth_result_details(
    msg: bytes | Message, *, trusted_authserv_ids: frozenset[str] | None = None
) -> tuple[AuthResult, ...] | None:
    """Every result of the ``Authentication-Results`` headers the caller trusts.

    Same header choice as :func:`parse_auth_results`: the topmost header when
    ``trusted_authserv_ids`` is ``None``, otherwise every header whose authserv-id is in it
    (:attr:`AuthResult.position` tells them apart). ``None`` when no header qualifies.
    Never raises.
    """
    try:
        message = to_message(msg)
        values = [
            str(v) for k, v in message.raw_items() if str(k).lower() == "authentication-results"
        ][:MAX_AR_HEADERS]
    except Exception:
        return None
    trusted = None if trusted_authserv_ids is None else {s.lower() for s in trusted_authserv_ids}
    chosen: list[AuthResult] = []
    found = False
    for position, value in enumerate(values):
        try:
            serv, results = _parse_ar(value, position)
        except Exception:
            continue
        if trusted is None:
            return tuple(results)  # topmost only
        if serv in trusted:
            found = True
            chosen.extend(results)
    return tuple(chosen) if found else None


# --------------------------------------------------------------------------- body


_BREAK_TAGS = frozenset(
    {
        "br",
        "p",
        "div",
        "li",
        "tr",
        "table",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "pre",
        "ul",
        "ol",
        "section",
        "article",
        "header",
        "footer",
    }
)
_SKIP_TAGS = frozenset({"script", "style", "head", "title", "template"})
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote")
_CUT_IDS = frozenset(
    {"appendonsend", "divrplyfwdmsg", "x_divrplyfwdmsg", "mail-editor-reference-message-container"}
)
_VOID = frozenset(
    {
        "br",
        "hr",
        "img",
        "meta",
        "link",
        "input",
        "wbr",
        "col",
        "area",
        "base",
        "embed",
        "source",
        "track",
        "param",
    }
)


def _html_reply_text(html: str) -> str:
    """Text of an HTML reply: block tags break lines; quote blocks (``<blockquote>``, Gmail,
    Yahoo, Thunderbird, ProtonMail) and scripts dropped; stops at Outlook's reply-header
    container (the unquoted original follows it). Linear time: uses the security layer's
    browser-like tokenizer, not :class:`html.parser.HTMLParser` (quadratic on unclosed tags).
    """
    parts: list[str] = []
    size = 0
    skip_tag = ""
    skip_depth = 0
    try:
        for kind, name, attrs, self_closing in tokenize(html[: MAX_TEXT_CHARS * 4]):
            if kind == "start":
                if skip_depth:
                    if name == skip_tag and not self_closing and name not in _VOID:
                        skip_depth += 1
                    continue
                values = dict(attrs)
                if values.get("id", "").lower() in _CUT_IDS:
                    break
                classes = values.get("class", "").lower()
                quote = name == "blockquote" or any(c in classes for c in _QUOTE_CLASSES)
                if (quote or name in _SKIP_TAGS) and not self_closing and name not in _VOID:
                    skip_tag, skip_depth = name, 1
                elif name in _BREAK_TAGS:
                    parts.append("\n")
            elif kind == "end":
                if skip_depth:
                    if name == skip_tag:
                        skip_depth -= 1
                elif name in _BREAK_TAGS:
                    parts.append("\n")
            elif kind == "text" and not skip_depth:
                with contextlib.suppress(Exception):
                    name = html_lib.unescape(name)
                parts.append(name)
                size += len(name)
                if size > MAX_TEXT_CHARS:
                    break
    except Exception:
        pass
    return "".join(parts).replace("\xa0", " ")


def _body_parts(msg: Message) -> tuple[list[str], list[str]]:
    """Decoded text/plain and text/html body parts, not descending into ``message/*``."""
    plain: list[str] = []
    html: list[str] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while stack and seen < MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        try:
            ctype = part.get_content_type()
        except Exception:
            continue
        if part.is_multipart():
            if ctype.startswith("message/") or depth > 20:
                continue
            try:
                children = part.get_payload()
            except Exception:
                continue
            if isinstance(children, list):
                stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
            continue
        if ctype not in ("text/plain", "text/html"):
            continue
        try:
            disposition = part.get_content_disposition() or ""
            filename = part.get_filename() or part.get_param("name")
        except Exception:
            continue
        if disposition == "attachment" or filename:
            continue
        (html if ctype == "text/html" else plain).append(part_text(part))
    return plain, html


_SIGNATURE = re.compile(r"^--\s*$")
_CUT_LINE = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|forwarded message)\s*-{2,}"
    r"|_{10,}\s*$|begin forwarded message\s*:)",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?from\s*:", re.IGNORECASE)
_HEADER_SENT = re.compile(r"^\s*\*?(?:sent|date)\s*:", re.IGNORECASE)
_ATTRIB_START = re.compile(r"^\s*(?:on|am|le|el|il|op)\s", re.IGNORECASE)
_ATTRIB_END = re.compile(
    r"(?:wrote|writes|schrieb|a\s+écrit|escribió|ha\s+scritto|schreef)\s*:\s*$", re.IGNORECASE
)


def owner_lines(text: str) -> list[str]:
    """The lines the replier wrote: quoted lines, attribution lines, Outlook-style quoted
    originals and the signature removed."""
    lines = text[:MAX_TEXT_CHARS].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[:MAX_LINES]
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if _SIGNATURE.match(line) or _CUT_LINE.match(line):
            break
        if _HEADER_FROM.match(line) and any(_HEADER_SENT.match(x) for x in lines[i + 1 : i + 5]):
            break  # Outlook "From: / Sent: / To: / Subject:" block: the original follows
        if stripped.startswith(">"):
            i += 1
            continue
        if _ATTRIB_START.match(line):
            if _ATTRIB_END.search(line):
                i += 1
                continue
            if i + 1 < len(lines) and _ATTRIB_END.search(lines[i + 1]) and len(line) < 300:
                i += 2
                continue
        out.append(line)
        i += 1
    return out


# --------------------------------------------------------------------------- code, words


_CODE_SEP = "[-_.\\s]?"


def _code_pattern(code: str) -> re.Pattern[str] | None:
    chars = [ch for ch in code if ch.isalnum()]
    if len(chars) < MIN_CODE_CHARS:
        return None
    body = _CODE_SEP.join(re.escape(ch) for ch in chars)
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE)


def _phrase_re(words: tuple[str, ...]) -> re.Pattern[str]:
    alts = sorted(
        (re.escape(w).replace("\\ ", r"\s+").replace("'", "'?") for w in words),
        key=len,
        reverse=True,
    )
    return re.compile(r"(?<![\w'])(?:" + "|".join(alts) + r")(?![\w'])")


_REJECT_PHRASE = _phrase_re(tuple(w for w in REJECT_WORDS if " " in w or "'" in w))
_APPROVE_RE = _phrase_re(APPROVE_WORDS)
_REJECT_RE = _phrase_re(tuple(w for w in REJECT_WORDS if " " not in w and "'" not in w))
_NEGATION = re.compile(
    r"(?<![\w'])(?:not|never|do\s+not|don'?t|doesn'?t|can'?t|cannot|won'?t|shouldn'?t|isn'?t)"
    r"(?![\w'])"
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u02bc": "'"})


def classify_line(line: str) -> Action | None:
    """``approve``/``reject`` for one answer line, ``None`` when unclear."""
    text = line.translate(_APOSTROPHES).lower()
    reject = bool(_REJECT_PHRASE.search(text))
    text = _REJECT_PHRASE.sub(" ", text)
    reject = reject or bool(_REJECT_RE.search(text))
    approve = bool(_APPROVE_RE.search(text))
    if approve == reject:
        return None
    if _NEGATION.search(text):
        return None  # "not approved", "don't block it": too easy to misread
    return "approve" if approve else "reject"


def format_code_instructions(code: str) -> str:
    """Instructions for the notification body (the code appears only here, never in the
    Subject). Every line that shows the code names both answers, so even a client that
    quotes the notification without ``>`` cannot turn it into an answer."""
    return (
        f"To answer, reply to this email with APPROVE {code} or REJECT {code}\n"
        "as the first line of your reply (approve or reject, then the code).\n"
        "Write above the quoted text; only a reply from your own address, signed by\n"
        "your mail provider (DKIM/DMARC), is accepted. The code works for this message only.\n"
    )


# --------------------------------------------------------------------------- decide


def _reparse(raw: bytes | Message) -> Message | None:
    """A compat32 message (raw, undecoded header values) from bytes or any Message."""
    try:
        if isinstance(raw, Message):
            try:
                data = raw.as_bytes()
            except Exception:
                return raw
            return email.message_from_bytes(data, policy=policy.compat32)
        return to_message(raw)
    except Exception:
        return None


def _headers(msg: Message, name: str) -> list[str]:
    try:
        return [str(v) for k, v in msg.raw_items() if str(k).lower() == name][:100]
    except Exception:
        return []


def _single_address(values: list[str], what: str) -> tuple[str | None, str]:
    """(normalised address, "") or (None, reason)."""
    if not values:
        return None, f"no {what} header"
    if len(values) > 1:
        return None, f"{len(values)} {what} headers (exactly one required)"
    flat = values[0].replace("\r", " ").replace("\n", " ")
    try:
        pairs = [a for _, a in getaddresses([flat]) if a.strip()]
    except Exception:
        return None, f"unparseable {what} header"
    if len(pairs) != 1:
        return None, f"{what} must hold exactly one address (found {len(pairs)})"
    try:
        return validate_address(pairs[0].strip()).lower(), ""
    except InvalidRequest:
        return None, f"malformed {what} address"


def _auth_check(
    msg: Message, owner_domain: str, trusted: frozenset[str] | None
) -> tuple[bool, str]:
    verdicts = parse_auth_results(msg, trusted_authserv_ids=trusted)
    details = auth_result_details(msg, trusted_authserv_ids=trusted)
    where = "from a trusted authserv-id" if trusted is not None else ""
    if verdicts is None or details is None:
        return False, f"no Authentication-Results header {where}".strip()
    owner_org = organizational_domain(owner_domain)
    for r in details:  # failures count from every trusted header
        if r.method == "dmarc" and r.result in ("fail", "reject", "quarantine"):
            return False, f"forged: dmarc={r.result} (header.from={r.domain or '?'})"
        if (
            r.method == "dkim"
            and r.result in ("fail", "hardfail")
            and (r.domain is None or _aligned(r.domain, owner_org))
        ):
            return False, f"forged: dkim={r.result} for {r.domain or 'an unnamed domain'}"
    top = min((r.position for r in details), default=0)
    for r in details:  # passes count from the topmost trusted header only
        if r.position != top or r.result != "pass":
            continue
        if r.method == "dkim" and _aligned(r.domain, owner_org):
            return True, f"dkim=pass header.d={r.domain}"
        if r.method == "dmarc" and (r.domain is None or r.domain == owner_domain):
            return True, f"dmarc=pass header.from={r.domain or owner_domain}"
    seen = (
        ", ".join(
            f"{r.method}={r.result}" + (f" ({r.domain})" if r.domain else "")
            for r in details
            if r.method in ("dkim", "dmarc")
        )
        or "none"
    )
    return False, (
        f"no passing DKIM/DMARC result aligned with {owner_domain} "
        f"(trusted results: {seen}; summary dkim={verdicts.dkim} dmarc={verdicts.dmarc})"
    )


def decide(
    raw: bytes | EmailMessage | Message,
    notification: Notification,
    *,
    trusted_authserv_ids: frozenset[str] | None = None,
) -> ReplyDecision:
    """Decide whether ``raw`` is the owner's genuine answer to ``notification``.

    Returns ``approve``/``reject`` only when every rule of the module docstring holds,
    otherwise ``ReplyDecision(None, reason)``. Never raises.
    """
    try:
        return _decide(raw, notification, trusted_authserv_ids)
    except Exception as exc:  # defensive: malformed input must never escape as an error
        return _ignore(f"unreadable message ({type(exc).__name__})")


def _decide(
    raw: bytes | Message, note: Notification, trusted: frozenset[str] | None
) -> ReplyDecision:
    want_id = normalize_message_id(note.message_id or "")
    if want_id is None:
        return _ignore("notification has no usable Message-ID")
    try:
        owner = validate_address(note.owner_email or "").lower()
    except InvalidRequest:
        return _ignore("notification owner address is malformed")
    code_re = _code_pattern(note.code or "")
    if code_re is None:
        return _ignore(f"notification code is shorter than {MIN_CODE_CHARS} letters/digits")
    if not isinstance(raw, bytes | bytearray | memoryview | Message):
        return _ignore("not a message")
    msg = _reparse(raw)
    if msg is None:
        return _ignore("unreadable message")

    # 1. threading
    ids: set[str] = set()
    for name in ("in-reply-to", "references"):
        for value in _headers(msg, name):
            if len(value) > 20000:  # keep both ends: a direct reply's parent id is last
                value = value[:10000] + " " + value[-10000:]
            ids.update(i.lower() for i in parse_message_ids(value))
    if want_id.lower() not in ids:
        return _ignore(f"not a reply to the notification: In-Reply-To/References lack {want_id}")

    # 2. sender
    auto = " ".join(_headers(msg, "auto-submitted")).strip().lower()
    if auto and not auto.startswith("no"):
        return _ignore(f"auto-submitted message ({auto[:40]})")
    sender, why = _single_address(_headers(msg, "from"), "From")
    if sender is None:
        return _ignore(why)
    if sender != owner:
        return _ignore(f"From {sender} is not the owner")
    if _headers(msg, "sender"):
        on_behalf, why = _single_address(_headers(msg, "sender"), "Sender")
        if on_behalf != owner:
            return _ignore(f"sent on the owner's behalf by someone else ({why or on_behalf})")

    # 3. authentication
    ok, why = _auth_check(msg, owner.rpartition("@")[2], trusted)
    if not ok:
        return _ignore(why)
    auth_note = why

    # 4. code (owner's own text or Subject)
    plain, html = _body_parts(msg)
    text = "\n".join(plain)
    if not text.strip():
        text = "\n".join(_html_reply_text(h) for h in html)
    lines = owner_lines(text)
    subject = " ".join(decode_header_value(v) for v in _headers(msg, "subject")[:1])
    if not code_re.search("\n".join(lines)) and not code_re.search(subject):
        return _ignore(
            "the one-time code is missing from the reply text and subject "
            "(a code inside the quoted notification does not count)"
        )

    # 5. answer
    for line in lines:
        bare = code_re.sub(" ", line)
        if not any(ch.isalnum() for ch in bare):
            continue
        action = classify_line(bare)
        if action is None:
            return _ignore(f"unclear answer: {' '.join(bare.split())[:80]!r}")
        return ReplyDecision(action, f"owner {owner} answered {action!r} ({auth_note})")
    return _ignore("unclear answer: the reply has no text of its own")
