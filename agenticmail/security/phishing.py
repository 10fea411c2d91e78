"""Phishing evidence: brands and their real domains, look-alike domains, redirector and
``data:``/``blob:`` links, credential forms in HTML attachments.

The brand list is package data (``data/brands.txt``: about 190 commonly phished banks,
payment services, carriers, cloud and social platforms, tax offices and crypto exchanges, each
with the registrable domains it really sends mail and hosts sign-in pages from). A brand name
written with a leading ``~`` is also an ordinary word ("Apple", "Chase"): it counts only when
written exactly so, and never as part of a domain.

A domain is a *look-alike* of a reference domain (a brand's, or one the agent corresponds with)
when it is not that domain but its registrable label reads the same once look-alike letters
are folded (Unicode confusables via :func:`~.unicode_view.skeleton`, punycode decoded, ``0``
for ``o``, ``rn`` for ``m`` ...), is one edit away (insertion, deletion, substitution or
transposition; labels of 6+ letters), carries the brand as a hyphenated part
(``paypal-secure.com``), or is the brand's label under a foreign top-level domain
(``paypal.co``). Every function here is pure and bounded; none raises on odd input.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from urllib.parse import parse_qsl, unquote, urlsplit

from agenticmail.security import patterns as P
from agenticmail.security.unicode_view import skeleton

__all__ = [
    "Brand",
    "brand_in_subdomain",
    "brand_of_domain",
    "brands",
    "credential_form",
    "fold",
    "is_freemail",
    "lookalike",
    "named_brands",
    "owned_by",
    "redirect_target",
    "unsafe_scheme",
]

MIN_EDIT_LABEL = 6  # labels shorter than this only match by folding (too many real words)
MIN_TOKEN_LABEL = 3  # a hyphenated part must be at least this long to name a brand
MAX_DOMAINS = 50  # distinct domains looked at per message
SHORT_NAME = 4  # an all-capitals name this short (UPS, AOL) is matched in exact case only


@dataclass(frozen=True)
class Brand:
    """One brand: its display name, kind, the names it is called by and its own domains."""

    name: str
    kind: str
    names: tuple[str, ...]
    domains: tuple[str, ...]  # the first is its main one
    ambiguous: bool  # some name is an ordinary word (matched in exact case only)


def _parse(text: str) -> tuple[Brand, ...]:
    out: list[Brand] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, names, domains = (x.strip() for x in line.split("|"))
        raw = [n.strip() for n in names.split(",") if n.strip()]
        out.append(Brand(raw[0].lstrip("~"), kind, tuple(raw),
                         tuple(d.lower() for d in domains.split()),
                         any(n.startswith("~") for n in raw)))
    return tuple(out)


@functools.cache
def brands() -> tuple[Brand, ...]:
    """The packaged brand list."""
    data = resources.files("agenticmail.security").joinpath("data/brands.txt")
    return _parse(data.read_text("utf-8"))


@functools.cache
def _by_domain() -> dict[str, tuple[Brand, ...]]:
    index: dict[str, list[Brand]] = {}
    for brand in brands():
        for domain in brand.domains:
            index.setdefault(P.registrable_domain(domain), []).append(brand)
    return {k: tuple(v) for k, v in index.items()}


@functools.cache
def _name_patterns() -> tuple[P.re2._Regexp, P.re2._Regexp, dict[str, Brand]]:
    """(case-insensitive names, exact-case names, lower-cased name -> brand)."""
    loose: list[str] = []
    exact: list[str] = []
    lookup: dict[str, Brand] = {}
    for brand in brands():
        for name in brand.names:
            plain = name.lstrip("~")
            lookup.setdefault(plain.lower(), brand)
            short = len(plain) <= SHORT_NAME and plain.isupper()  # AOL, SBI: exact case only
            (exact if name.startswith("~") or short else loose).append(re.escape(plain))
    def alternation(names: list[str]) -> str:
        names = sorted(set(names), key=len, reverse=True)
        body = "|".join(n.replace(r"\ ", r"\s+") for n in names)
        # a whole word, not part of an address, a domain or a path (paypal.com, x@paypal)
        return r"(?:^|[^\w.@/-])(" + body + r")\.?(?:$|[^\w.@/-])"
    return (P.compile_re2("(?i)" + alternation(loose)), P.compile_re2(alternation(exact)),
            lookup)


def named_brands(text: str, limit: int = 20_000) -> frozenset[Brand]:
    """Brands named in ``text`` (its first ``limit`` characters) as whole words; a name that
    is part of an address or a domain (``paypal.com``, ``x@paypal``) does not count."""
    loose, exact, lookup = _name_patterns()
    data = P.utf8(text[:limit])
    found: set[Brand] = set()
    for regex in (loose, exact):
        for m in regex.finditer(data):
            brand = lookup.get(" ".join(m.group(1).decode().lower().split()))
            if brand is not None:
                found.add(brand)
            if len(found) >= 20:
                break
    return frozenset(found)


# Country-code top-level domains a brand may run under its own name (amazon.de, dhl.fr); the
# cheap, much abused ones are not among them.
_ABUSED_CC = P.wordset("co cc tk ml ga cf gq ws to ly su io ai me so tv gg")


def _suffix(registrable: str) -> str:
    return registrable.split(".", 1)[1] if "." in registrable else ""


def _label(registrable: str) -> str:
    return registrable.split(".", 1)[0]


def _country_variant(registrable: str) -> bool:
    suffix = _suffix(registrable)
    return suffix in P.SECOND_LEVEL_SUFFIXES or (len(suffix) == 2 and suffix not in _ABUSED_CC)


def owned_by(brand: Brand, domain: str) -> bool:
    """Whether ``domain`` (any host) belongs to ``brand``: one of its registrable domains, or
    its name under a country's top-level domain (amazon.de for amazon.com)."""
    reg = P.registrable_domain(domain)
    if not reg:
        return False
    if reg in _regs(brand):
        return True
    return _country_variant(reg) and _label(reg) in _labels(brand)


