"""Inbound threat scorer: rules -> a 0-100 score, a top category and every rule that fired.

:data:`~.rule_table.RULES` (:mod:`.rule_table`) is the single rule table; this module decides
when each rule fires and adds up the points. A message scoring >= :data:`SPAM_THRESHOLD` is
spam, >= :data:`WARNING_THRESHOLD` a warning. Every rule runs in isolation: an exception
inside one rule records nothing for that rule and scoring goes on. Phrase rules are matched
by one RE2 pass (:class:`~agenticmail.security.patterns.PatternSet`), so scoring is linear in
the message.

The ``CS_BAYES_*`` rules read the statistical token model of :mod:`.bayes` (package data
trained on the training split of the SpamAssassin corpus); ``PI_CLASSIFIER`` reads the learned
prompt-injection model of :mod:`.injection_model`. ``CS_BAYES_HAM`` and
``CS_LEGIT_BULK`` are the rules with negative points; they only take back points of
content-level rules, never injection, exfiltration, phishing, attachment or auth points.

Internal mail is exempt, and only mail whose origin stamp verified (:mod:`.origin`) is
internal: the caller proves it (``origin=Origin.VERIFIED``); a local From domain proves nothing.
A stamp that does not verify fires ``HDR_FORGED_ORIGIN``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parseaddr
from functools import cached_property

from agenticmail.security import advisory as A
from agenticmail.security import bayes, injection_model
from agenticmail.security import injection_multilingual as ML
from agenticmail.security import injection_patterns as IP
from agenticmail.security import patterns as P
from agenticmail.security import phishing as PH
from agenticmail.security.authresults import ABSENT, AuthVerdicts, parse_auth_results
from agenticmail.security.mime_view import (
    InboundMessage,
    MessageView,
    deobfuscate,
    domain_of,
    iter_leaf_parts,
    part_text,
    read,
)
from agenticmail.security.origin import Origin, has_stamp_header
from agenticmail.security.rule_table import (
    CATEGORY_ORDER,
    MAX_SCORE,
    RULES,
    RULES_BY_ID,
    SPAM_THRESHOLD,
    WARNING_THRESHOLD,
    Rule,
)
from agenticmail.security.unicode_view import skeleton


@dataclass(frozen=True)
class RuleHit:
    """A rule that fired on a message."""

    id: str
    category: str
    points: int
    description: str

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "category": self.category,
            "points": self.points,
            "description": self.description,
        }


@dataclass(frozen=True)
class Verdict:
    """Result of :func:`score`."""

    score: int
    spam: bool
    warning: bool
    category: str | None
    rules: tuple[RuleHit, ...] = ()
    internal: bool = False
    auth: AuthVerdicts = field(default_factory=AuthVerdicts)

    def to_dict(self) -> dict[str, object]:
        return {
            "score": self.score,
            "spam": self.spam,
            "warning": self.warning,
            "category": self.category,
            "rules": [r.to_dict() for r in self.rules],
            "internal": self.internal,
            "auth": self.auth.to_dict(),
        }



# Rules that are exactly "this phrase pattern occurs in the text" (subject + all body text).
_TEXT_PATTERNS: dict[str, str] = {
    "PI_IGNORE_INSTRUCTIONS": IP.PI_IGNORE,
    "PI_ROLE_REASSIGNMENT": IP.PI_ROLE,
    "PI_NEW_INSTRUCTIONS": IP.PI_NEW_INSTRUCTIONS,
    "PI_ROLEPLAY": IP.PI_ROLEPLAY,
    "PI_SECRECY": IP.PI_SECRECY,
    "PI_JAILBREAK": IP.PI_JAILBREAK,
    "PI_BASE64_BLOCK": IP.PI_BASE64,
    "PI_ADDRESSES_AI": IP.PI_ADDRESS_AI,
    "PI_PERSISTENCE": IP.PI_PERSISTENCE,
    "PI_TOOL_CALL": IP.PI_TOOL_CALL,
    "PI_OUTPUT_CONTROL": IP.PI_OUTPUT_CONTROL,
    "_DECODE_FOLLOW": IP.PI_OBFUSCATION,
    "SE_OWNER_REQUEST": P.SE_OWNER_ASKED,
    "SE_CREDENTIAL_REQUEST": P.SE_CREDENTIALS,
    "SE_SYSTEM_MESSAGE_CLAIM": P.SE_SYSTEM_MESSAGE,
    "SE_MONEY_TRANSFER": P.SE_MONEY_TRANSFER,
    "SE_GIFT_CARDS": P.SE_GIFT_CARDS,
    "SE_EXECUTIVE_FRAUD": P.SE_EXEC_FRAUD,
    "DX_FORWARD_ALL": P.DX_FORWARD_ALL,
    "DX_SEARCH_SECRETS": P.DX_SEARCH_SECRETS,
    "DX_REVEAL_PROMPT": IP.PI_REVEAL_PROMPT,
    "CS_LOTTERY_419": P.CS_LOTTERY,
    "CS_CRYPTO_RETURNS": P.CS_CRYPTO,
    "CS_PHARMACY": P.CS_PHARMACY,
    "CS_WEIGHT_LOSS": P.CS_WEIGHT_LOSS,
    "CS_BULK_REMOVAL": P.CS_REMOVAL,
    "CS_MONEY_MAKING": P.CS_MONEY_MAKING,
    "CS_STOCK_CASINO_GOODS": P.CS_STOCK,
    "CS_FINANCE_OFFER": P.CS_FINANCE,
    "CS_ADULT": P.CS_ADULT,
    # helper patterns used by combined rules (not rules themselves)
    "_URGENCY": P.SE_URGENCY,
    "_AUTHORITY": P.SE_AUTHORITY_THREAT,
    "_CLICK": P.PH_CLICK,
    "_VERIFY": P.PH_VERIFY,
    "_SEND_ADDR": P.DX_SEND_TO_ADDRESS,
    "_ACCOUNT": P.PH_ACCOUNT,
    "_PAYMENT": P.PH_PAYMENT,
    "_SCAN": P.PH_SCAN,
}
# Rules that also look at the HTML source (delimiters and fences can hide in markup).
_RAW_PATTERNS: dict[str, str] = {
    "PI_LLM_DELIMITER": IP.PI_DELIMITER,
    "PI_CODE_FENCE": IP.PI_CODE_FENCE,
    "_EXFIL": P.DX_EXFIL_HOST,
    "_SCRIPT_URI": P.SCRIPT_URI_ATTR.pattern,
}
_TEXT_SET = P.PatternSet(_TEXT_PATTERNS)
_MULTILINGUAL_SET = P.PatternSet(ML.RULE_PATTERNS)  # a set of its own: see injection_multilingual
_INJECTION_IDS = frozenset({
    "PI_IGNORE_INSTRUCTIONS",
    "PI_ROLE_REASSIGNMENT",
    "PI_JAILBREAK",
    "DX_REVEAL_PROMPT",
    "DX_FORWARD_ALL",
    "PI_NEW_INSTRUCTIONS",
    "PI_OUTPUT_CONTROL",
})
_INJECTION_SET = P.PatternSet({k: _TEXT_PATTERNS[k] for k in sorted(_INJECTION_IDS)})
_RAW_SET = P.PatternSet(_RAW_PATTERNS)
_SPAM_PHRASES = P.compile_re2(P.SPAM_PHRASES)
_SEND_ADDR = P.compile_re2(P.DX_SEND_TO_ADDRESS)
_CREDENTIALS = P.compile_re2(P.SE_CREDENTIALS)
# "IT will never ask you to send your password", "do not reply with it": a warning, not a request
_NEGATED = P.compile_re2(
    r"(?i)(?:\bnever|\bnot|n't|\bno\s+one|\bnobody|\bwithout)\b[^.!?\n]{0,60}$"
)
_SUBJECT_TAG = P.compile_re2(P.CS_SUBJECT_TAG)
_LOUD_HTML = P.compile_re2(P.CS_LOUD_HTML)


def _text_hits(text: str | bytes) -> frozenset[str]:
    """The phrase rules ``text`` fires: English families and the rest, then the multilingual
    injection families."""
    return _TEXT_SET.match(text) | _MULTILINGUAL_SET.match(text)


PHRASE_SPAN = 3000  # characters per which distinct spam phrases are counted
MAX_PHRASE_MATCHES = 200


@dataclass
class _Ctx:
    view: MessageView
    text: str
    hits: frozenset[str]
    auth: AuthVerdicts
    local_domains: frozenset[str]
    bayes_p: float | None = None
    shown: str = ""  # ``text`` as the agent reads it, normalised (unicode_view.skeleton)
    revealed: frozenset[str] = frozenset()  # injection rules only the normalised text fires
    message: Message | None = None  # the one parse (attachment contents)
    known: frozenset[str] | None = None  # registrable domains the agent corresponds with

    @cached_property
    def link_reasons(self) -> frozenset[str]:
        """Every advisory reason of every link, computed once per message (not per rule)."""
        return frozenset(r for link in dict.fromkeys(self.view.links)
                         for r, _ in A.link_reasons(link))

    @cached_property
    def attachment_reasons(self) -> frozenset[str]:
        return frozenset(r for att in self.view.attachments for r, _ in A.attachment_reasons(att))

    @cached_property
    def display_brands(self) -> frozenset[PH.Brand]:
        return PH.named_brands(skeleton(self.view.from_name))

    @cached_property
    def content_brands(self) -> frozenset[PH.Brand]:
        """Brands named in the subject or the body (as the agent reads them)."""
        return PH.named_brands(self.shown)

    @cached_property
    def from_reg(self) -> str:
        return P.registrable_domain(self.view.from_domain) if self.view.from_domain else ""

    @cached_property
    def link_hosts(self) -> tuple[str, ...]:
        """Distinct hosts of the http(s) links (at most :data:`.phishing.MAX_DOMAINS`)."""
        hosts = dict.fromkeys(h for h in (A.link_host(k.href) for k in self.view.links) if h)
        return tuple(itertools.islice(hosts, PH.MAX_DOMAINS))

    @cached_property
    def phrase_density(self) -> int:
        """Distinct spam phrases per :data:`PHRASE_SPAN` characters (shorter texts count as
        one span): a density, so a long, honest document that happens to say "free" and
        "offer" a few times is not judged like a short sales pitch saying them all at once."""
        found = itertools.islice(_SPAM_PHRASES.finditer(P.utf8(self.text)), MAX_PHRASE_MATCHES)
        distinct = len({" ".join(m.group().decode().lower().split()) for m in found})
        return round(distinct * PHRASE_SPAN / max(PHRASE_SPAN, len(self.text)))


def _invisible(ctx: _Ctx) -> bool:
    for text in (ctx.view.subject, ctx.view.text, ctx.view.html):
        if text.isascii() or not P.INVISIBLE_PAYLOAD.search(text):
            continue
        if P.INVISIBLE_PAYLOAD.search(P.TAG_FLAG_SEQUENCE.sub("", text)):
            return True
    return False


_TAG_CHARS = re.compile("[\U000e0020-\U000e007e]")
_TAG_TO_ASCII = {c: c - 0xE0000 for c in range(0xE0020, 0xE007F)}


def _tag_decoded(ctx: _Ctx) -> str:
    """Text spelled in Unicode tag characters (U+E0020-E007E), read as the ASCII it encodes."""
    out: list[str] = []
    for text in (ctx.view.subject, ctx.view.text, ctx.view.html):
        if not text.isascii():
            out.append("".join(_TAG_CHARS.findall(text[:200_000])).translate(_TAG_TO_ASCII))
    return "\n".join(o for o in out if o)


def _send_external(ctx: _Ctx) -> bool:
    if "_SEND_ADDR" not in ctx.hits:
        return False
    own = P.registrable_domain(ctx.view.from_domain) if ctx.view.from_domain else ""
    for m in itertools.islice(_SEND_ADDR.finditer(ctx.text), 20):
        target = P.registrable_domain(m.group(1))
        if target != own and target not in ctx.local_domains:
            return True
    return False


def _credential_request(ctx: _Ctx) -> bool:
    """An affirmative request for a secret: a match preceded, in its sentence, by a negation
    ("we will never ask you to send your password") does not count."""
    if "SE_CREDENTIAL_REQUEST" not in ctx.hits:
        return False
    for text in (ctx.text, ctx.shown):
        for m in itertools.islice(_CREDENTIALS.finditer(text), 20):
            if not _NEGATED.search(text[max(0, m.start() - 80) : m.start()]):
                return True
    return False


def _brand(ctx: _Ctx) -> bool:
    domain = ctx.view.from_domain
    return bool(domain) and any(not PH.owned_by(b, domain) for b in ctx.display_brands)


def _phish_action(ctx: _Ctx) -> bool:
    """The message asks for what phishing is after: sign-in, credentials, a payment update."""
    return bool(ctx.hits & {"_VERIFY", "_CLICK", "_ACCOUNT", "SE_CREDENTIAL_REQUEST"})


MAX_CONTENT_BRANDS = 2  # a message naming more brands is about the industry, not from one
BRAND_LEAD_CHARS = 600  # the brand must be named in the subject or this far into the body


def _brand_content(ctx: _Ctx) -> bool:
    """A message that speaks for one brand (named in its subject or opening) and asks the
    reader to sign in, verify or pay, from a domain that is not the brand's."""
    domain = ctx.view.from_domain
    named = ctx.content_brands
    if not domain or not named or len(named) > MAX_CONTENT_BRANDS:
        return False
    if not ctx.hits & {"_VERIFY", "_ACCOUNT", "SE_CREDENTIAL_REQUEST"}:
        return False
    lead = PH.named_brands(skeleton(ctx.view.subject + "\n" + ctx.view.body_text.lstrip()),
                           limit=len(ctx.view.subject) + 1 + BRAND_LEAD_CHARS)
    return any(not PH.owned_by(b, domain) for b in named & lead)


