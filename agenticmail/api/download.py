"""How an attachment is served: a filename reduced to a safe base name, an RFC 6266
``Content-Disposition`` (``filename*=UTF-8''…`` plus an ASCII ``filename=`` fallback), and a
``Content-Type`` that is a plain ``type/subtype`` or ``application/octet-stream``.

An attachment's name is written by whoever sent the mail: it may carry a path
(``../../etc/cron.d/x``), control characters (which would break the header), bidi overrides
(which disguise an extension) or any script (which latin-1 headers cannot carry).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

FALLBACK_NAME = "attachment"
MAX_NAME = 200
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/"
                         r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
# RFC 8187 attr-char, less nothing: everything else is percent-encoded
_ATTR_CHARS = "!#$&+-.^_`|~"
# control, format (bidi overrides), surrogate, private-use and unassigned characters
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def safe_filename(name: str | None) -> str:
    """The last path part of ``name`` without control/format characters, leading dots or
    surrounding spaces, at most ``MAX_NAME`` characters; ``"attachment"`` if nothing is left."""
    text = unicodedata.normalize("NFC", name or "")
    text = "".join(" " if c.isspace() else c for c in text
                   if c.isspace() or unicodedata.category(c) not in _DROPPED)
    text = re.split(r"[/\\]", text)[-1]
    text = re.sub(r"\s+", " ", text).strip().lstrip(".").strip()
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        keep = ext if dot and 0 < len(ext) <= 16 else ""
        text = (stem if keep else text)[: MAX_NAME - len(keep) - 1].rstrip() + (
            "." + keep if keep else "")
    return text or FALLBACK_NAME


def ascii_filename(name: str) -> str:
    """An ASCII stand-in for a safe name, for clients that ignore ``filename*``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r'["\\;%]', "_", text).strip()
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    if not re.search(r"[A-Za-z0-9]", stem):  # nothing of the name survived (e.g. all CJK)
        return FALLBACK_NAME + ("." + ext if ext.isalnum() else "")
    return text.lstrip(".")


def content_disposition(filename: str | None) -> str:
    """``attachment; filename="<ascii>"; filename*=UTF-8''<utf-8, percent-encoded>``."""
    name = safe_filename(filename)
    return (f'attachment; filename="{ascii_filename(name)}"; '
            f"filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}")


def media_type(content_type: str | None) -> str:
    value = (content_type or "").strip()
    return value.lower() if _MEDIA_TYPE.match(value) else "application/octet-stream"