def brand_of_domain(domain: str) -> Brand | None:
    """The brand ``domain`` belongs to, if any (for 'a brand's domain failed DMARC')."""
    found = _by_domain().get(P.registrable_domain(domain))
    return found[0] if found else None


@functools.cache
def _regs(brand: Brand) -> frozenset[str]:
    return frozenset(P.registrable_domain(d) for d in brand.domains)


@functools.cache
def _labels(brand: Brand) -> frozenset[str]:
    return frozenset(_label(r) for r in _regs(brand))


# Registrable labels of brand domains that are ordinary words or shared by unrelated sites:
# never compared for look-alikes.
_GENERIC_LABELS = P.wordset(
    "gov my canada office live outlook mail email crypto blockchain booking discover target "
    "square signal cash force gemini ledger orange sky box wise stripe proton chase zoom slack "
    "meta steam uber valve kraken phantom telegram discord nationwide halifax vanguard apple "
    "windows "
    "visa ups me mac fb wu sc db bt td cba nab ing anz gen"
)

_ASCII_FOLD = str.maketrans("013458$@!|", "oleasbsaii")


def fold(label: str) -> str:
    """A domain label with look-alike letters folded (see the module docstring)."""
    if label.startswith("xn--"):
        with contextlib.suppress(Exception):
            label = label.encode("ascii").decode("idna")
    label = skeleton(label).lower()
    for a, b in (("rn", "m"), ("vv", "w"), ("cl", "d")):
        label = label.replace(a, b)
    return label.translate(_ASCII_FOLD).replace("l", "i")


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))} | {word}


def _one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance of ``a`` and ``b`` is exactly one."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


@dataclass(frozen=True)
class _Index:
    """Reference labels: exact (label -> its reference domain), folded (folded label ->
    (label, reference)), one-deletion neighbourhoods and hyphen-part tokens."""

    exact: dict[str, str]
    folded: dict[str, tuple[str, str]]
    deletes: dict[str, tuple[str, ...]]
    tokens: dict[str, str]


def _index(pairs: Iterable[tuple[str, str]], *, generic: frozenset[str] = frozenset(),
           tokens: bool = False) -> _Index:
    """Generic labels (ordinary words) only match when look-alike letters were folded."""
    exact: dict[str, str] = {}
    folded: dict[str, tuple[str, str]] = {}
    deletes: dict[str, list[str]] = {}
    toks: dict[str, str] = {}
    for label, reference in pairs:
        folded.setdefault(fold(label), (label, reference))
        if label in generic:
            continue
        exact.setdefault(label, reference)
        if len(label) >= MIN_EDIT_LABEL:
            for d in _deletes(label):
                deletes.setdefault(d, []).append(label)
        if tokens and len(label) >= MIN_TOKEN_LABEL:
            toks.setdefault(label, reference)
            toks.setdefault(fold(label), reference)
    return _Index(exact, folded, {k: tuple(v) for k, v in deletes.items()}, toks)


