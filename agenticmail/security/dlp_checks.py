"""Pure building blocks of the DLP rules: masking, placeholder/entropy tests, checksums.

Checksums: Luhn (payment cards), ABA (US routing numbers), ISO 13616 mod-97 (IBAN), Base58Check
and Bech32/Bech32m (Bitcoin addresses). Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter


def mask(value: str) -> str:
    """Show at most a few characters at each end (``AKIA****MPLE``); never the whole value."""
    n = len(value)
    k = 4 if n >= 20 else 2 if n >= 12 else 1 if n >= 6 else 0
    return f"{value[:k]}****{value[-k:]}" if k else "****"


def mask_digits(value: str, keep: int = 4) -> str:
    """Star every digit but the last ``keep`` (fewer for short numbers), keeping separators."""
    total = sum(c.isdigit() for c in value)
    keep = min(keep, total // 3)
    seen, out = 0, []
    for c in value:
        if c.isdigit():
            seen += 1
            out.append(c if seen > total - keep else "*")
        elif c.isalpha():
            out.append("*")
        else:
            out.append(c)
    return "".join(out)


# fmt: off
PLACEHOLDER_WORDS = (  # substrings that mark a template value, not a secret
    "xxxx", "****", "....", "•••", "${", "{{", "your", "redacted", "placeholder", "changeme",
    "change_me", "dummy", "example", "sample", "insert_", "replace_", "fake_", "not_a_real",
    "notreal", "notarealkey",
)
# typed-by-hand filler: a placeholder only where no provider prefix vouches for the token
SEQUENCES = ("abcdefgh", "12345678901")
PLACEHOLDER_EXACT = frozenset((
    "api_key", "apikey", "bar", "censored", "foo", "foobar", "hidden", "key", "n/a", "none",
    "null", "pass", "passw0rd", "password", "removed", "secret", "string", "tbd", "test",
    "testing", "todo", "token", "undefined", "value",
))
_WRAPPERS = {("<", ">"), ("{", "}"), ("[", "]"), ("(", ")")}
# fmt: on


def is_placeholder(value: str, *, sequences: bool = True) -> bool:
    """A template value: ``<your-key>``, ``${TOKEN}``, ``%(password)s``, ``xxxx``, ``aaaaaa``...

    ``sequences`` also counts runs like ``abcdefgh``/``12345678901`` as filler.
    """
    low = value.lower()
    if low in PLACEHOLDER_EXACT or any(w in low for w in PLACEHOLDER_WORDS):
        return True
    if sequences and any(w in low for w in SEQUENCES):
        return True
    if len(low) >= 2 and ((low[0], low[-1]) in _WRAPPERS or low.startswith(("%(", "$("))):
        return True
    core = [c for c in low if c.isalnum()]
    if not core:
        return True
    top = Counter(core).most_common(1)[0][1]
    return top / len(core) > 0.75 or (len(core) >= 6 and len(set(core)) <= 2)


def entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def looks_random(value: str, min_len: int = 16, *, prefixed: bool = False) -> bool:
    """A token with the character mix and entropy of a generated secret, not a placeholder.

    ``prefixed``: the token starts with a provider prefix (``ghp_``, ``sk-``...), which is
    evidence enough that hand-typed sequences in it are still meant as a key.
    """
    body = value.strip("\"'`.,;")
    if len(body) < min_len or is_placeholder(body, sequences=not prefixed):
        return False
    has_digit = any(c.isdigit() for c in body)
    mixed = any(c.islower() for c in body) and any(c.isupper() for c in body)
    return (has_digit or mixed) and entropy(body) >= 3.0


def near(text: str, start: int, end: int, words: tuple[str, ...], span: int = 120) -> bool:
    window = text[max(0, start - span) : end + span].lower()
    return any(w in window for w in words)


def isolated(text: str, start: int, end: int, extra: str = "") -> bool:
    """Not glued to more digits/identifier characters (so not part of a longer number or id)."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    bad = "0123456789_" + extra
    if (
        before in bad
        or after in bad
        or (before in "-." and start > 1 and text[start - 2].isdigit())
    ):
        return False
    return not (after in "-." and end + 1 < len(text) and text[end + 1].isdigit())


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand_ok(digits: str) -> bool:
    n, p2, p4, p6 = len(digits), int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649 or 622126 <= p6 <= 622925:
        return 16 <= n <= 19
    if p2 == 35:
        return 16 <= n <= 19
    if p2 in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19
    if p2 == 62 or p2 in (50, 56, 57, 58, 67) or digits.startswith("6304"):
        return 16 <= n <= 19
    return False


def aba_ok(d: str) -> bool:
    if len(d) != 9 or not d.isdigit() or d == "000000000":
        return False
    w = (3, 7, 1) * 3
    return sum(int(c) * k for c, k in zip(d, w, strict=True)) % 10 == 0 and int(d[:2]) <= 80


# fmt: off
IBAN_LENGTHS = dict(
    AD=24, AE=23, AL=28, AT=20, AZ=28, BA=20, BE=16, BG=22, BH=22, BR=29, BY=28, CH=21, CR=22,
    CY=28, CZ=24, DE=22, DK=18, DO=28, EE=20, EG=29, ES=24, FI=18, FO=18, FR=27, GB=22, GE=22,
    GI=23, GL=18, GR=27, GT=28, HR=21, HU=28, IE=22, IL=23, IQ=23, IS=26, IT=27, JO=30, KW=30,
    KZ=20, LB=28, LC=32, LI=21, LT=20, LU=20, LV=21, MC=27, MD=24, ME=22, MK=19, MR=27, MT=31,
    MU=30, NL=18, NO=15, PK=24, PL=28, PS=29, PT=25, QA=29, RO=24, RS=22, SA=24, SC=31, SE=24,
    SI=19, SK=24, SM=27, ST=25, SV=28, TL=23, TN=24, TR=26, UA=29, VA=22, VG=24, XK=20, LY=25,
    SD=18, BI=27, DJ=27, RU=33, SO=23, NI=28, MN=20, FK=18, OM=23, YE=30, HN=28,
)
# fmt: on


def iban_ok(v: str) -> bool:
    s = "".join(v.split()).upper()
    if len(s) != IBAN_LENGTHS.get(s[:2], -1) or not s.isalnum():
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58check_ok(v: str) -> bool:
    n = 0
    for c in v:
        i = _B58.find(c)
        if i < 0:
            return False
        n = n * 58 + i
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    raw = b"\0" * (len(v) - len(v.lstrip("1"))) + raw
    if len(raw) < 5:
        return False
    body, chk = raw[:-4], raw[-4:]
    return hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] == chk


def bech32_ok(v: str) -> bool:
    s = v.lower()
    pos = s.rfind("1")
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    if pos < 1 or len(s) - pos < 7 or any(c not in charset for c in s[pos + 1 :]):
        return False
    hrp, data = s[:pos], [charset.find(c) for c in s[pos + 1 :]]
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for x in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + data:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ x
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk in (1, 0x2BC830A3)
