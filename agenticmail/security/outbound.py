"""Outbound guard (DLP): find secrets, PII and the owner's private details in mail an agent sends.

Pure: no I/O, no clock. :func:`scan_message` scans a message exactly as it will leave (the raw
bytes the daemon queues, for mail from the API and from SMTP submission alike): every header of
the message and of each MIME part (display names, ``X-`` headers, ``References``, filenames
included), the MIME preamble and epilogue, every decoded body part and every attachment, with
archives and compressed files opened recursively (:mod:`.dlp_archives`: zip/OOXML, gzip,
bzip2, xz, tar). :func:`scan_outgoing` scans the fields of an
:class:`~agenticmail.models.OutgoingMail` the same way (evaluations and tools). Any HIGH
finding blocks; MEDIUM findings are reported only. Whether a message needs scanning at all
(every recipient a local agent → no) is the caller's decision.

Nothing is passed unread: long texts are scanned in overlapping windows, and whatever cannot
be read in full (a message over :data:`MAX_MESSAGE_BYTES`, more than :data:`MAX_PARTS` parts
or :data:`MAX_HEADERS` headers, archives nested deeper than :data:`~.dlp_archives.MAX_DEPTH`,
an encrypted member, a corrupt archive, 7z/RAR, an archive expanding past its budget) is a
HIGH ``unscannable`` finding ("could not be scanned in full: …"), so the owner decides.

Evasion handled before matching: HTML tags are removed *without* inserting spaces inside words
(``AKI<b>A</b>IOSFODNN7EXAMPLE``), entities are decoded (named and numeric, twice for
double-encoding), comments / script / attribute values are scanned too, zero-width and
soft-hyphen characters are dropped, Unicode is NFKC-normalised (full-width digits) and
Cyrillic/Greek look-alike letters are mapped to Latin; printable text hidden in base64 runs
is decoded and scanned as well. The rule table is :mod:`.dlp_rules` (validators in
:mod:`.dlp_checks`); multi-line detectors and owner-profile matching are in
:mod:`.dlp_detectors`.

Matching is linear: every rule is RE2 (:mod:`.dlp_rules`), evaluated after one
:class:`~agenticmail.security.patterns.PatternSet` pass that tells which rules can match at
all; candidate counts and text sizes are capped so adversarial input stays fast.
Previews are masked: a finding never carries the whole secret.
"""

from __future__ import annotations

import base64
import bisect
import dataclasses
import html as html_lib
import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from email.message import Message

from agenticmail.models import Attachment, OutgoingMail
from agenticmail.security import dlp_archives as A
from agenticmail.security import dlp_checks as C
from agenticmail.security import dlp_detectors as D
from agenticmail.security import dlp_rules as R
from agenticmail.security import mime_view as inbound
from agenticmail.security.dlp_detectors import Hit, OwnerProfile
from agenticmail.security.patterns import PatternSet, compile_re2

MAX_SCAN_CHARS = 4 * 1024 * 1024  # text scanned in one window (longer text: several windows)
WINDOW_OVERLAP = 64 * 1024  # windows overlap, so an item across a window edge is seen whole
MAX_MATCHES_PER_RULE = 2000  # candidates validated per rule and window
MAX_HITS_PER_RULE = 100  # findings kept per rule and window (more say nothing new)
MAX_FINDINGS = 200
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a larger raw message is not scanned (held)
MAX_PARTS = inbound.MAX_PARTS  # MIME parts of one message (each a leaf or a container)
MAX_HEADERS = 2000  # header fields of one message, all parts together
UNSCANNABLE = "unscannable"

