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
3. **Authentication**: proof the owner's provider, not the sender, vouches for the reply.
   One of two proofs, chosen by the caller for the relay's provider:

   * ``dkim_domains`` (providers without a trusted authserv-id): the signing domains of the
     DKIM signatures that the caller verified itself (dkimpy against DNS,
     :func:`agenticmail.security.authresults.verify_dkim`). One of them must be *aligned*
     with the owner's domain (relaxed: same organisational domain). Every
     ``Authentication-Results`` header is ignored: anyone can write one.
   * ``trusted_authserv_ids`` (a provider whose MX stamps every message it receives, e.g.
     Gmail's ``mx.google.com``): the ``Authentication-Results`` header (RFC 8601), read by
     :func:`agenticmail.security.authresults.parse_auth_results` plus the domain-aware
     :func:`auth_result_details` below. Passes count only from the *topmost* header, and
     only when that header carries a trusted authserv-id (the provider prepends its own
     above anything the sender wrote); required: a ``dkim=pass`` whose signing domain
     (``header.d``, else the domain of ``header.i``) is aligned with the owner's domain, or
     a ``dmarc=pass`` for the owner's domain (``header.from`` equal to it, or absent: the
     result then describes this message's single From, which is the owner). Forged: a
     ``dmarc=fail``, or a ``dkim=fail`` for an aligned (or unnamed) domain, in any header
     carrying a trusted id — the reply is ignored even when another result passes (a
     failure can only make the decision stricter). The caller must use this proof only for
     mail fetched from that provider's mailbox: mail that arrived any other way has no
     stamp of the provider's.
   * neither: the reply is refused (nothing attributable vouches for it).

   The organisational domain uses the Public Suffix List that ``publicsuffix2`` bundles
   (installed offline with the ``authheaders`` dependency; read once, never fetched), with
   RFC 7489's default rule for unknown TLDs (``mail.owner.test`` -> ``owner.test``), and
   :func:`agenticmail.security.patterns.registrable_domain` as fallback if it is missing.
4. **Code.** The notification's one-time code (known to the caller only as a digest:
   :class:`CodeCheck`) appears in the owner's own text or in the
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

import email
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.utils import getaddresses
from typing import Literal

from agenticmail.errors import InvalidRequest
from agenticmail.mail.addresses import validate_address
from agenticmail.mail.mime import normalize_message_id, parse_message_ids
from agenticmail.security.auth_alignment import (
    AuthResult,
    aligned,
    auth_result_details,
    organizational_domain,
)
from agenticmail.security.authresults import parse_auth_results
from agenticmail.security.keys import same_secret
from agenticmail.security.mime_view import decode_header_value, to_message
from agenticmail.security.reply_text import body_parts, html_reply_text, owner_lines