def _verified_brand(ctx: _Ctx) -> bool:
    """The From domain is a listed brand's and DMARC proved it."""
    return ctx.auth.dmarc == "pass" and PH.brand_of_domain(ctx.from_reg) is not None


MAX_BUTTON_WORDS = 10  # link text longer than this is prose, not a button
_BUTTON = P.compile_re2(
    r"(?i)\b(?:sign|log)[\s-]?(?:in|on)|\b(?:verify|confirm|review|view|open|access|update|unlock|"
    r"restore|secure|download|track|pay|claim|reactivate|validate|accept|retrieve)\b")


def _link_mismatch(ctx: _Ctx) -> bool:
    """A link whose text shows another domain, or a button naming a brand ("Sign in to
    PayPal") that goes neither to the brand nor to the sender's own domain."""
    if _link_reason(ctx, "text_href_mismatch"):
        return True
    for link in itertools.islice(ctx.view.links, 100):
        if not link.text or len(link.text.split()) > MAX_BUTTON_WORDS:
            continue
        if not _BUTTON.search(P.utf8(link.text)):
            continue
        host = A.link_host(link.href)
        if not host or (ctx.from_reg and P.registrable_domain(host) == ctx.from_reg):
            continue
        if any(not PH.owned_by(b, host) for b in PH.named_brands(skeleton(link.text))):
            return True
    return False