# fmt: off
HIGH_RISK_EXT = frozenset((
    "credentials", "env", "jks", "kdbx", "key", "keystore", "p12", "p8", "pem", "pfx", "ppk",
))
MEDIUM_RISK_EXT = frozenset((
    "bak", "conf", "config", "csv", "db", "dump", "ini", "json", "sql", "sqlite", "sqlite3",
    "tsv", "yaml", "yml",
))
HIGH_RISK_NAMES = frozenset((  # well-known secret files without a telling extension
    ".dockercfg", ".git-credentials", ".htpasswd", ".netrc", ".npmrc", ".pgpass", ".pypirc",
    "_netrc", "credentials", "id_dsa", "id_ecdsa", "id_ed25519", "id_rsa", "kubeconfig",
    "shadow", "wallet.dat",
))
TEXT_EXT = frozenset((  # attachment content read as text
    "bash", "bat", "c", "cfg", "conf", "config", "cpp", "credentials", "cs", "css", "csv", "eml",
    "env", "gitconfig", "go", "h", "hcl", "htm", "html", "ics", "ini", "java", "js", "json",
    "key", "kt", "log", "markdown", "md", "mjs", "netrc", "npmrc", "p8", "pem", "pgpass", "php",
    "pl", "properties", "ps1", "py", "rb", "rs", "rtf", "sh", "sql", "srt", "swift", "text",
    "tf", "tfvars", "toml", "ts", "tsv", "txt", "vcf", "xhtml", "xml", "yaml", "yml", "zsh",
))
TEXT_TYPES = (
    "text/", "application/json", "application/xml", "application/yaml", "application/x-yaml",
    "application/javascript", "application/x-sh", "application/sql", "application/toml",
    "application/x-pem-file",
)
INLINE_TAGS = frozenset((  # removed without a break, so a tag inside a word cannot split it
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font",
    "i", "ins", "kbd", "label", "mark", "nobr", "o:p", "q", "s", "samp", "small", "span",
    "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
))
_XML_BREAKS = frozenset(("br", "cell", "cr", "h", "p", "row", "sheetdata", "si", "tab", "tc", "tr"))
# fmt: on
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONFUSABLES = str.maketrans(
    "АВЕКМНОРСТХаеорсухіјѕԁԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧοιν",
    "ABEKMHOPCTXaeopcyxijsdqwABEZHIKMNOPTYXoiv",
)
_B64_RUN = compile_re2(r"[A-Za-z0-9+/]{24,1000}={0,2}")
MAX_B64_RUNS = 50
_SEVERITY_RANK = {R.HIGH: 0, R.MEDIUM: 1, R.LOW: 2}


@dataclass(frozen=True)
class Finding:
    """One sensitive item: what rule, how bad, where, and a masked preview."""

    rule_id: str
    category: str
    severity: str  # "high" | "medium" | "low"
    where: str  # "subject" | "text" | "html" | "attachment:<name>" | "header:<name>"
    preview: str
    description: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class ScanResult:
    """Verdict of one scan: ``blocked`` iff any finding is HIGH."""

    blocked: bool
    findings: tuple[Finding, ...]
    summary: str

    @property
    def high(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == R.HIGH)

    @property
    def medium(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == R.MEDIUM)

    def to_dict(self) -> dict[str, object]:
        return {
            "blocked": self.blocked,
            "findings": [f.to_dict() for f in self.findings],
            "summary": self.summary,
        }


# --- compiled tables -----------------------------------------------------------------------
_RULES = R.RULES
_SET = PatternSet({str(i): rule.pattern for i, rule in enumerate(_RULES)})
_COMPILED = [compile_re2(rule.pattern) for rule in _RULES]
_RULE_ORDER = {id(rule): i for i, rule in enumerate(_RULES)}  # earlier = more specific

_WIRE = compile_re2(
    r"(?i)\b(?:wire[ds]?|wiring|remit|remittance|bank\s+transfer|beneficiary|payment\s+instructions"
    r"|transfer\s+(?:the\s+)?funds)\b"
)
_WIRE_NUMBER = compile_re2(
    r"(?i)\b(?:account|acct|a/c|routing|aba|iban|swift|sort\s+code)\b[^\n\d]{0,30}"
    r"(\d[\d \-]{4,20}\d)"
)
_SPANLESS = frozenset({"env_block", "backup_codes"})  # block-level: never shadow line findings
_WIRE_DETAIL_RULES = frozenset({"bank_account", "bank_routing", "iban", "swift_bic"})


# --- text preparation ----------------------------------------------------------------------
def normalize(text: str) -> str:
    """Drop invisible characters, NFKC-fold (full-width digits, ligatures), map Cyrillic/Greek
    look-alike letters to Latin, cap the length."""
    text = text[:MAX_SCAN_CHARS]
    text = _INVISIBLE.sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_CONFUSABLES)
    return text


