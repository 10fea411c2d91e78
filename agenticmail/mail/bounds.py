"""Bounds on what a message may ask of the parsers, checked before any parser sees it.

The stdlib :mod:`email` package and the parsers built on it are not linear on hostile input:
RFC 2047 decoding is quadratic in the encoded words of a header, the feed parser checks every
line against every open MIME boundary (quadratic in the nesting depth), and each part or
header becomes Python objects. :func:`check` measures a raw message in linear time (C-level
scans; the Python loops it runs are capped) against the limits below and names the first
limit the message is over. A message over a limit is never handed to those parsers whole:
:func:`safe_copy` gives a small stand-in (its first headers, each cut short, and no body) that
is cheap to parse for display, and the filter gives the message a ``too_complex`` verdict.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from .rfc2047 import ENCODED_WORD, MAX_ENCODED_WORDS  # no header of a message within is cut

__all__ = ["LIMITS", "Exceeded", "check", "safe_copy"]

MAX_HEADER_BYTES = 256 * 1024  # the top-level header block (Postfix stops at 100 KiB)
MAX_HEADERS = 1000  # header fields in the top-level header block
MAX_MIME_DEPTH = 16  # nesting of multipart and message/* parts
MAX_MIME_PARTS = 500  # MIME parts (boundary delimiter lines and container declarations)
MAX_BOUNDARY_LINES = 5000  # lines starting with "--", before boundaries are matched

SAFE_HEADER_BYTES = 8 * 1024  # each header value kept in the stand-in of a message
LIMITS = {
    "header_bytes": MAX_HEADER_BYTES,
    "header_count": MAX_HEADERS,
    "encoded_words": MAX_ENCODED_WORDS,
    "mime_depth": MAX_MIME_DEPTH,
    "mime_parts": MAX_MIME_PARTS,
}

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_ENCODED_WORD = re.compile(ENCODED_WORD.pattern.encode())
_CONTENT_TYPE = re.compile(rb"(?im)^content-type:")
_FIELD_END = re.compile(rb"\n(?![ \t])")
_FIELD_SPLIT = re.compile(rb"\r?\n(?![ \t])")
_UNFOLD = re.compile(rb"\r?\n[ \t]*")
_BOUNDARY = re.compile(rb"""(?i)\bboundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""")
_DASH_LINE = re.compile(rb"(?m)^--([^\r\n]{1,200})")
_CONTAINER_FIELD_BYTES = 8 * 1024  # how much of a Content-Type field is looked at


@dataclass(frozen=True)
class Exceeded:
    """The limit a message is over: its name (a key of :data:`LIMITS`) and what was found."""

    limit: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"limit": self.limit, "detail": self.detail}


def _header_end(raw: bytes) -> int:
    match = _HEADER_END.search(raw)
    return len(raw) if match is None else match.start()


def _count(pattern: re.Pattern[bytes], data: bytes, cap: int) -> int:
    """Matches of ``pattern`` in ``data``, counting no further than ``cap + 1``."""
    return sum(1 for _ in itertools.islice(pattern.finditer(data), cap + 1))


def _mime_shape(raw: bytes) -> tuple[int, int] | Exceeded:
    """(depth, parts) of the MIME tree as the feed parser would build it, or the limit over.

    Events in message order: a container declaration (a Content-Type field mentioning
    multipart, with its boundary, or message) opens a level; a delimiter line of an open
    boundary closes the levels opened inside it (and, for its close delimiter, that boundary
    too) and counts a part.
    """
    dash_lines = raw.count(b"\n--") + raw.startswith(b"--")
    if dash_lines > MAX_BOUNDARY_LINES:
        return Exceeded("mime_parts", f"over {MAX_BOUNDARY_LINES} lines starting with '--'")
    events: list[tuple[int, bytes | None, bool]] = []  # (position, boundary, is_declaration)
    for count, match in enumerate(_CONTENT_TYPE.finditer(raw)):
        if count >= 2 * MAX_MIME_PARTS:
            return Exceeded("mime_parts", f"over {2 * MAX_MIME_PARTS} Content-Type fields")
        end = _FIELD_END.search(raw, match.end(), match.end() + _CONTAINER_FIELD_BYTES)
        field = raw[match.end():end.start() if end else match.end() + _CONTAINER_FIELD_BYTES]
        lowered = field.lower()
        if b"multipart" not in lowered and b"message" not in lowered:
            continue  # a leaf (text, image, application ...)
        # Any field that mentions a container counts as one, however it is spelled (comments,
        # folding, RFC 2231 parameters): its level then ends only with an enclosing boundary.
        found = _BOUNDARY.search(field) if b"multipart" in lowered else None
        events.append((match.start(), (found.group(1) or found.group(2)).rstrip()
                       if found else None, True))
    for match in _DASH_LINE.finditer(raw):  # at most MAX_BOUNDARY_LINES
        events.append((match.start(), match.group(1).rstrip(), False))
    events.sort(key=lambda e: e[0])
    stack: list[bytes | None] = []  # open levels; None: no boundary known (message/* ...)
    depth = parts = 0
    for _, token, is_declaration in events:
        if is_declaration:
            stack.append(token)
            depth = max(depth, len(stack))
            if depth > MAX_MIME_DEPTH:
                return Exceeded("mime_depth", f"MIME parts nested over {MAX_MIME_DEPTH} deep")
            continue
        assert token is not None
        closing = token.endswith(b"--") and token[:-2] in stack
        name = token[:-2] if closing else token
        if name not in stack:
            continue  # an ordinary line of text
        level = len(stack) - 1 - stack[::-1].index(name)
        del stack[level + (0 if closing else 1):]
        if not closing:
            parts += 1
            if parts > MAX_MIME_PARTS:
                return Exceeded("mime_parts", f"over {MAX_MIME_PARTS} MIME parts")
    return depth, parts


def check(raw: bytes) -> Exceeded | None:
    """The first limit ``raw`` is over, or None when every parser may read it whole."""
    end = _header_end(raw)
    if end > MAX_HEADER_BYTES:
        return Exceeded("header_bytes", f"header block of {end} bytes (limit "
                        f"{MAX_HEADER_BYTES})")
    block = raw[:end]
    fields = block.count(b"\n") + 1 - block.count(b"\n ") - block.count(b"\n\t")
    if fields > MAX_HEADERS:
        return Exceeded("header_count", f"{fields} header fields (limit {MAX_HEADERS})")
    if _count(_ENCODED_WORD, raw, MAX_ENCODED_WORDS) > MAX_ENCODED_WORDS:
        return Exceeded("encoded_words", f"over {MAX_ENCODED_WORDS} RFC 2047 encoded words")
    shape = _mime_shape(raw)
    return shape if isinstance(shape, Exceeded) else None


def safe_copy(raw: bytes) -> bytes:
    """A stand-in for a message over a limit, cheap for any parser: the first
    :data:`MAX_HEADERS` top-level header fields of the first :data:`MAX_HEADER_BYTES`, each
    cut to :data:`SAFE_HEADER_BYTES` (and so to a bounded number of encoded words), without
    ``Content-*`` fields, and an empty body."""
    block = raw[:min(_header_end(raw), MAX_HEADER_BYTES)]
    fields = _FIELD_SPLIT.split(block)[:MAX_HEADERS]
    kept = [_UNFOLD.sub(b" ", f[:SAFE_HEADER_BYTES]).rstrip(b"\r\n") for f in fields
            if b":" in f[:SAFE_HEADER_BYTES] and not f.lower().startswith(b"content-")]
    return b"\r\n".join(kept) + b"\r\n\r\n"