@functools.cache
def _brand_index() -> _Index:
    pairs = []
    for brand in brands():
        for domain in brand.domains:
            label = _label(P.registrable_domain(domain))
            if len(label) >= MIN_TOKEN_LABEL:
                pairs.append((label, domain))
    return _index(pairs, generic=_GENERIC_LABELS, tokens=True)


def _match(reg: str, index: _Index) -> str | None:
    label = _label(reg)
    if len(label) < MIN_TOKEN_LABEL:
        return None
    if label in index.exact:
        # the reference's own label under another suffix: a country variant is fine
        return None if _country_variant(reg) else index.exact[label]
    original, reference = index.folded.get(fold(label), ("", ""))
    if reference and original != label:
        return reference
    if len(label) >= MIN_EDIT_LABEL - 1:
        for d in _deletes(label):
            for candidate in index.deletes.get(d, ()):
                if _one_edit(label, candidate):
                    return index.exact[candidate]
    if index.tokens and "-" in label:
        for part in label.split("-"):
            found = index.tokens.get(part) or index.tokens.get(fold(part))
            if found:
                return found
    return None


@functools.lru_cache(maxsize=4096)
def _brand_lookalike(reg: str) -> str | None:
    """The brand domain ``reg`` imitates (pure: a day's mail names few domains, each judged
    once)."""
    return _match(reg, _brand_index())


def lookalike(domain: str, known: Iterable[str] = ()) -> str | None:
    """The reference domain ``domain`` imitates: a brand's (when ``known`` is empty) or one
    of the ``known`` correspondent domains; None when it imitates none (see module doc).
    A domain that belongs to a brand, or is itself known, imitates nothing."""
    reg = P.registrable_domain(domain)
    if not reg or "." not in reg or _by_domain().get(reg):
        return None
    known = tuple(known)
    if not known:
        return _brand_lookalike(reg)
    regs = {P.registrable_domain(k) for k in known}
    if reg in regs:
        return None
    pairs = [(_label(r), r) for r in sorted(regs)
             if len(_label(r)) >= MIN_EDIT_LABEL - 1 and not _by_domain().get(r)]
    return _match(reg, _index(pairs)) if pairs else None


_SUFFIX_LABELS = frozenset({"com", "net", "org", "co"})


def brand_in_subdomain(host: str) -> str | None:
    """The brand domain a host wears inside someone else's domain: its name followed by a
    suffix (``paypal.com.login.example``) or as a hyphenated part of any label
    (``secure-paypal.example.net``, ``paypal-login.evil.example``); None when it wears none
    or belongs to that brand."""
    labels = host.lower().strip(".").split(".")
    reg = P.registrable_domain(host)
    sub = labels[: len(labels) - len(reg.split("."))]
    tokens = _brand_index().tokens
    found = [tokens[a] for a, b in itertools.pairwise(sub) if a in tokens and b in _SUFFIX_LABELS]
    found += [tokens[part] for label in labels if "-" in label
              for part in label.split("-") if part in tokens]
    for reference in found:
        brand = brand_of_domain(reference)
        if brand is None or not owned_by(brand, host):
            return reference
    return None


FREEMAIL = P.wordset(
    "gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr ymail.com rocketmail.com "
    "outlook.com hotmail.com hotmail.co.uk hotmail.fr live.com msn.com aol.com icloud.com me.com "
    "mac.com mail.com email.com gmx.com gmx.de gmx.net web.de protonmail.com proton.me pm.me "
    "zoho.com yandex.com yandex.ru mail.ru inbox.ru list.ru bk.ru qq.com 163.com 126.com "
    "sina.com naver.com daum.net tutanota.com tuta.io fastmail.com hushmail.com mailfence.com "
    "seznam.cz libero.it virgilio.it orange.fr laposte.net free.fr t-online.de rediffmail.com"
)


def is_freemail(domain: str) -> bool:
    """A free webmail domain anyone can get an address at."""
    domain = domain.lower().strip(".")
    return domain in FREEMAIL or P.registrable_domain(domain) in FREEMAIL


