"""The search box's language, turned into safe FTS5 expressions and SQL filters.

A user's query is words, ``"quoted phrases"``, ``prefix*`` words, ``-excluded`` words and
field filters::

    from:alice  to:bob@example.com  subject:"quarterly report"  folder:Archive
    has:attachment  is:unread|read|flagged|unflagged|answered  tag:urgent
    before:2026-01-31  after:2026-01-01

User text never reaches FTS5 as syntax: every word or phrase becomes one double-quoted FTS5
string (its quotes doubled), so ``AND``, ``NEAR(``, ``col:``, ``^``, ``*`` or an odd number
of quotes are only ever text. A word with no letter or digit in it matches nothing in the
index (the tokenizer drops it too) and is left out. An unknown ``key:value`` is plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..errors import InvalidRequest

# field name in the query -> FTS5 column
COLUMNS = {"from": "sender", "to": "recipients", "cc": "recipients", "subject": "subject",
           "body": "body", "attachment": "attachments", "filename": "attachments"}
IS_VALUES = {"unread": ("seen", 0), "unseen": ("seen", 0), "read": ("seen", 1),
             "seen": ("seen", 1)}
FLAG_VALUES = {"flagged": "\\Flagged", "answered": "\\Answered", "draft": "\\Draft"}
MAX_QUERY = 1000  # characters
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # FTS5 ends a string at NUL: never let one in
MAX_TERMS = 32


@dataclass
class Parsed:
    """A parsed query: FTS5 fragments (each safe) and the filters on the documents table."""

    text: list[str] = field(default_factory=list)  # free words/phrases, FTS5-quoted
    fields: list[str] = field(default_factory=list)  # column-scoped, e.g. 'sender : "bob"'
    excluded: list[str] = field(default_factory=list)  # FTS5-quoted, to subtract
    plain: list[str] = field(default_factory=list)  # the free words as typed (semantic query)
    folder: str | None = None
    seen: int | None = None
    has_attachment: bool | None = None
    flags: list[tuple[str, bool]] = field(default_factory=list)  # (flag, present)
    # (the keywords that may stand for a tag, present): the name as typed; the caller adds
    # the keyword its tag names map to (:func:`agenticmail.services.tag_names.keyword_for`)
    tags: list[tuple[tuple[str, ...], bool]] = field(default_factory=list)
    before: float | None = None
    after: float | None = None
    words: int = 0  # words in the query, used or not

    @property
    def restricts(self) -> bool:
        """Whether anything in the query narrows the documents."""
        return bool(self.text or self.fields or self.excluded or self.flags
                    or self.tags) or any(
            v is not None for v in (self.folder, self.seen, self.has_attachment, self.before,
                                    self.after))

    @property
    def unmatchable(self) -> bool:
        """Words were typed but none can match anything (only punctuation, say)."""
        return self.words > 0 and not self.restricts

    @property
    def has_text(self) -> bool:
        return bool(self.text or self.fields)

    @property
    def semantic_text(self) -> str:
        return " ".join(self.plain)


def quote(text: str, prefix: bool = False) -> str | None:
    """``text`` as one FTS5 string (a phrase of its tokens), or None when it has no token."""
    if not any(ch.isalnum() for ch in text):
        return None
    return '"' + text.replace('"', '""') + '"' + ("*" if prefix else "")


def _words(query: str) -> list[tuple[str, bool]]:
    """Split on white space, keeping ``"..."`` (and ``key:"..."``) together; (word, quoted)."""
    out: list[tuple[str, bool]] = []
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        start = i
        quoted = False
        while i < n and not query[i].isspace():
            if query[i] == '"':
                quoted = True
                end = query.find('"', i + 1)
                i = n if end < 0 else end + 1
            else:
                i += 1
        out.append((query[start:i], quoted))
    return out


def _unquote(word: str) -> str:
    return word.replace('"', " ").strip() if word.startswith('"') else word.replace('"', " ")


def _date(key: str, value: str) -> float:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{key}: needs a date like 2026-01-31, not {value!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def parse(query: str) -> Parsed:
    """Parse ``query`` (see the module docstring); InvalidRequest only for a bad date or an
    overlong query, never for its syntax."""
    if len(query) > MAX_QUERY:
        raise InvalidRequest(f"the query is longer than {MAX_QUERY} characters")
    parsed = Parsed()
    words = _words(_CONTROL.sub(" ", query))[:MAX_TERMS]
    parsed.words = len(words)
    for word, quoted in words:
        negate = word.startswith("-") and len(word) > 1
        body = word[1:] if negate else word
        key, sep, value = body.partition(":")
        key = key.lower()
        if sep and value and not key.startswith('"') and _filter(parsed, key, value, negate):
            continue
        prefix = body.endswith("*") and not body.endswith('"*') and not quoted
        text = _unquote(body.rstrip("*") if prefix else body)
        fts = quote(text, prefix=prefix and len(text) >= 2)
        if fts is None:
            continue
        if negate:
            parsed.excluded.append(fts)
        else:
            parsed.text.append(fts)
            parsed.plain.append(text)
    return parsed


def _filter(parsed: Parsed, key: str, value: str, negate: bool) -> bool:
    """Apply ``key:value`` if ``key`` is a field filter; False when it is plain text."""
    value = _unquote(value)
    lower = value.lower()
    if key in COLUMNS:
        fts = quote(value)
        if fts is not None:
            (parsed.excluded if negate else parsed.fields).append(f"{COLUMNS[key]} : {fts}")
        return True
    if key == "folder":
        parsed.folder = value
    elif key == "has" and lower in ("attachment", "attachments"):
        parsed.has_attachment = not negate
    elif key == "is" and lower in IS_VALUES:
        seen = IS_VALUES[lower][1]
        parsed.seen = 1 - seen if negate else seen
    elif key == "is" and lower in FLAG_VALUES:
        parsed.flags.append((FLAG_VALUES[lower], not negate))
    elif key == "is" and lower.startswith("un") and lower[2:] in FLAG_VALUES:
        parsed.flags.append((FLAG_VALUES[lower[2:]], negate))
    elif key in ("tag", "label", "keyword"):
        parsed.tags.append(((value,), not negate))
    elif key in ("before", "until"):
        parsed.before = _date(key, value)
    elif key in ("after", "since"):
        parsed.after = _date(key, value)
    else:
        return False
    return True