def _lookalike_brand(ctx: _Ctx) -> bool:
    domains = (ctx.view.from_domain, *ctx.view.address_domains("reply-to"), *ctx.link_hosts)
    return any(PH.lookalike(d) for d in domains if d)


def _lookalike_contact(ctx: _Ctx) -> bool:
    if not ctx.known:
        return False
    domains = (ctx.view.from_domain, *ctx.view.address_domains("reply-to"), *ctx.link_hosts)
    return any(PH.lookalike(d, ctx.known) for d in domains
               if d and P.registrable_domain(d) not in ctx.local_domains)


def _new_sender_request(ctx: _Ctx) -> bool:
    if ctx.known is None or not ctx.from_reg or ctx.from_reg in ctx.known:
        return False
    if ctx.from_reg in ctx.local_domains or ctx.view.from_domain in ctx.local_domains:
        return False
    if _verified_brand(ctx):  # a bank's or a carrier's own first mail
        return False
    domain = ctx.view.from_domain
    foreign = any(not PH.owned_by(b, domain) for b in ctx.display_brands | ctx.content_brands)
    return (_phish_action(ctx) or bool(ctx.hits & {"_PAYMENT", "SE_MONEY_TRANSFER"})
            or foreign)


MAX_ATTACHMENT_CHARS = 1_000_000