_EMBEDDED_URL = re.compile(r"(?i)https?(?::|%3a)(?:/|%2f){2}([^/?#&%\s]{1,253})")
_BASE64_URL = re.compile(r"aHR0cHM6Ly[A-Za-z0-9+/_-]{4,400}|aHR0cDovL[A-Za-z0-9+/_-]{4,400}")


def _unbase64(value: str) -> str:
    """A base64-encoded http(s) URL inside ``value`` (bing.com/ck/a?u=a1aHR0cHM6Ly...)."""
    m = _BASE64_URL.search(value)
    if not m:
        return ""
    chunk = m.group(0).replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(chunk + "=" * (-len(chunk) % 4)).decode("ascii", "replace")
    except ValueError:
        return ""


def redirect_target(href: str) -> str | None:
    """The host a redirector link sends the reader on to: a query value, or a path segment,
    that is itself an http(s) URL on another registrable domain than the link's own
    (google.com/url?q=https://evil, bing.com/ck/a?...&u=..., safelinks, /redirect/https://...).
    """
    if len(href) <= 8192:  # most links: decided without parsing (a long one is parsed)
        plain = unquote(href) if "%" in href else href
        if plain.lower().count("http") < 2 and "aHR0c" not in plain:
            return None  # no second http(s) URL, plain, percent- or base64-encoded
    try:
        parts = urlsplit(href.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    own = P.registrable_domain(parts.hostname)
    candidates = [v for _, v in parse_qsl(parts.query[:4000], keep_blank_values=False)[:30]]
    candidates.append(unquote(parts.path[:2000]))
    for value in candidates:
        value = value[:2000]
        m = _EMBEDDED_URL.search(value) or _EMBEDDED_URL.search(_unbase64(value))
        if not m:
            continue
        host = unquote(m.group(1)).split("@")[-1].split(":")[0].lower().strip(".")
        if host and "." in host and P.registrable_domain(host) != own:
            return host
    return None


def unsafe_scheme(href: str) -> bool:
    """A ``blob:`` link, or a ``data:`` link that is not an image (a page or a file the
    browser builds from the link itself, where no URL filter can see it)."""
    h = href.strip().lower()
    if h.startswith("blob:"):
        return True
    return h.startswith("data:") and not h.startswith("data:image/")


_PASSWORD_INPUT = P.compile_re2(
    r"(?is)<input\b[^>]*\btype\s*=\s*[\"']?\s*password|\.type\s*=\s*[\"']password[\"']")
_FORM = P.compile_re2(r"(?i)<form\b")
_REMOTE_POST = P.compile_re2(
    r"(?is)(?:\bfetch\s*\(|XMLHttpRequest|\$\.(?:ajax|post)\s*\(|sendBeacon\s*\(|"
    r"\.submit\s*\(|api\.telegram\.org)[^<]{0,1000}?https?:|"
    r"(?:\baction\s*=\s*[\"']?\s*https?:)"
)
_DATA_REDIRECT = P.compile_re2(
    r"(?is)(?:location(?:\.href)?\s*=|location\.(?:replace|assign)\s*\(|window\.open\s*\()"
    r"\s*[\"'`]?\s*(?:data:|blob:)")
_SMUGGLE = P.compile_re2(
    r"(?is)(?:atob|unescape|decodeURIComponent)\s*\([^)]{0,200}\)[^<]{0,400}?"
    r"document\.write|document\.write\s*\(\s*(?:atob|unescape|decodeURIComponent)\s*\(")


def credential_form(markup: str) -> str | None:
    """Why an HTML/SVG attachment is a phishing page, or None: a form with a password field,
    script that posts to a remote host (or a form whose action is one) next to a password
    field, navigation to a ``data:``/``blob:`` URL, or script that decodes and writes out a
    hidden page (HTML smuggling)."""
    markup = markup[:1_000_000]
    password = bool(_PASSWORD_INPUT.search(markup))
    if password and (_FORM.search(markup) or _REMOTE_POST.search(markup)):
        return "password form"
    if _DATA_REDIRECT.search(markup):
        return "navigates to a data:/blob: URL"
    if _SMUGGLE.search(markup):
        return "decodes and writes out a hidden page"
    if _REMOTE_POST.search(markup) and "<script" in markup.lower():
        return "script posts to a remote host"
    return None
