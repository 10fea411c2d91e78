"""Detectors that look at more than one regex match: .env blocks, BIP-39 seed phrases,
2FA backup-code lists, and the owner's own details (:class:`OwnerProfile`).

Pure (the BIP-39 wordlist is package data of the ``mnemonic`` package, read once at import).
Each detector returns :class:`Hit` candidates that :mod:`.outbound` dedupes into findings.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date

from agenticmail.errors import DependencyMissing
from agenticmail.security import dlp_checks as C
from agenticmail.security import dlp_rules as R
from agenticmail.security.patterns import compile_re2


@dataclass(frozen=True)
class OwnerProfile:
    """The owner's personal details that must not leave in an agent's mail.

    ``name`` and ``email`` revealed are MEDIUM (they appear in quoted headers and signatures);
    ``phone``, ``address``, ``birthday`` and every ``private_terms`` entry are HIGH.
    """

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    birthday: str | date | None = None
    private_terms: tuple[str, ...] = ()


_ENV_LINE = re.compile(
    r"[ \t]*(?:export[ \t]+)?([A-Z][A-Z0-9_]{1,63})[ \t]*=[ \t]*(\S[^\n]{0,300})"
)


MAX_SEED_WORDS = 24  # the longest BIP-39 phrase
MAX_SEED_HITS = 50  # per text: bounds the work on a long run of word-list words
_SEED_REGION = compile_re2(r"(?:\b[a-z]{3,8}\b[^a-z]{1,8}){11,}\b[a-z]{3,8}\b")


_SEED_GAP = re.compile(r"[\s,;|\-]*(?:\d{1,2}[.):\-]?[\s,;|\-]*)?")


_WORD = re.compile(r"[a-z]+")


_BACKUP_LABEL = compile_re2(
    r"(?i)\b(?:backup|recovery|2fa|two[\s\-]?factor|mfa|emergency|scratch|one[\s\-]?time)\s+"
    r"(?:verification\s+)?(?:codes?|keys?)\b"
)


_BACKUP_CODE = re.compile(
    r"(?<![\w-])(?:[A-Za-z0-9]{4,5}[ \-][A-Za-z0-9]{4,5}|\d{6,10}|[A-Za-z0-9]{8,12})(?![\w-])"
)


_PHONE_LIKE = compile_re2(r"\+?\(?\d[\d\s().\-]{5,22}\d")


# fmt: off
_MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]
# fmt: on


def _bip39() -> frozenset[str]:
    """The BIP-39 English wordlist, from the ``mnemonic`` package (package data, read once)."""
    try:
        from mnemonic import Mnemonic
    except ImportError as exc:  # a runtime dependency: fail loudly, never scan without it
        raise DependencyMissing(
            "the outbound guard needs the 'mnemonic' package (BIP-39 wordlist)",
            hint="pip install 'mnemonic>=0.20'",
        ) from exc
    words = frozenset(Mnemonic("english").wordlist)
    assert len(words) == 2048, "unexpected BIP-39 wordlist"
    return words


_BIP39 = _bip39()


@dataclass
class Hit:
    rule: R.Rule | None
    rule_id: str
    category: str
    severity: str
    start: int
    end: int
    preview: str
    description: str


def env_block(text: str) -> list[Hit]:
    if text.count("=") < 3:
        return []
    hits: list[Hit] = []
    run: list[tuple[str, str, int]] = []
    pos = 0

    def close() -> None:
        if len(run) >= 3:
            names = "; ".join(f"{n}=****" for n, _, _ in run[:4])
            hits.append(
                Hit(
                    None,
                    "env_block",
                    R.CREDENTIAL,
                    R.HIGH,
                    run[0][2],
                    pos,
                    f"{names} ({len(run)} assignments)",
                    "Block of environment variable assignments (.env content)",
                )
            )
        run.clear()

    for line in text.split("\n"):
        m = _ENV_LINE.match(line)
        if m:
            run.append((m.group(1), m.group(2), pos))
        elif line.strip() and not line.lstrip().startswith("#"):
            close()
        pos += len(line) + 1
    close()
    return hits


def seed_phrases(text: str) -> list[Hit]:
    hits: list[Hit] = []
    low = text.lower()

    def flush(run: list[re.Match[str]], base: int) -> None:
        if len(run) >= 12:
            hits.append(
                Hit(
                    None,
                    "seed_phrase",
                    R.CREDENTIAL,
                    R.HIGH,
                    base + run[0].start(),
                    base + run[-1].end(),
                    f"{run[0].group(0)} **** ({len(run)} words)",
                    "Wallet recovery (BIP-39 seed) phrase",
                )
            )

    for region in itertools.islice(_SEED_REGION.finditer(low), 1000):
        chunk, base = region.group(0), region.start()
        run: list[re.Match[str]] = []
        for w in _WORD.finditer(chunk):
            if w.group(0) not in _BIP39:
                flush(run, base)
                run = []
                continue
            if run and _SEED_GAP.fullmatch(chunk, run[-1].end(), w.start()) is None:
                flush(run, base)
                run = []
            run.append(w)
            if len(run) == MAX_SEED_WORDS:  # a whole phrase: report it, look for the next
                flush(run, base)
                run = []
            if len(hits) >= MAX_SEED_HITS:  # a wall of word-list words: enough said
                return hits
        flush(run, base)
    return hits


def backup_codes(text: str) -> list[Hit]:
    hits: list[Hit] = []
    for m in itertools.islice(_BACKUP_LABEL.finditer(text), 50):
        window = text[m.end() : m.end() + 400]
        codes = [
            c.group(0)
            for c in _BACKUP_CODE.finditer(window)
            if any(ch.isdigit() for ch in c.group(0))
        ]
        if len(codes) >= 3:
            hits.append(
                Hit(
                    None,
                    "backup_codes",
                    R.CREDENTIAL,
                    R.HIGH,
                    m.start(),
                    m.end() + 400,
                    f"{len(codes)} codes like {C.mask(codes[0])}",
                    "2FA backup / recovery codes",
                )
            )
    return hits


def owner_hits(text: str, owner: OwnerProfile) -> list[Hit]:
    hits: list[Hit] = []
    low = text.lower()

    def add(what: str, severity: str, start: int, end: int, preview: str) -> None:
        hits.append(
            Hit(
                None,
                "owner_" + what,
                R.OWNER,
                severity,
                start,
                end,
                preview,
                f"Reveals the owner's {what}",
            )
        )

    def find_term(term: str, what: str, severity: str) -> None:
        norm = " ".join(term.lower().split())
        if len(norm) < 4:
            return
        pattern = r"(?<![\w@.+-])" + r"\s+".join(re.escape(p) for p in norm.split()) + r"(?![\w@-])"
        m = re.search(pattern, low)
        if m:
            add(what, severity, m.start(), m.end(), C.mask(text[m.start() : m.end()]))

    if owner.email:
        find_term(owner.email, "email", R.MEDIUM)
    if owner.name and len(owner.name.split()) >= 2:
        find_term(owner.name, "name", R.MEDIUM)
    if owner.address:
        street = re.split(r"[,\n]", owner.address.strip())[0]
        find_term(street, "address", R.HIGH)
    for term in owner.private_terms:
        find_term(term, "private_detail", R.HIGH)
    if owner.phone:
        base_phone = re.split(r"(?i)\s*(?:x|ext\.?|extension)\s*\d+\s*$", owner.phone.strip())[0]
        want = re.sub(r"\D", "", base_phone)[-10:]
        if len(want) >= 7:
            for m in itertools.islice(_PHONE_LIKE.finditer(text), 5000):
                if re.sub(r"\D", "", m.group(0)).endswith(want):
                    add("phone", R.HIGH, m.start(), m.end(), C.mask_digits(m.group(0)))
                    break
    if owner.birthday:
        for form in _date_forms(owner.birthday):
            i = low.find(form.lower())
            if i >= 0:
                add("birthday", R.HIGH, i, i + len(form), "****")
                break
    return hits


def _date_forms(value: str | date) -> list[str]:
    """The ways a birthday is commonly written (a non-ISO string is matched as given)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return [text] if len(text) >= 6 else []
    else:
        day = value
    d, m, y, month = day.day, day.month, day.year, _MONTHS[day.month - 1]
    return [
        day.isoformat(),
        f"{m}/{d}/{y}",
        f"{m:02d}/{d:02d}/{y}",
        f"{d}/{m}/{y}",
        f"{d:02d}/{m:02d}/{y}",
        f"{d:02d}.{m:02d}.{y}",
        f"{month} {d}, {y}",
        f"{month} {d} {y}",
        f"{d} {month} {y}",
        f"{month[:3]} {d}, {y}",
        f"{d} {month[:3]} {y}",
        f"{month[:3]}. {d}, {y}",
    ]