def _credential_attachment(ctx: _Ctx) -> bool:
    if ctx.message is None or "html_or_svg" not in ctx.attachment_reasons:
        return False
    for part, ctype, filename, is_body in iter_leaf_parts(ctx.message):
        if is_body:
            continue
        markup = A.extension(filename) in P.HTML_EXT or ctype in ("text/html", "image/svg+xml")
        if markup and PH.credential_form(part_text(part, MAX_ATTACHMENT_CHARS)):
            return True
    return False


_ACTIVE_SRC = P.compile_re2(
    r"(?i)<(?:form|iframe|embed|object|frame)\b[^>]*\b(?:action|src|data)\s*=\s*[\"']?\s*"
    r"(?:blob:|data:\s*(?:text|application))")


def _data_blob(ctx: _Ctx) -> bool:
    return any(PH.unsafe_scheme(link.href) for link in ctx.view.links) or bool(
        ctx.view.html and _ACTIVE_SRC.search(P.utf8(ctx.view.html)))


def _redirect(ctx: _Ctx) -> bool:
    """A redirector link to a third domain in a message asking to sign in, verify or pay
    (newsletters and translators link through redirectors too, asking for nothing)."""
    if not ctx.hits & {"_VERIFY", "_ACCOUNT", "_PAYMENT", "SE_CREDENTIAL_REQUEST"}:
        return False
    for link in itertools.islice(ctx.view.links, 200):
        target = PH.redirect_target(link.href)
        if target and P.registrable_domain(target) != ctx.from_reg:
            return True
    return False