__all__ = [
    "APPROVE_WORDS",
    "MIN_CODE_CHARS",
    "REJECT_WORDS",
    "AuthResult",
    "CodeCheck",
    "Notification",
    "ReplyDecision",
    "auth_result_details",
    "classify_line",
    "decide",
    "format_code_instructions",
    "normalize_code",
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



@dataclass(frozen=True)
class CodeCheck:
    """A one-time code known only by a digest: ``length`` letters/digits, and ``matches``
    telling whether a candidate (as :func:`normalize_code` gives it) is the code (the
    caller compares digests in constant time)."""

    length: int
    matches: Callable[[str], bool]


def normalize_code(text: str) -> str:
    """A code's comparable form: its letters and digits, upper case (separators dropped)."""
    return "".join(ch for ch in text if ch.isalnum()).upper()


@dataclass(frozen=True)
class Notification:
    """What we sent the owner: its Message-ID, the one-time code printed in it (the code
    itself, or a :class:`CodeCheck` when only its digest is kept), the owner."""

    message_id: str
    code: str | CodeCheck
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


# --------------------------------------------------------------------------- code, words


_CODE_SEP = "[-_.\\s]?"
MAX_CODE_CANDIDATES = 500


def _code_check(code: str | CodeCheck) -> CodeCheck | None:
    if isinstance(code, CodeCheck):
        return code if code.length >= MIN_CODE_CHARS else None
    want = normalize_code(code)
    if len(want) < MIN_CODE_CHARS:
        return None
    return CodeCheck(len(want), lambda candidate: same_secret(candidate, want))


def _code_spans(text: str, check: CodeCheck) -> list[tuple[int, int]]:
    """Where the code stands in ``text`` as a whole token (separators ``-``, ``_``, ``.``,
    space between its characters optional): each window of ``check.length`` letters/digits
    that starts and ends at a token boundary is a candidate, checked by digest."""
    pattern = re.compile(
        rf"(?<![^\W_])(?=([^\W_](?:{_CODE_SEP}[^\W_]){{{check.length - 1}}})(?![^\W_]))"
    )
    spans: list[tuple[int, int]] = []
    for n, m in enumerate(pattern.finditer(text)):
        if n >= MAX_CODE_CANDIDATES:
            break
        if check.matches(normalize_code(m.group(1))):
            spans.append((m.start(), m.start() + len(m.group(1))))
    return spans


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in reversed(spans):
        text = text[:start] + " " + text[end:]
    return text


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


def _dkim_check(domains: Sequence[str], owner_domain: str) -> tuple[bool, str]:
    owner_org = organizational_domain(owner_domain)
    for domain in domains:
        if aligned(domain.lower(), owner_org):
            return True, f"dkim=pass d={domain.lower()} (verified by agenticmail)"
    seen = ", ".join(sorted({d.lower() for d in domains})) or "none"
    return False, (f"no valid DKIM signature aligned with {owner_domain} "
                   f"(verified signers: {seen})")


def _topmost_authserv(msg: Message) -> str | None:
    for value in _headers(msg, "authentication-results")[:1]:
        flat = value.replace("\r", " ").replace("\n", " ").strip()
        return flat.split(";", 1)[0].strip().lower() or None
    return None


def _auth_check(
    msg: Message, owner_domain: str, trusted: frozenset[str] | None
) -> tuple[bool, str]:
    if not trusted:
        return False, ("no trusted authserv-id and no verified DKIM signature: nothing "
                       "attributable vouches for the sender")
    trusted = frozenset(t.lower() for t in trusted)
    top_serv = _topmost_authserv(msg)
    verdicts = parse_auth_results(msg, trusted_authserv_ids=trusted)
    details = auth_result_details(msg, trusted_authserv_ids=trusted)
    if verdicts is None or details is None:
        return False, "no Authentication-Results header from a trusted authserv-id"
    owner_org = organizational_domain(owner_domain)
    for r in details:  # failures count from every trusted header
        if r.method == "dmarc" and r.result in ("fail", "reject", "quarantine"):
            return False, f"forged: dmarc={r.result} (header.from={r.domain or '?'})"
        if (
            r.method == "dkim"
            and r.result in ("fail", "hardfail")
            and (r.domain is None or aligned(r.domain, owner_org))
        ):
            return False, f"forged: dkim={r.result} for {r.domain or 'an unnamed domain'}"
    if top_serv not in trusted:
        return False, (f"the topmost Authentication-Results header is not from a trusted "
                       f"authserv-id ({top_serv or 'none'})")
    top = 0  # the topmost header of the message, which carries a trusted id (checked above)
    for r in details:  # passes count from the topmost header only
        if r.position != top or r.result != "pass":
            continue
        if r.method == "dkim" and aligned(r.domain, owner_org):
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
    dkim_domains: Sequence[str] | None = None,
) -> ReplyDecision:
    """Decide whether ``raw`` is the owner's genuine answer to ``notification``.

    ``dkim_domains`` (the domains of the DKIM signatures the caller verified itself) or
    ``trusted_authserv_ids`` (the relay provider's own ids) is the authentication proof;
    with ``dkim_domains`` given, ``Authentication-Results`` headers are not read at all.
    Returns ``approve``/``reject`` only when every rule of the module docstring holds,
    otherwise ``ReplyDecision(None, reason)``. Never raises.
    """
    try:
        return _decide(raw, notification, trusted_authserv_ids, dkim_domains)
    except Exception as exc:  # defensive: malformed input must never escape as an error
        return _ignore(f"unreadable message ({type(exc).__name__})")


def _decide(
    raw: bytes | Message,
    note: Notification,
    trusted: frozenset[str] | None,
    dkim_domains: Sequence[str] | None,
) -> ReplyDecision:
    want_id = normalize_message_id(note.message_id or "")
    if want_id is None:
        return _ignore("notification has no usable Message-ID")
    try:
        owner = validate_address(note.owner_email or "").lower()
    except InvalidRequest:
        return _ignore("notification owner address is malformed")
    code = _code_check(note.code or "")
    if code is None:
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
    owner_domain = owner.rpartition("@")[2]
    ok, why = (
        _dkim_check(dkim_domains, owner_domain)
        if dkim_domains is not None
        else _auth_check(msg, owner_domain, trusted)
    )
    if not ok:
        return _ignore(why)
    auth_note = why

    # 4. code (owner's own text or Subject)
    plain, html = body_parts(msg)
    text = "\n".join(plain)
    if not text.strip():
        text = "\n".join(html_reply_text(h) for h in html)
    lines = owner_lines(text)
    subject = " ".join(decode_header_value(v, squeeze=False) for v in _headers(msg, "subject")[:1])
    if not _code_spans("\n".join(lines), code) and not _code_spans(subject, code):
        return _ignore(
            "the one-time code is missing from the reply text and subject "
            "(a code inside the quoted notification does not count)"
        )

    # 5. answer
    for line in lines:
        bare = _without(line, _code_spans(line, code))
        if not any(ch.isalnum() for ch in bare):
            continue
        action = classify_line(bare)
        if action is None:
            return _ignore(f"unclear answer: {' '.join(bare.split())[:80]!r}")
        return ReplyDecision(action, f"owner {owner} answered {action!r} ({auth_note})")
    return _ignore("unclear answer: the reply has no text of its own")
