"""Invisible Unicode an agent must never read, and the normalised reading the scorer matches.

* :func:`drop_invisible` removes every invisible or format character (Unicode category Cf, the
  fillers and joiners that render as nothing, variation selectors outside emoji, tag
  characters), singly as well as in runs, and counts each removal by kind. It keeps what a
  script needs: ZWJ inside an emoji sequence, ZWNJ between Arabic-script or Indic letters,
  LRM/RLM/ALM near right-to-left text, emoji presentation selectors, an ideographic variation
  selector after a CJK ideograph, and subdivision-flag tag sequences. Format characters that
  *are* visible (the Arabic number signs and other prepended concatenation marks, Egyptian
  hieroglyph format controls) are not touched.
* :func:`skeleton` is the text as a matcher must read it, whatever a sender did to keep words
  apart from patterns: every invisible character dropped (with no exception), NFKC (full-width
  and mathematical letters become plain ones) and look-alike letters (Cyrillic ``а``, Greek
  ``ο``, ...) mapped to the Latin letter they imitate, from Unicode's confusables data as the
  ``confusable_homoglyphs`` package ships it.

Both are pure functions over ``str``; they never raise.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections import Counter
from importlib import resources

from agenticmail.security import patterns as P

__all__ = ["DESCRIPTIONS", "drop_invisible", "skeleton"]

DESCRIPTIONS = {
    "tag_characters": "Unicode tag characters (U+E0000-E007F) can carry invisible instructions",
    "zero_width": "zero-width characters (space, joiner, non-joiner, BOM)",
    "word_joiner": "word joiner (U+2060)",
    "bidi_control": "bidirectional controls or marks outside right-to-left text",
    "soft_hyphen": "soft hyphens splitting words",
    "variation_selectors": "variation selectors outside emoji (hidden data)",
    "invisible_formatting": "invisible formatting/filler characters",
}
_KIND_CLASSES = {
    "tag_characters": "\U000e0000-\U000e007f",
    "zero_width": "\u200b\u200c\u200d\ufeff",
    "word_joiner": "\u2060",
    "bidi_control": "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069",
    "soft_hyphen": "\u00ad",
    "variation_selectors": "\ufe00-\ufe0f\U000e0100-\U000e01ef",
    "invisible_formatting": (
        "\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2061-\u2064\u206a-\u206f\u3164\uffa0"
        "\ufff9-\ufffb\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    ),
}
# the characters a script may need (judged one at a time, in context: _needed); every other
# invisible character goes whatever surrounds it, so a run of them is one match
_MAYBE_NEEDED = {
    "zero_width": "\u200c\u200d",
    "bidi_control": "\u061c\u200e\u200f",
    "variation_selectors": "\ufe0e\ufe0f\U000e0100-\U000e01ef",
}
_ALWAYS = {
    "zero_width": "\u200b\ufeff",
    "bidi_control": "\u202a-\u202e\u2066-\u2069",
    "variation_selectors": "\ufe00-\ufe0d",
}
_INVISIBLE = re.compile(
    "(?P<flag>\U0001f3f4[\U000e0020-\U000e007e]{1,12}\U000e007f)"
    + "".join(
        f"|(?P<{kind}>[{_ALWAYS.get(kind, chars)}]+"
        + (f"|[{_MAYBE_NEEDED[kind]}])" if kind in _MAYBE_NEEDED else ")")
        for kind, chars in _KIND_CLASSES.items())
)
_ANY_INVISIBLE = re.compile("[" + "".join(_KIND_CLASSES.values()) + "]+")
_RTL = re.compile(
    "[\u0590-\u061b\u061d-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff]"
)
_RTL_WINDOW = 32  # a bidi mark within this many characters of right-to-left text is needed
_JOINING = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefc"
                      "\u0900-\u0dff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff]")
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_EMOJI_RANGES = (
    (0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2300, 0x23FF), (0x2B00, 0x2BFF), (0x2190, 0x21FF),
    (0x25A0, 0x25FF), (0x2934, 0x2935), (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297),
    (0x3299, 0x3299), (0xA9, 0xA9), (0xAE, 0xAE), (0x203C, 0x203C), (0x2049, 0x2049),
    (0x2122, 0x2122), (0x2139, 0x2139), (0x24C2, 0x24C2), (0xFE0F, 0xFE0F), (0x20E3, 0x20E3),
)
_KEYCAP_BASES = frozenset("0123456789#*")
MAX_BIDI_RUN = 2  # three marks in a row serve no script: they are data


def _emoji(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _EMOJI_RANGES)


def _needed(kind: str, text: str, start: int) -> bool:
    """Whether the invisible character at ``start`` is one a script needs (see module doc)."""
    ch = text[start]
    before = text[start - 1] if start else ""
    after = text[start + 1] if start + 1 < len(text) else ""
    if ch == "\u200d":
        return bool(before and after) and _emoji(before) and _emoji(after)
    if ch == "\u200c":
        return bool(before and after) and bool(_JOINING.match(before) and _JOINING.match(after))
    if ch in "\u200e\u200f\u061c":
        run_start, run_end = start, start + 1
        while run_start and text[run_start - 1] in "\u200e\u200f\u061c":
            run_start -= 1
        while run_end < len(text) and text[run_end] in "\u200e\u200f\u061c":
            run_end += 1
        if run_end - run_start > MAX_BIDI_RUN:
            return False
        window = text[max(0, start - _RTL_WINDOW):start + _RTL_WINDOW]
        return bool(_RTL.search(window))
    if ch in "\ufe0e\ufe0f":  # one presentation selector right after an emoji base
        return bool(before) and before not in "\ufe0e\ufe0f" and (
            _emoji(before) or before in _KEYCAP_BASES)
    if kind == "variation_selectors" and ord(ch) >= 0xE0100:
        return bool(before) and bool(_CJK.match(before))
    return False


def drop_invisible(text: str) -> tuple[str, Counter[str]]:
    """``text`` without the invisible characters no script needs, and what was removed."""
    removed: Counter[str] = Counter()
    if not text or text.isascii():
        return text, removed

    def repl(m: re.Match[str]) -> str:
        kind = m.lastgroup or ""
        if kind == "flag" or (m.end() - m.start() == 1 and _needed(kind, m.string, m.start())):
            return m.group(0)
        removed[kind] += m.end() - m.start()
        return ""

    return _INVISIBLE.sub(repl, text), removed


@functools.cache
def _confusables() -> dict[int, str]:
    """Non-ASCII character → the ASCII letter or digit it is drawn like."""
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    )
    table: dict[int, str] = {}
    for char, glyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_ = [g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii()
                  and g["c"].isalnum()]
        letters = [c for c in ascii_ if c.isalpha()]
        same_case = [c for c in letters if c.isupper() == char.isupper()]
        if same_case or letters or ascii_:
            glyph = (same_case or letters or ascii_)[0]
            # Unicode's prototype of the I/l/1 family is 'l': a capital reads as 'I'
            table[ord(char)] = "I" if glyph == "l" and char.isupper() else glyph
    return table


@functools.cache
def _confusable_chars() -> P.re2._Regexp:
    """One RE2 character class of every character :func:`_confusables` maps (RE2: a class of
    characters beyond the BMP is a list that stdlib ``re`` tries one by one)."""
    ranges: list[list[int]] = []
    for code in sorted(_confusables()):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return P.compile_re2("[" + "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges) + "]")


def skeleton(text: str) -> str:
    """``text`` as a pattern must read it: no invisible characters, NFKC, Latin look-alikes
    mapped to Latin. Returns ``text`` itself when it is plain ASCII."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", _ANY_INVISIBLE.sub("", text))
    # most non-ASCII mail has no look-alike letter: one scan instead of a lookup per character
    if not _confusable_chars().search(text.encode("utf-8", "surrogatepass")):
        return text
    return text.translate(_confusables())