QR_MAX_WORDS = 15
_IMG = P.compile_re2(r"(?i)<img\b")
_PIXEL = P.compile_re2(r"(?i)<img\b[^>]*\b(?:width|height)\s*=\s*[\"']?\s*[01](?:px)?[\"'\s/>]")


def _qr_only(ctx: _Ctx) -> bool:
    """An image (attached, inline or in the HTML) and almost no text: the request is in the
    picture (a QR code to scan), where no text or link filter can read it."""
    images = sum(a.content_type.lower().startswith("image/") for a in ctx.view.attachments)
    if ctx.view.html:
        html = P.utf8(ctx.view.html)
        images += len(list(itertools.islice(_IMG.finditer(html), 50)))
        images -= len(list(itertools.islice(_PIXEL.finditer(html), 50)))
    if images <= 0:
        return False
    words = len(ctx.view.body_text.split())
    if words >= QR_MAX_WORDS:
        return False
    return words == 0 or bool(ctx.hits & {"_SCAN", "_URGENCY"})


_LIST_HEADERS = ("list-id", "list-post", "mailing-list")


def _reply_to_elsewhere(ctx: _Ctx) -> bool:
    """Replies go to a free-mail address while From is an organisation's, or to anywhere
    else while From names or is a brand."""
    if not ctx.from_reg or any(ctx.view.has_header(h) for h in _LIST_HEADERS):
        return False
    others = [d for d in ctx.view.address_domains("reply-to")
              if P.registrable_domain(d) != ctx.from_reg]
    if not others:
        return False
    if PH.is_freemail(ctx.from_reg):
        return False
    if any(PH.is_freemail(d) for d in others):
        return True
    return bool(ctx.display_brands) or PH.brand_of_domain(ctx.from_reg) is not None


def _brand_dmarc(ctx: _Ctx) -> bool:
    return (ctx.auth.source != "absent" and ctx.auth.dmarc != "pass"
            and bool(ctx.from_reg) and PH.brand_of_domain(ctx.from_reg) is not None)


def _link_reason(ctx: _Ctx, reason: str) -> bool:
    return reason in ctx.link_reasons


def _attachment_reason(ctx: _Ctx, reason: str) -> bool:
    return reason in ctx.attachment_reasons


