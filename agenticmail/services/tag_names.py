"""Tag names and the IMAP keyword that stands for each on messages (pure).

A name that is already a plain atom (``invoices``, ``to-do``) is its own keyword; any other
name (spaces, accents, a leading ``$``) becomes a safe atom with a short digest of the name,
so two names never share a keyword and every keyword is valid in ``STORE +FLAGS``.
"""

from __future__ import annotations

import hashlib
import re

from ..errors import InvalidRequest

MAX_NAME = 64
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def keyword_for(name: str) -> str:
    """The IMAP keyword (a valid atom) that stands for tag ``name`` on messages."""
    if _PLAIN.match(name):
        return name
    slug = _UNSAFE.sub("_", name).strip("_.-")[:40] or "tag"
    digest = hashlib.sha256(name.casefold().encode()).hexdigest()[:8]
    return f"{slug}-{digest}"


def check_name(name: object) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME or "/" in name \
            or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidRequest(f"a tag name is 1-{MAX_NAME} printable characters, no '/'",
                             code="invalid_tag")
    return name
