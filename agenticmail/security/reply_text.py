"""The owner's own words in a reply: quoted text, attributions, signatures and forwarded
parts removed (plain text and HTML), so a reply that quotes the notification is judged only
by what the owner wrote. Pure and linear (HTML through ``inbound.tokenize``)."""

from __future__ import annotations

import contextlib
import html as html_lib
import re
from email.message import Message

from agenticmail.security.mime_view import part_text, tokenize

MAX_TEXT_CHARS = 256 * 1024  # owner text examined (a reply is short; the rest is quotes)
MAX_LINES = 5000
MAX_PARTS = 200




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


def html_reply_text(html: str) -> str:
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


def body_parts(msg: Message) -> tuple[list[str], list[str]]:
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