def encoded_views(text: str) -> str:
    """Printable text hidden in base64 runs (a secret encoded to slip past the rules)."""
    views: list[str] = []
    for m in itertools.islice(_B64_RUN.finditer(text), MAX_B64_RUNS):
        chunk = m.group(0)
        try:
            data = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=False)
        except ValueError:
            continue
        decoded = _decode(data)
        if decoded and sum(c.isprintable() or c in "\r\n\t" for c in decoded) > 0.95 * len(decoded):
            views.append(decoded)
    return "\n".join(views)


def _inline(tag: str) -> bool:
    """Inline HTML tags, and XML-namespaced run tags (``w:t``, ``w:r``): no break inside words."""
    if ":" in tag:
        return tag.rsplit(":", 1)[1] not in _XML_BREAKS
    return tag in INLINE_TAGS


def html_text(html: str) -> str:
    """Everything readable in HTML: text with inline tags removed (not spaced), comments,
    script/style bodies and attribute values, entities decoded."""
    body: list[str] = []
    attrs: list[str] = []
    for kind, value, attributes, _ in inbound.tokenize(html):
        if kind == "text":
            body.append(value)
        elif kind in ("start", "end"):
            body.append("" if _inline(value) else "\n")
            attrs.extend(
                v for k, v in attributes if len(v) >= 6 and k not in ("class", "id", "width")
            )
        else:  # comment, rawtext
            body.append("\n" + value + "\n")
    text = "".join(body)
    for _ in range(2):
        if "&" not in text:
            break
        text = html_lib.unescape(text)
    if attrs:
        text += "\n" + "\n".join(attrs)
    return text


def _decode(data: bytes) -> str | None:
    """Bytes as text when they look like text (BOM-aware); ``None`` for binary."""
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    if b"\x00" in head:
        return None
    text = data.decode("utf-8", "replace")
    sample = text[:4096]
    bad = sum(1 for c in sample if c == "\ufffd" or (ord(c) < 32 and c not in "\t\r\n\f"))
    return text if not sample or bad / len(sample) < 0.05 else data.decode("latin-1")


# --- scanning one blob ---------------------------------------------------------------------


def _rule_hits(text: str) -> list[Hit]:
    hits: list[Hit] = []
    for key in _SET.match(text):
        i = int(key)
        rule = _RULES[i]
        kept = 0
        for m in itertools.islice(_COMPILED[i].finditer(text), MAX_MATCHES_PER_RULE):
            if kept >= MAX_HITS_PER_RULE:
                break
            g = rule.group or next((j for j in range(1, (m.lastindex or 0) + 1) if m.group(j)), 0)
            value = m.group(g)
            if not value:
                continue
            start, end = m.start(g), m.end(g)
            severity = rule.check(value, text, start, end) if rule.check else rule.severity
            if severity is None:
                continue
            preview = (rule.mask or C.mask)(value)
            kept += 1
            hits.append(
                Hit(rule, rule.id, rule.category, severity, start, end, preview, rule.description)
            )
    return hits


def _dedupe(hits: list[Hit]) -> list[Hit]:
    """Keep the most severe (then earliest-listed) rule where candidates overlap."""
    hits.sort(key=lambda h: (_SEVERITY_RANK[h.severity], _RULE_ORDER.get(id(h.rule), 999), h.start))
    kept: list[Hit] = []
    starts: list[int] = []  # kept spans never overlap each other: sorted starts and ends suffice
    ends: list[int] = []
    for h in hits:
        if h.rule_id in _SPANLESS:
            kept.append(h)
            continue
        i = bisect.bisect_left(starts, h.end)  # spans starting before h ends ...
        if i and ends[i - 1] > h.start:  # ... the last of them reaches into h
            continue
        kept.append(h)
        j = bisect.bisect_left(starts, h.start)
        starts.insert(j, h.start)
        ends.insert(j, h.end)
    return kept


def _wire_instructions(text: str, hits: list[Hit]) -> Hit | None:
    """A wire/remittance phrase with bank details (a found account, IBAN, routing, SWIFT or a
    labelled account-like number) within a few lines of it."""
    for m in itertools.islice(_WIRE.finditer(text), 50):
        lo, hi = max(0, m.start() - 300), m.end() + 400
        detail = next(
            (h for h in hits if h.rule_id in _WIRE_DETAIL_RULES and lo <= h.start < hi), None
        )
        number = None if detail else _WIRE_NUMBER.search(text[lo:hi])
        if detail or number:
            shown = detail.preview if detail else C.mask_digits(number.group(1) if number else "")
            return Hit(None, "wire_instructions", R.FINANCIAL, R.HIGH, m.start(), m.end(),
                       f"{m.group(0)} + {shown}", "Wire transfer instructions")  # fmt: skip
    return None