def _subject_caps(ctx: _Ctx) -> bool:
    letters = [c for c in ctx.view.subject if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.8


def _exclamations(ctx: _Ctx) -> bool:
    body = ctx.view.body_text
    count = body.count("!")
    return count >= 5 and count * 300 >= len(body)


def _shouting(ctx: _Ctx) -> bool:
    words = [w for w in filter(str.isalpha, ctx.view.body_text[:20000].split()) if len(w) >= 3]
    return len(words) >= 20 and sum(map(str.isupper, words)) * 5 > len(words)


def _unique_links(ctx: _Ctx) -> int:
    return len({link.href for link in ctx.view.links})


def _is_html_only(ctx: _Ctx) -> bool:
    return bool(ctx.view.html) and not ctx.view.text.strip()


BAYES_SPAM = 0.95
BAYES_LIKELY = 0.80
BAYES_HAM = 0.05
# Points CS_BAYES_HAM may take back: content-level rules only, never the rules that flag an
# attack on the agent (injection, exfiltration, social engineering), phishing, attachments
# or authentication failures, so hammy-looking text cannot launder an attack.
_SOFT_PREFIXES = ("CS_", "LINKS_", "HDR_", "AUTH_NO_RESULTS", "PH_MANY_LINKS_NO_UNSUB")
# CS_LEGIT_BULK only applies when none of these fired (PH_MANY_LINKS_NO_UNSUB is soft).
_HARD_PREFIXES = ("PI_", "DX_", "SE_", "PH_", "ATT_", "AUTH_SPF_", "AUTH_DKIM_", "AUTH_DMARC_")


def _consistent_sender(view: MessageView, auth: AuthVerdicts) -> bool:
    """The From domain is the domain the mail really comes from: DMARC passed, or the
    envelope sender (Return-Path) is on the same registrable domain as From."""
    if auth.dmarc == "pass":
        return True
    if auth.dmarc == "fail" or not view.from_domain:
        return False
    envelope = parseaddr(view.header("return-path"))[1]
    return "@" in envelope and P.registrable_domain(
        domain_of(envelope, validate=False)) == P.registrable_domain(view.from_domain)


def _legit_bulk(view: MessageView, auth: AuthVerdicts, fired: list[RuleHit]) -> bool:
    """Legitimate bulk mail: List-Unsubscribe, consistent sender, no attack/phishing signal."""
    if not view.has_header("list-unsubscribe"):
        return False
    if any(h.id.startswith(_HARD_PREFIXES) and h.id != "PH_MANY_LINKS_NO_UNSUB" for h in fired):
        return False
    return _consistent_sender(view, auth)


def _bayes_band(ctx: _Ctx, low: float, high: float) -> bool:
    return ctx.bayes_p is not None and low <= ctx.bayes_p < high


def _auth_result(attr: str, value: str) -> Callable[[_Ctx], bool]:
    return lambda ctx: getattr(ctx.auth, attr) == value


# Rule id -> check. Phrase rules (in _TEXT_PATTERNS/_RAW_PATTERNS) need no entry.
_CHECKS: dict[str, Callable[[_Ctx], bool]] = {
    "PI_INVISIBLE_UNICODE": _invisible,
    "PI_CLASSIFIER": lambda c: injection_model.is_injection(c.shown),
    "PI_OBFUSCATED": lambda c: (
        "_DECODE_FOLLOW" in c.hits
        or bool(c.revealed)
        or bool(_INJECTION_SET.match(deobfuscate(c.shown) + "\n" + _tag_decoded(c)) - c.hits)
    ),
    "SE_URGENCY_AUTHORITY": lambda c: "_URGENCY" in c.hits and "_AUTHORITY" in c.hits,
    "DX_SEND_TO_EXTERNAL": _send_external,
    "SE_CREDENTIAL_REQUEST": _credential_request,
    "DX_EXFIL_ENDPOINT": lambda c: "_EXFIL" in c.hits or _link_reason(c, "exfiltration_endpoint"),
    "PH_BRAND_IMPERSONATION": _brand,
    "PH_VERIFY_ACCOUNT": lambda c: "_VERIFY" in c.hits and bool(c.view.links),
    "PH_IP_URL": lambda c: _link_reason(c, "ip_address"),
    "PH_URL_SHORTENER": lambda c: _link_reason(c, "url_shortener"),
    "PH_DEEP_SUBDOMAIN": lambda c: _link_reason(c, "deep_subdomain"),
    "PH_SCRIPT_URI": lambda c: "_SCRIPT_URI" in c.hits or _link_reason(c, "script_uri"),
    "PH_IDN_SENDER": lambda c: A.is_lookalike_domain(c.view.from_domain),
    "PH_LINK_TEXT_MISMATCH": _link_mismatch,
    "PH_BRAND_IN_CONTENT": _brand_content,
    "PH_LOOKALIKE_BRAND": _lookalike_brand,
    "PH_LOOKALIKE_CONTACT": _lookalike_contact,
    "PH_NEW_SENDER_REQUEST": _new_sender_request,
    "PH_CREDENTIAL_ATTACHMENT": _credential_attachment,
    "PH_DATA_BLOB_URL": _data_blob,
    "PH_REDIRECT_URL": _redirect,
    "PH_QR_ONLY": _qr_only,
    "PH_REPLY_TO_ELSEWHERE": _reply_to_elsewhere,
    "PH_BRAND_DMARC": _brand_dmarc,
    "PH_CLICK_URGENCY": lambda c: "_CLICK" in c.hits and "_URGENCY" in c.hits,
    "PH_MANY_LINKS_NO_UNSUB": lambda c: (
        _unique_links(c) >= 5 and not c.view.has_header("list-unsubscribe")
    ),
    "AUTH_SPF_FAIL": _auth_result("spf", "fail"),
    "AUTH_SPF_SOFTFAIL": _auth_result("spf", "softfail"),
    "AUTH_DKIM_FAIL": _auth_result("dkim", "fail"),
    "AUTH_DMARC_FAIL": _auth_result("dmarc", "fail"),
    "AUTH_NO_RESULTS": lambda c: c.auth.source == "absent",
    "ATT_EXECUTABLE": lambda c: _attachment_reason(c, "executable"),
    "ATT_DOUBLE_EXTENSION": lambda c: _attachment_reason(c, "double_extension"),
    "ATT_ARCHIVE": lambda c: _attachment_reason(c, "archive"),
    "ATT_HTML_SVG": lambda c: _attachment_reason(c, "html_or_svg"),
    "HDR_NO_MESSAGE_ID": lambda c: not c.view.header("message-id").strip(),
    "HDR_EMPTY_FROM": lambda c: "@" not in c.view.from_addr,
    "HDR_REPLY_TO_MISMATCH": lambda c: (
        bool(c.view.from_domain)
        and any(
            P.registrable_domain(d) != P.registrable_domain(c.view.from_domain)
            for d in c.view.address_domains("reply-to")
        )
    ),
    "CS_SUBJECT_CAPS": _subject_caps,
    "CS_LOUD_HTML": lambda c: bool(c.view.html) and bool(_LOUD_HTML.search(P.utf8(c.view.html))),
    "CS_EXCLAMATIONS": _exclamations,
    "CS_SHOUTING_BODY": _shouting,
    "CS_SUBJECT_BULK_TAG": lambda c: bool(_SUBJECT_TAG.search(c.view.subject)),
    "CS_SHORT_HTML_PROMO": lambda c: (
        _is_html_only(c) and bool(c.view.links) and len(c.view.html_text.split()) < 30
    ),
    "CS_BULK_REMOVAL": lambda c: (
        "CS_BULK_REMOVAL" in c.hits and not c.view.has_header("list-unsubscribe")
    ),
    "CS_SUBJECT_PUNCTUATION": lambda c: sum(c.view.subject.count(x) for x in "!?") >= 4,
    "CS_HTML_ONLY": _is_html_only,
    "CS_SPAM_WORDS_FEW": lambda c: 3 <= c.phrase_density <= 5,
    "CS_SPAM_WORDS": lambda c: 5 < c.phrase_density <= 10,
    "CS_SPAM_WORDS_HEAVY": lambda c: c.phrase_density > 10,
    "LINKS_MANY": lambda c: _unique_links(c) >= 10,
    "CS_BAYES_SPAM": lambda c: _bayes_band(c, BAYES_SPAM, 2.0),
    "CS_BAYES_LIKELY": lambda c: _bayes_band(c, BAYES_LIKELY, BAYES_SPAM),
}
_AFTER_LOOP = frozenset({"PI_MULTIPLE_SIGNALS", "CS_BAYES_HAM", "CS_LEGIT_BULK"})


_AGENT_ATTACK = frozenset({"prompt_injection", "data_exfiltration", "social_engineering"})


def _check(rule: Rule, ctx: _Ctx) -> bool:
    fn = _CHECKS.get(rule.id)
    if fn is not None:
        return bool(fn(ctx))
    return rule.id in ctx.hits


def _stamped(parsed: InboundMessage) -> bool:
    if parsed.raw is not None:
        return has_stamp_header(parsed.raw)
    return parsed.message.get("x-agenticmail-origin") is not None


def score(
    raw: bytes | Message | InboundMessage,
    *,
    local_domains: Iterable[str] = frozenset({"localhost"}),
    auth: AuthVerdicts | None = None,
    origin: Origin | None = None,
    known_domains: Iterable[str] | None = None,
) -> Verdict:
    """Score one inbound message (see module docstring); never raises on bad input.

    ``known_domains``: the domains the receiving agent already corresponds with (its
    contacts, :func:`agenticmail.services.contacts.known_domains`); given, a first-contact
    sender asking for credentials or payment, and a domain imitating a known one, score
    (``PH_NEW_SENDER_REQUEST``, ``PH_LOOKALIKE_CONTACT``). None: those rules stay silent.

    ``origin`` is what the caller's check of the origin stamp found: ``VERIFIED`` makes the
    message internal (score 0), ``INVALID`` fires ``HDR_FORGED_ORIGIN``; ``None`` (not checked,
    e.g. no key at hand) treats a stamp header like an invalid one."""
    parsed = read(raw)
    msg, view = parsed.message, parsed.view
    local = frozenset(d.lower() for d in local_domains)
    if auth is None:
        try:
            auth = parse_auth_results(msg) or ABSENT
        except Exception:
            auth = ABSENT
    if origin is Origin.VERIFIED:
        return Verdict(0, False, False, None, (), True, auth)
    text = view.subject + "\n" + view.body_text
    data = text.encode("utf-8", "replace")  # matched as bytes, encoded once for every set
    hits = _text_hits(data) | _RAW_SET.match(data + b"\n" + view.html.encode("utf-8", "replace"))
    # Score what the agent will read: invisible characters dropped, NFKC, look-alike letters
    # as Latin. An attack word only this reading reveals was hidden on purpose (PI_OBFUSCATED).
    shown = skeleton(text)
    revealed: frozenset[str] = frozenset()
    if shown != text:
        shown_hits = _text_hits(shown)
        revealed = frozenset(shown_hits - hits) & _INJECTION_IDS
        hits |= shown_hits
    if origin is Origin.INVALID or (origin is None and _stamped(parsed)):
        hits |= {"HDR_FORGED_ORIGIN"}
    known = None if known_domains is None else frozenset(
        P.registrable_domain(d.lower().lstrip("@")) for d in known_domains)
    ctx = _Ctx(view, text, hits, auth, local, bayes.spam_probability(view), shown, revealed,
               msg, known)
    fired: list[RuleHit] = []
    for rule in RULES:
        if rule.id in _AFTER_LOOP:
            continue
        try:
            if _check(rule, ctx):
                fired.append(RuleHit(rule.id, rule.category, rule.points, rule.description))
        except Exception:
            continue
    if sum(1 for h in fired if h.category in _AGENT_ATTACK) >= 2:
        r = RULES_BY_ID["PI_MULTIPLE_SIGNALS"]
        fired.append(RuleHit(r.id, r.category, r.points, r.description))
    # Negative rules take back content-level points only (never below zero in total).
    soft = sum(h.points for h in fired if h.id.startswith(_SOFT_PREFIXES))
    for rule_id, applies in (
        ("CS_BAYES_HAM", lambda: ctx.bayes_p is not None and ctx.bayes_p < BAYES_HAM),
        ("CS_LEGIT_BULK", lambda: _legit_bulk(view, auth, fired)),
    ):
        try:
            if not applies():
                continue
        except Exception:
            continue
        r = RULES_BY_ID[rule_id]
        back = min(-r.points, soft)
        if back > 0:
            soft -= back
            fired.append(RuleHit(r.id, r.category, -back, r.description))
    total = max(0, min(MAX_SCORE, sum(h.points for h in fired)))
    per_cat: dict[str, int] = {}
    for h in fired:
        per_cat[h.category] = per_cat.get(h.category, 0) + h.points
    category = (
        max(per_cat, key=lambda c: (per_cat[c], -CATEGORY_ORDER.index(c)))
        if per_cat and total > 0
        else None
    )
    return Verdict(
        score=total,
        spam=total >= SPAM_THRESHOLD,
        warning=WARNING_THRESHOLD <= total < SPAM_THRESHOLD,
        category=category,
        rules=tuple(fired),
        internal=False,
        auth=auth,
    )
