"""Replies and forwards as data: recipients, subject prefixes, threading headers, quoting.

Pure functions over a :class:`ParsedMessage`; the service layer reads the original, calls
these, and sends the result through the outbox like any other message.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import getaddresses

from ..models import Attachment, OutgoingMail, ParsedMessage
from .mime import normalize_message_id

# "Re:", "RE :", "Re[2]:", "AW:", "SV:", "Fwd:", "Fw:", "WG:", "TR:" ... any number of them
_PREFIX_RE = re.compile(r"^\s*(?:(?:re|aw|sv|vs|antw|odp|fwd?|wg|tr|rv)\s*(?:\[\d+\])?\s*:\s*)+",
                        re.IGNORECASE)
_REPLY_RE = re.compile(r"^\s*(?:re|aw|sv|antw)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)
_FWD_RE = re.compile(r"^\s*(?:fwd?|wg|tr)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)
_LIST_TAG_RE = re.compile(r"^\s*\[[^\]]{1,40}\]\s*")
MAX_REFERENCES = 20  # as mime._MAX_REFERENCES: the root and the most recent ancestors


def normalize_subject(subject: str) -> str:
    """A subject without reply/forward prefixes, list tags and case: the key subject threading
    falls back to (``"Re: [dev] Fwd: Hello"`` -> ``"hello"``)."""
    text = subject or ""
    while True:
        stripped = _LIST_TAG_RE.sub("", _PREFIX_RE.sub("", text))
        if stripped == text:
            break
        text = stripped
    return " ".join(text.split()).lower()


def reply_subject(subject: str) -> str:
    """``Re:`` once: ``"Hello"`` -> ``"Re: Hello"``; ``"RE: Re: Hello"`` -> ``"Re: Hello"``."""
    subject = " ".join((subject or "").split())
    if _REPLY_RE.match(subject):
        return "Re: " + _strip_reply_prefixes(subject)
    return f"Re: {subject}" if subject else "Re:"


def _strip_reply_prefixes(subject: str) -> str:
    while True:
        match = _REPLY_RE.match(subject)
        if not match:
            return subject.strip()
        subject = subject[match.end():].lstrip()


def forward_subject(subject: str) -> str:
    subject = " ".join((subject or "").split())
    if _FWD_RE.match(subject):
        return subject
    return f"Fwd: {subject}" if subject else "Fwd:"


def _addr(value: str) -> str:
    found = getaddresses([value])
    return found[0][1].strip() if found and found[0][1] else value.strip()


def _unique(addresses: Iterable[str], drop: set[str]) -> list[str]:
    out: list[str] = []
    seen = set(drop)
    for value in addresses:
        addr = _addr(value)
        if not addr or "@" not in addr or addr.lower() in seen:
            continue
        seen.add(addr.lower())
        out.append(addr)
    return out


@dataclass(frozen=True)
class ReplyHeaders:
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]


def reply_headers(original: ParsedMessage, own: Sequence[str], *, reply_all: bool = False
                  ) -> ReplyHeaders:
    """Recipients and threading headers of a reply by the mailbox owning ``own`` addresses.

    To is the original's Reply-To, else its From; a reply to one's own sent message goes to
    the original recipients instead. Reply-all adds the other To and Cc addresses to Cc,
    without the replier's own addresses and without duplicates. References is the original's
    References (or its In-Reply-To when it has none) plus its Message-ID (RFC 5322 3.6.4),
    keeping the root and the most recent ancestors.
    """
    mine = {a.lower() for a in own}
    sender = _addr(original.from_).lower()
    if sender in mine:  # replying to our own message: continue to its recipients
        to = _unique(original.to, mine)
        cc = _unique(original.cc, mine | {a.lower() for a in to}) if reply_all else []
    else:
        to = _unique(original.reply_to or (original.from_,), mine)
        cc = (_unique((*original.to, *original.cc), mine | {a.lower() for a in to})
              if reply_all else [])
    parent = normalize_message_id(original.message_id)
    refs = [r for r in (normalize_message_id(x) for x in original.references) if r]
    if not refs and original.in_reply_to:
        irt = normalize_message_id(original.in_reply_to)
        refs = [irt] if irt else []
    if parent:
        refs.append(parent)
    refs = list(dict.fromkeys(refs))
    if len(refs) > MAX_REFERENCES:
        refs = refs[:1] + refs[-(MAX_REFERENCES - 1):]
    return ReplyHeaders(tuple(to), tuple(cc), reply_subject(original.subject), parent,
                        tuple(refs))


def _attribution(original: ParsedMessage) -> str:
    when = original.date or "an earlier date"
    return f"On {when}, {original.from_} wrote:"


def quote_text(original_text: str) -> str:
    lines = (original_text or "").replace("\r\n", "\n").rstrip("\n").split("\n")
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def reply_bodies(original: ParsedMessage, text: str | None, html: str | None,
                 original_text: str, original_html: str | None
                 ) -> tuple[str | None, str | None]:
    """The new text above the quoted original, in text and (when either side has HTML) HTML.
    ``original_text``/``original_html`` are the sanitised bodies the agent was shown."""
    new_text = text if text is not None else (_html_text(html) if html else "")
    out_text = f"{new_text.rstrip()}\n\n{_attribution(original)}\n{quote_text(original_text)}\n"
    out_html = None
    if html is not None or original_html:
        mine = html if html is not None else _text_html(new_text)
        quoted = original_html or _text_html(original_text)
        out_html = (f"{mine}\n<br><div>{html_lib.escape(_attribution(original))}</div>\n"
                    f'<blockquote type="cite" style="margin:0 0 0 .8ex;border-left:1px solid '
                    f'#ccc;padding-left:1ex">{quoted}</blockquote>')
    return out_text, out_html


def _text_html(text: str) -> str:
    return "<div>" + html_lib.escape(text).replace("\n", "<br>") + "</div>"


def _html_text(html: str) -> str:
    from .mime import html_to_text

    return html_to_text(html)


def forward_block(original: ParsedMessage) -> str:
    """The ``---------- Forwarded message ----------`` header block of an inline forward."""
    lines = ["---------- Forwarded message ----------", f"From: {original.from_}"]
    if original.date:
        lines.append(f"Date: {original.date}")
    lines.append(f"Subject: {original.subject}")
    if original.to:
        lines.append(f"To: {', '.join(original.to)}")
    if original.cc:
        lines.append(f"Cc: {', '.join(original.cc)}")
    return "\n".join(lines)


def forward_mail(original: ParsedMessage, raw: bytes, *, to: Sequence[str], cc: Sequence[str],
                 text: str | None, html: str | None, original_text: str,
                 original_html: str | None, attachments: Sequence[Attachment],
                 extra: Sequence[Attachment] = (), as_attachment: bool = False) -> OutgoingMail:
    """A forward of ``original``: inline (its headers block, body and attachments) or the
    whole message as one ``message/rfc822`` attachment; ``extra`` are new attachments."""
    note = text if text is not None else (_html_text(html) if html else "")
    if as_attachment:
        name = (normalize_subject(original.subject) or "message")[:60] + ".eml"
        files = (*extra, Attachment(name, "message/rfc822", raw))
        return OutgoingMail(to=tuple(to), cc=tuple(cc), subject=forward_subject(original.subject),
                            text=note or "Forwarded message attached.", html=html,
                            attachments=tuple(files))
    block = forward_block(original)
    out_text = f"{note.rstrip()}\n\n{block}\n\n{original_text}\n".lstrip("\n")
    out_html = None
    if html is not None or original_html:
        mine = html if html is not None else _text_html(note)
        out_html = (f"{mine}\n<br><div>{_text_html(block)}</div>\n"
                    f"{original_html or _text_html(original_text)}")
    return OutgoingMail(to=tuple(to), cc=tuple(cc), subject=forward_subject(original.subject),
                        text=out_text, html=out_html, attachments=(*attachments, *extra))