def scan_text(text: str, where: str, owner: OwnerProfile | None = None) -> list[Finding]:
    """Findings for one piece of text (already extracted from HTML where relevant); text
    longer than :data:`MAX_SCAN_CHARS` is scanned whole, in overlapping windows."""
    if len(text) <= MAX_SCAN_CHARS:
        return _scan_window(text, where, owner)
    out: list[Finding] = []
    step = MAX_SCAN_CHARS - WINDOW_OVERLAP
    for start in range(0, len(text) - WINDOW_OVERLAP, step):
        out += _scan_window(text[start : start + MAX_SCAN_CHARS], where, owner)
    return list(dict.fromkeys(out))


def _scan_window(text: str, where: str, owner: OwnerProfile | None) -> list[Finding]:
    if not text:
        return []
    text = normalize(text)
    hidden = encoded_views(text)
    if hidden:  # scanned as an appendix, so offsets never overlap the visible text
        text = text + "\n\n" + normalize(hidden)
    hits = _rule_hits(text) + D.env_block(text) + D.seed_phrases(text) + D.backup_codes(text)
    if owner is not None:
        hits += D.owner_hits(text, owner)
    hits = _dedupe(hits)
    wire = _wire_instructions(text, hits)
    if wire is not None:
        hits.append(wire)
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for h in sorted(hits, key=lambda h: h.start):
        if (h.rule_id, h.preview) in seen:
            continue
        seen.add((h.rule_id, h.preview))
        out.append(Finding(h.rule_id, h.category, h.severity, where, h.preview, h.description))
    return out


# --- attachments ---------------------------------------------------------------------------
def _ext(name: str) -> str:
    base = name.lower().rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1] if "." in base.lstrip(".") or base.startswith(".") else ""


def _name_findings(name: str, where: str) -> list[Finding]:
    base = name.lower().replace("\\", "/").rsplit("/", 1)[-1].strip()
    ext = _ext(base)
    if (
        ext in HIGH_RISK_EXT
        or base in HIGH_RISK_NAMES
        or base.startswith(".env")
        or ".env." in base
    ):
        return [
            Finding(
                "sensitive_file",
                R.ATTACHMENT,
                R.HIGH,
                where,
                name,
                f"High-risk file type ({'.' + ext if ext else base})",
            )
        ]
    if ext in MEDIUM_RISK_EXT:
        return [
            Finding("data_file", R.ATTACHMENT, R.MEDIUM, where, name, f"Data file type (.{ext})")
        ]
    return []


def _is_text_like(name: str, content_type: str) -> bool:
    ctype = content_type.split(";")[0].strip().lower()
    return ctype.startswith(TEXT_TYPES) or _ext(name) in TEXT_EXT or name.lower().startswith(".env")


def _unscannable(where: str, reason: str) -> Finding:
    """A HIGH finding for something the guard could not read in full: it is held, not passed."""
    return Finding(
        UNSCANNABLE, UNSCANNABLE, R.HIGH, where, reason, f"Could not be scanned in full: {reason}"
    )


def _named(prefix: str, name: str, owner: OwnerProfile | None) -> tuple[str, list[Finding]]:
    """The ``where`` of a header or file called ``name`` (masked when the name itself holds
    something sensitive, so a finding never repeats it) and the name's own findings."""
    found = scan_text(name, "", owner)
    where = prefix + (C.mask(name) if found else name)
    return where, [dataclasses.replace(f, where=where) for f in found]


def _file_findings(prefix: str, name: str, owner: OwnerProfile | None) -> tuple[str, list[Finding]]:
    """A file name's findings: its type (:func:`_name_findings`) and any secret written in it."""
    where, found = _named(prefix, name, owner)
    shown = where[len(prefix) :]
    typed = [dataclasses.replace(f, preview=shown) for f in _name_findings(name, where)]
    return where, found + typed


