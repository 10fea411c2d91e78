"""The validators of the outbound DLP rules (:mod:`.dlp_rules`): each sees a matched value and
its surroundings and returns the finding's severity, or ``None`` to drop a look-alike (bad
checksum, placeholder, low entropy, missing context). Pure functions over the primitives of
:mod:`.dlp_checks`."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

from agenticmail.security.dlp_checks import (
    aba_ok,
    base58check_ok,
    bech32_ok,
    card_brand_ok,
    entropy,
    iban_ok,
    is_placeholder,
    isolated,
    looks_random,
    luhn_ok,
    near,
)

HIGH, MEDIUM, LOW = "high", "medium", "low"

Check = Callable[[str, str, int, int], "str | None"]
"""(value, text, value start, value end) -> severity or None (not a finding)."""


# --- generic helpers -----------------------------------------------------------------------


def drop_placeholder(severity: str) -> Check:
    def check(v: str, t: str, s: int, e: int) -> str | None:
        return None if is_placeholder(v) else severity

    return check


def random_value(severity: str, min_len: int = 16, *, prefixed: bool = False) -> Check:
    def check(v: str, t: str, s: int, e: int) -> str | None:
        return severity if looks_random(v, min_len, prefixed=prefixed) else None

    return check


def prefixed_token(severity: str, min_len: int = 16) -> Check:
    """A provider-prefixed token (the prefix is part of the match)."""
    return random_value(severity, min_len, prefixed=True)


def with_digits(severity: str, min_digits: int = 1) -> Check:
    def check(v: str, t: str, s: int, e: int) -> str | None:
        digits = sum(c.isdigit() for c in v)
        return severity if digits >= min_digits and not is_placeholder(v) else None

    return check


# --- checksums -----------------------------------------------------------------------------


def check_card(v: str, t: str, s: int, e: int) -> str | None:
    digits = "".join(c for c in v if c.isdigit())
    if not (13 <= len(digits) <= 19 and luhn_ok(digits) and card_brand_ok(digits)):
        return None
    if not isolated(t, s, e, "/=#&?"):
        return None
    if v.isdigit() and len(v) != 16 and not near(t, s, e, _CARD_WORDS, 80):
        return None  # a bare digit run is an id far more often than a card
    return HIGH


# fmt: off
_CARD_WORDS = (
    "card", "visa", "mastercard", "master card", "amex", "american express", "discover", "cc",
    "credit", "debit", "cvv", "cvc", "exp", "payment", "pay", "jcb", "diners", "maestro",
    "unionpay",
)
# fmt: on


def check_ssn(v: str, t: str, s: int, e: int) -> str | None:
    d = "".join(c for c in v if c.isdigit())
    if len(d) != 9 or not isolated(t, s, e):
        return None
    area, group, serial = int(d[:3]), int(d[3:5]), int(d[5:])
    if area in (0, 666) or area >= 900 or group == 0 or serial == 0:
        return None
    return HIGH


def check_itin(v: str, t: str, s: int, e: int) -> str | None:
    d = "".join(c for c in v if c.isdigit())
    if len(d) != 9 or d[0] != "9" or not isolated(t, s, e):
        return None
    g = int(d[3:5])
    return HIGH if 50 <= g <= 65 or 70 <= g <= 88 or 90 <= g <= 92 or 94 <= g <= 99 else None


def check_routing(v: str, t: str, s: int, e: int) -> str | None:
    if not aba_ok(v):
        return None
    return HIGH if near(t, s, e, ("account", "acct", "a/c"), 200) else MEDIUM


def check_iban(v: str, t: str, s: int, e: int) -> str | None:
    return HIGH if iban_ok(v) and isolated(t, s, e) else None


def check_wallet(v: str, t: str, s: int, e: int) -> str | None:
    if v.lower().startswith(("bc1", "tb1", "ltc1")):
        return HIGH if bech32_ok(v) else None
    if v.startswith("0x"):
        if is_placeholder(v[2:]) or len(set(v[2:].lower())) < 8:
            return None
        return HIGH if near(t, s, e, _WALLET_WORDS, 100) else MEDIUM
    return HIGH if base58check_ok(v) else None


# fmt: off
_WALLET_WORDS = (
    "wallet", "btc", "bitcoin", "donate", "donation", "receive", "eth", "ether", "usdt", "usdc",
    "erc20", "erc-20", "metamask", "crypto", "bnb", "polygon", "matic", "send", "pay", "deposit",
    "transfer", "address", "coin", "token",
)
# fmt: on


def check_jwt(v: str, t: str, s: int, e: int) -> str | None:
    head = v.split(".", 1)[0]
    try:
        data = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    return HIGH if isinstance(data, dict) and ("alg" in data or "typ" in data) else None


def check_ein(v: str, t: str, s: int, e: int) -> str | None:
    d = "".join(c for c in v if c.isdigit())
    bad = {0, 7, 8, 9, 17, 18, 19, 28, 29, 49, 69, 70, 78, 79, 89, 96, 97}
    return HIGH if len(d) == 9 and int(d[:2]) not in bad and isolated(t, s, e) else None


def check_conn_string(v: str, t: str, s: int, e: int) -> str | None:
    rest = v.split("://", 1)[1]
    auth = rest.split("@", 1)[0] if "@" in rest.split("/", 1)[0] else ""
    password = auth.split(":", 1)[1] if ":" in auth else ""
    if password and not is_placeholder(password) and password not in ("pass", "pwd", "secret"):
        return HIGH
    return MEDIUM


def check_bank_account(v: str, t: str, s: int, e: int) -> str | None:
    d = "".join(c for c in v if c.isdigit())
    if not 6 <= len(d) <= 17 or is_placeholder(d):
        return None
    bank = (
        "bank",
        "routing",
        "aba",
        "checking",
        "savings",
        "iban",
        "wire",
        "ach",
        "sort code",
        "deposit",
        "transfer",
        "beneficiary",
        "swift",
    )
    return HIGH if near(t, s, e, bank, 200) else MEDIUM


def check_private_ip(v: str, t: str, s: int, e: int) -> str | None:
    parts = v.split(".")
    if any(int(p) > 255 for p in parts) or not isolated(t, s, e):
        return None
    return MEDIUM


# fmt: off
_STOP_VALUES = frozenset((
    "a", "above", "again", "an", "and", "are", "at", "attached", "be", "been", "below", "blank",
    "by", "can", "cannot", "changed", "empty", "enclosed", "expired", "field", "fields", "for",
    "forgot", "forgotten", "has", "have", "her", "here", "hint", "his", "in", "incorrect",
    "invalid", "is", "it", "manager", "must", "my", "n/a", "na", "needed", "nil", "no", "none",
    "not", "null", "of", "on", "or", "our", "please", "policy", "protected", "required", "reset",
    "same", "sent", "should", "strength", "that", "the", "their", "there", "these", "this",
    "those", "to", "unchanged", "was", "were", "will", "with", "without", "wrong", "yes", "your",
))
# fmt: on


def check_password(v: str, t: str, s: int, e: int) -> str | None:
    value = v.strip("\"'`.,;:)(")
    if len(value) < 4 or value.lower() in _STOP_VALUES or is_placeholder(value):
        return None
    if value.isalpha() and value.islower() and len(value) < 6:
        return None
    if value.lower().startswith(("http://", "https://", "www.")):
        return None  # a reset/login link, not the password itself
    rest = t[e : e + 40].split("\n", 1)[0].strip()
    if value.isalpha() and rest[:1].isalpha():
        return None  # "Password: provided separately" is prose, not a value
    if not any(c in ":=" for c in t[max(0, s - 4) : s]):  # "password is X": X must not be a word
        strong = any(not c.isalpha() for c in value) or any(c.isupper() for c in value[1:])
        if not strong:
            return None
    return HIGH


def check_password_strong(v: str, t: str, s: int, e: int) -> str | None:
    """Short labels (``pass:``, ``pw:``) only count with a password-shaped value."""
    value = v.strip("\"'`.,;:)(")
    if check_password(value, t, s, e) is None:
        return None
    if len(value) < 6 or not any(c.isalpha() for c in value):
        return None  # "$400", "12.50": prices and numbers, not passwords
    strong = any(c.isdigit() for c in value) or any(not c.isalnum() for c in value)
    return HIGH if strong else None


def check_answer(v: str, t: str, s: int, e: int) -> str | None:
    value = v.strip("\"'`.,;:)(")
    words = value.split()
    if not words or words[0].lower() in _STOP_VALUES or is_placeholder(value) or len(value) < 2:
        return None
    return HIGH


DIGITS_4_8 = r"(\d{4,8})\b"
# fmt: off
_HEALTH = (
    "health", "medical", "medicare", "medicaid", "insurance", "dental", "vision", "bcbs",
    "aetna", "cigna", "humana", "kaiser", "blue cross", "united healthcare", "unitedhealthcare",
    "anthem", "hmo", "ppo", "patient", "mbi", "hicn",
)
# fmt: on


def check_private_key(v: str, t: str, s: int, e: int) -> str | None:
    body = "".join(v.split())
    return HIGH if len(body) >= 40 and entropy(body[:400]) >= 4.0 else None


def check_bank_account_in_context(v: str, t: str, s: int, e: int) -> str | None:
    """A loosely labelled account (``Account: 123...``) only counts next to banking words."""
    return HIGH if check_bank_account(v, t, s, e) == HIGH else None


def check_sort_code(v: str, t: str, s: int, e: int) -> str | None:
    return HIGH if near(t, s, e, ("account", "acct", "a/c"), 200) else MEDIUM


def check_health_id(v: str, t: str, s: int, e: int) -> str | None:
    return with_digits(HIGH, 3)(v, t, s, e) if near(t, s, e, _HEALTH, 150) else None


def check_pin(v: str, t: str, s: int, e: int) -> str | None:
    return HIGH if isolated(t, s, e) and len(set(v)) > 1 else None


def check_env(v: str, t: str, s: int, e: int) -> str | None:
    """Sensitive-suffix assignment: HIGH when a secret-bearing name holds a real-looking value."""
    if is_placeholder(v) or v.startswith(("$", "%", "<")):
        return None
    name = t[max(0, s - 120) : s].rstrip(" \t\"'=:").rsplit(None, 1)[-1].upper()
    secret = name.rsplit("_", 1)[-1] in SECRET_SUFFIXES
    return HIGH if secret and len(v) >= 6 else MEDIUM


# fmt: off
SECRET_SUFFIXES = (
    "KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "PASS", "PWD", "CREDENTIAL", "CREDENTIALS",
    "AUTH", "DSN",
)
# fmt: on
