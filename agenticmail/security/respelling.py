"""Attack words misspelled on purpose, read as the words they imitate.

"Ignroe all prevoius instructoins" and "ignore your previous iunstructions" pass every pattern
that spells the words right, while a language model reads straight through the typos.
:func:`respell` gives one more reading of a text for the injection rules
(:func:`.mime_view.deobfuscate`, scored by ``PI_OBFUSCATED``): each word that imitates a word
of the attack vocabulary (:data:`VOCABULARY`) written as that word. A word imitates one when
it is

* the same word with its inner letters scrambled (first and last letter kept, as in the
  "typoglycemia" attacks), for vocabulary words of 5 letters or more; or
* one edit away (a letter inserted, dropped, replaced, or two neighbours swapped) from a
  vocabulary word of :data:`MIN_EDIT_LENGTH` letters or more, where one typo rarely lands on
  another English word; a letter added or dropped at the end is another form of the word
  ("assistants"), not a typo.

The vocabulary is the words the injection patterns are made of, not English: a misspelled
"invoice" stays as it is. Nothing is judged here; a respelled word only matters when the
rules then find a whole attack in the reading (so "the prevoius instructoins for the
delivery" is still a person's instructions). Pure (the answer for each word is remembered);
cost per message: its words as one set, compared with the words already judged, and a
rewrite only when a word changed.
"""

from __future__ import annotations

import itertools
import re

from agenticmail.security import patterns as P

# the words the injection families are written with (security/injection_patterns.py)
VOCABULARY = P.wordset("""
ignore disregard forget override bypass previous prior above earlier preceding instructions
instruction rules guidelines directives policies restrictions constraints system prompt
reveal repeat print output respond jailbreak unrestricted unfiltered uncensored developer
assistant pretend roleplay persona confidential secret password passwords credentials forward
emails mailbox exfiltrate immediately administrator admin message messages""")
MIN_EDIT_LENGTH = 8
MAX_CHARS = 32_000  # characters read per text (as the other decoded readings)

_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{5,24}(?![A-Za-z])")  # a whole word of 5-24 letters


def _scrambled(word: str) -> tuple[int, str, str, str]:
    return len(word), word[0], word[-1], "".join(sorted(word[1:-1]))


_BY_SCRAMBLE = {_scrambled(w): w for w in sorted(VOCABULARY) if len(w) >= 5}


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _by_deletion() -> dict[str, set[str]]:
    """Every vocabulary word of MIN_EDIT_LENGTH+ letters under itself and each of its
    one-letter deletions."""
    index: dict[str, set[str]] = {}
    for word in VOCABULARY:
        if len(word) >= MIN_EDIT_LENGTH:
            for key in _deletions(word) | {word}:
                index.setdefault(key, set()).add(word)
    return index


_BY_DELETION = _by_deletion()


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` (different) are one insertion, deletion, substitution or
    transposition of neighbours apart."""
    if abs(len(a) - len(b)) > 1:
        return False
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :] or (
            a[i + 2 :] == b[i + 2 :] and a[i : i + 2] == b[i : i + 2][::-1])
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[i + 1 :] == shorter[i:]


def imitated(word: str) -> str | None:
    """The vocabulary word ``word`` (lower case) imitates, or None (also for a vocabulary
    word itself)."""
    if word in VOCABULARY:
        return None
    found = _BY_SCRAMBLE.get(_scrambled(word))
    if found:
        return found
    if len(word) < MIN_EDIT_LENGTH - 1:
        return None
    candidates = set(itertools.chain.from_iterable(
        _BY_DELETION.get(d, ()) for d in _deletions(word) | {word}))
    # an ending added or dropped is another form of the word ("assistants"), not a typo
    matches = sorted(w for w in candidates
                     if _one_edit(word, w) and not (word.startswith(w) or w.startswith(word)))
    return matches[0] if len(matches) == 1 else None


# every word judged so far, and the imitations among them with the word each imitates: a
# message's words are looked up as one set (mail reuses few words that are new to the process)
_CHECKED: set[bytes] = set()
_IMITATIONS: dict[bytes, str] = {}
MAX_CHECKED = 200_000  # words remembered before the memory starts again
# ASCII letters in lower case, every other byte a space: the words of UTF-8 text in one pass
_LETTERS = bytes(c | 0x20 if chr(c).isascii() and chr(c).isalpha() else 0x20 for c in range(256))


def respell(text: str) -> str:
    """``text`` with every word that imitates an attack word written as that word; ``""``
    when no word does (nothing to read again)."""
    text = text[:MAX_CHARS]
    words = set(text.encode("utf-8", "replace").translate(_LETTERS).split())
    new = words - _CHECKED
    if new:
        if len(_CHECKED) > MAX_CHECKED:
            _CHECKED.clear()
            _IMITATIONS.clear()
        for word in new:
            fix = imitated(word.decode()) if 5 <= len(word) <= 24 else None
            if fix:
                _IMITATIONS[word] = fix
        _CHECKED.update(new)
    if words.isdisjoint(_IMITATIONS):
        return ""
    fixes = _IMITATIONS
    return _WORD.sub(lambda m: fixes.get(m.group().lower().encode(), m.group()), text)