def _blob_findings(
    name: str,
    ctype: str,
    data: bytes,
    where: str,
    owner: OwnerProfile | None,
    budget: A.Budget,
    depth: int,
) -> list[Finding]:
    """Findings in one file's content: text-like content as text, containers opened."""
    fmt = A.kind(data)
    if fmt is not None:
        return _archive_findings(data, fmt, name, where, owner, budget, depth)
    text = _decode(data) if _is_text_like(name, ctype) or data[:10].startswith(b"-----") else None
    if text is None and b"\x00" not in data[:8192] and data:
        text = _decode(data)  # untyped but textual (octet-stream notes, keys without extension)
    if not text:
        return []
    ext = _ext(name)
    if "html" in ctype.lower() or ext in ("html", "htm", "xhtml"):
        text = html_text(text)
    elif ext == "xml" or ctype.lower().endswith("xml"):  # OOXML splits words across runs
        text = text + "\n\n" + html_text(text)
    return scan_text(text, where, owner)


def _archive_findings(
    data: bytes,
    fmt: str,
    name: str,
    where: str,
    owner: OwnerProfile | None,
    budget: A.Budget,
    depth: int,
) -> list[Finding]:
    """Every member of a container, recursively; what cannot be read in full is held."""
    if depth >= A.MAX_DEPTH:
        return [_unscannable(where, f"archives nested more than {A.MAX_DEPTH} deep")]
    out: list[Finding] = []
    for item in A.expand(data, fmt, name, budget):
        if isinstance(item, A.Unreadable) and not item.name:
            out.append(_unscannable(where, item.reason))
            continue
        inner, found = _file_findings(where + "/", item.name, owner)
        out += found
        if isinstance(item, A.Unreadable):
            out.append(_unscannable(inner, item.reason))
        else:
            out += _blob_findings(item.name, "", item.data, inner, owner, budget, depth + 1)
    return out


def scan_attachment(
    att: Attachment, owner: OwnerProfile | None = None, *, budget: A.Budget | None = None
) -> list[Finding]:
    """Findings for one attachment: its name and its content when text-like, containers opened
    recursively within ``budget`` (one per message; a fresh one when not given)."""
    name = att.filename or "unnamed"
    where, out = _file_findings("attachment:", name, owner)
    return out + _blob_findings(
        name, att.content_type, att.content, where, owner, budget or A.Budget(), 0
    )


# --- entry points --------------------------------------------------------------------------
def _summary(findings: tuple[Finding, ...], blocked: bool) -> str:
    if not findings:
        return "no sensitive content found"
    high = sum(f.severity == R.HIGH for f in findings)
    medium = sum(f.severity == R.MEDIUM for f in findings)
    listed = "; ".join(f"{f.description or f.rule_id} in {f.where}" for f in findings[:8])
    more = f" (+{len(findings) - 8} more)" if len(findings) > 8 else ""
    if blocked:
        return (
            f"BLOCKED: {high} high, {medium} medium finding(s): {listed}{more}. "
            "The message needs the owner's approval to leave."
        )
    return f"WARNING: {medium} medium finding(s): {listed}{more}. Not blocked."


def _result(findings: Iterable[Finding]) -> ScanResult:
    unique = list(dict.fromkeys(findings))
    unique.sort(key=lambda f: _SEVERITY_RANK.get(f.severity, 3))  # the cap never drops a HIGH
    found = tuple(unique[:MAX_FINDINGS])
    blocked = any(f.severity == R.HIGH for f in found)
    return ScanResult(blocked, found, _summary(found, blocked))


_ROUTING_RULES = frozenset(("private_ip",))


def _header_findings(
    prefix: str, name: str, value: str, owner: OwnerProfile | None
) -> list[Finding]:
    """One header field, scanned as ``Name: value`` (so a labelled value is recognised). A
    private address in a header is routing data (``Received``, Message-ID hosts), not a
    finding."""
    where, out = _named(prefix + "header:", name, owner)
    if not prefix and name.lower() == "subject":
        where = "subject"
    found = scan_text(f"{name}: {value}", where, owner)
    return out + [f for f in found if f.rule_id not in _ROUTING_RULES]


def _fields_findings(
    prefix: str, fields: list[tuple[str, str]], owner: OwnerProfile | None
) -> list[Finding]:
    """The header fields of one part, scanned together; when anything is found, field by
    field too, so each finding names its header (what only the whole block shows is kept)."""
    block = "\n".join(f"{name}: {value}" for name, value in fields)
    found = [
        f for f in scan_text(block, prefix + "headers", owner) if f.rule_id not in _ROUTING_RULES
    ]
    if not found:
        return []
    per_field = [f for name, value in fields for f in _header_findings(prefix, name, value, owner)]
    seen = {(f.rule_id, f.preview) for f in per_field}
    return per_field + [f for f in found if (f.rule_id, f.preview) not in seen]


def scan_outgoing(mail: OutgoingMail, *, owner: OwnerProfile | None = None) -> ScanResult:
    """Scan the fields of a message an agent is about to send (see module docstring)."""
    findings: list[Finding] = []
    findings += scan_text(mail.subject or "", "subject", owner)
    findings += scan_text(mail.text or "", "text", owner)
    if mail.html:
        findings += scan_text(html_text(mail.html), "html", owner)
    fields = [
        ("From", mail.from_name),
        ("Reply-To", mail.reply_to),
        ("In-Reply-To", mail.in_reply_to),
        ("References", " ".join(mail.references)),
    ]
    findings += _fields_findings("", [*((n, v) for n, v in fields if v), *mail.headers], owner)
    budget = A.Budget()
    for att in mail.attachments:
        findings += scan_attachment(att, owner, budget=budget)
    return _result(findings)


def _body_findings(
    part: Message,
    ctype: str,
    filename: str,
    is_body: bool,
    prefix: str,
    owner: OwnerProfile | None,
    budget: A.Budget,
) -> list[Finding]:
    if is_body:
        text = inbound.part_text(part, limit=MAX_MESSAGE_BYTES)
        if ctype == "text/html":
            return scan_text(html_text(text), prefix + "html", owner)
        return scan_text(text, prefix + "text", owner)
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        return [_unscannable(prefix + "attachment", "undecodable MIME part")]
    if not isinstance(payload, bytes):
        return []
    return scan_attachment(Attachment(filename or "unnamed", ctype, payload), owner, budget=budget)


def scan_message(raw: bytes | Message, *, owner: OwnerProfile | None = None) -> ScanResult:
    """Scan a raw or parsed message as it leaves: every header of every part, the preamble
    and epilogue, every body part and attachment (see module docstring)."""
    if not isinstance(raw, Message) and len(raw) > MAX_MESSAGE_BYTES:
        return _result([_unscannable("message", f"larger than {MAX_MESSAGE_BYTES >> 20} MiB")])
    try:
        msg = inbound.to_message(raw)
        parts = list(itertools.islice(msg.walk(), MAX_PARTS + 1))
    except Exception:
        return _result([_unscannable("message", "not a parseable message")])
    findings: list[Finding] = []
    if len(parts) > MAX_PARTS:
        findings.append(_unscannable("message", f"more than {MAX_PARTS} MIME parts"))
    headers = 0
    for i, part in enumerate(parts[:MAX_PARTS]):
        prefix = f"part {i} " if i else ""
        fields = part.items()
        if headers + len(fields) > MAX_HEADERS:
            findings.append(_unscannable("message", f"more than {MAX_HEADERS} header fields"))
            break
        headers += len(fields)
        decoded = [(name, inbound.decode_header_value(value, squeeze=False))
                   for name, value in fields]
        findings += _fields_findings(prefix, decoded, owner)
        for label in ("preamble", "epilogue"):
            extra = getattr(part, label, None)
            if isinstance(extra, str) and extra.strip():
                findings += scan_text(extra, prefix + label, owner)
    budget = A.Budget()
    leaves = {id(part): i for i, part in enumerate(parts)}
    for part, ctype, filename, is_body in inbound.iter_leaf_parts(msg):
        prefix = f"part {leaves.get(id(part), 0)} " if part is not msg else ""
        findings += _body_findings(part, ctype, filename, is_body, prefix, owner, budget)
    return _result(findings)


__all__ = [
    "Finding",
    "OwnerProfile",
    "ScanResult",
    "html_text",
    "scan_attachment",
    "scan_message",
    "scan_outgoing",
    "scan_text",
]
