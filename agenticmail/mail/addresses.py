"""E-mail address validation, normalisation and plus-addressing.

Pure functions, no I/O. Every malformed input raises :class:`InvalidRequest` with a message
that says what is wrong, so callers can hand it straight back to the agent.

Normalisation rules (what :func:`validate_address` returns):

* the bare ``local@domain`` (no display name, no angle brackets);
* the domain lower-cased, an internationalised domain converted to its IDNA (``xn--``) form;
* the local part kept as written (it is case-sensitive by RFC 5321); compare addresses with
  :func:`same_address` when a case-insensitive match is wanted.

Only dot-atom local parts in ASCII are accepted (no quoted strings, no SMTPUTF8): that is
what every mail host we drive accepts for a login name, and it keeps header injection out.
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.headerregistry import Address

from ..errors import InvalidRequest

__all__ = [
    "MAX_ADDRESS_LENGTH",
    "PLUS_DELIMITER",
    "domain_of",
    "format_address",
    "is_valid_address",
    "parse_address",
    "plus_address",
    "same_address",
    "split_plus",
    "validate_address",
]

MAX_ADDRESS_LENGTH = 254  # RFC 5321 path limit minus the angle brackets
MAX_LOCAL_LENGTH = 64
PLUS_DELIMITER = "+"

# RFC 5322 atext, without quoted strings.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL_RE = re.compile(rf"^{_ATEXT}+(?:\.{_ATEXT}+)*$")
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TAG_RE = re.compile(r"^[A-Za-z0-9!#$%&'*/=?^_`{|}~.-]+$")  # atext minus '+'
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_ANGLE_RE = re.compile(r"^(?P<display>.*?)\s*<(?P<addr>[^<>]*)>\s*$", re.DOTALL)
_DISPLAY_SPECIALS = set(',;<>"@[]\\')


def _fail(value: str, why: str) -> InvalidRequest:
    shown = value if len(value) <= 80 else value[:77] + "..."
    return InvalidRequest(f"invalid e-mail address {shown!r}: {why}")


def _normalise_domain(domain: str, original: str) -> str:
    if not domain:
        raise _fail(original, "missing domain after '@'")
    if domain.startswith("[") or domain.endswith("]"):
        raise _fail(original, "address literals such as [1.2.3.4] are not supported")
    try:
        ascii_domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError as exc:
        raise _fail(original, f"domain {domain!r} is not a valid internationalised name") from exc
    ascii_domain = ascii_domain.lower()
    labels = ascii_domain.split(".")
    for label in labels:
        if not label:
            raise _fail(original, "domain has an empty label (a leading, trailing or double dot)")
        if not _LABEL_RE.match(label):
            raise _fail(
                original,
                f"domain label {label!r} may only hold letters, digits and inner hyphens "
                "(at most 63 characters)",
            )
    if len(ascii_domain) > 253:
        raise _fail(original, "domain is longer than 253 characters")
    return ascii_domain


def _validate_addr_spec(addr: str, original: str) -> str:
    if not addr:
        raise _fail(original, "empty address")
    if any(ch.isspace() for ch in addr):
        raise _fail(original, "addresses may not contain whitespace")
    if addr.count("@") != 1:
        why = "missing '@'" if "@" not in addr else "more than one '@'"
        raise _fail(original, why)
    local, domain = addr.split("@")
    if not local:
        raise _fail(original, "missing local part before '@'")
    if not local.isascii():
        raise _fail(original, "non-ASCII characters in the local part are not supported")
    if len(local) > MAX_LOCAL_LENGTH:
        raise _fail(original, f"local part is longer than {MAX_LOCAL_LENGTH} characters")
    if not _LOCAL_RE.match(local):
        raise _fail(
            original,
            "local part may hold letters, digits and !#$%&'*+/=?^_`{|}~- with single inner dots",
        )
    result = f"{local}@{_normalise_domain(domain, original)}"
    if len(result) > MAX_ADDRESS_LENGTH:
        raise _fail(original, f"address is longer than {MAX_ADDRESS_LENGTH} characters")
    return result


def _decode_display(display: str) -> str:
    if "=?" not in display:
        return display
    try:
        return str(make_header(decode_header(display)))
    except Exception:  # malformed encoded-word: keep it as written
        return display


def _unquote_display(display: str, original: str) -> str:
    display = display.strip()
    if not display:
        return ""
    if display.startswith('"'):
        if len(display) < 2 or not display.endswith('"'):
            raise _fail(original, "unbalanced quotes in the display name")
        inner = display[1:-1]
        out: list[str] = []
        escaped = False
        for ch in inner:
            if escaped:
                out.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                raise _fail(original, "unescaped quote inside the display name")
            else:
                out.append(ch)
        if escaped:
            raise _fail(original, "display name ends with a lone backslash")
        return "".join(out)
    bad = sorted(_DISPLAY_SPECIALS.intersection(display))
    if bad:
        raise _fail(
            original,
            f"display name contains {''.join(bad)!r}; put it in double quotes "
            '(e.g. "Doe, Jane" <jane@example.com>) or give one address only',
        )
    return _decode_display(" ".join(display.split()))


def parse_address(value: str) -> tuple[str, str]:
    """Parse one address, ``"Name <local@domain>"`` or ``local@domain``.

    Returns ``(display_name, normalised_address)``; the display name is ``""`` when absent and
    RFC 2047 encoded-words in it are decoded. Raises InvalidRequest for anything that is not
    exactly one well-formed address (lists, missing ``@``, stray brackets, control characters).
    """
    if not isinstance(value, str):
        raise InvalidRequest(f"an e-mail address must be a string, not {type(value).__name__}")
    if _CONTROL_RE.search(value):
        raise _fail(value, "contains control characters (line breaks are not allowed)")
    text = value.strip()
    if not text:
        raise InvalidRequest("an e-mail address is required (got an empty string)")
    if "<" in text or ">" in text:
        match = _ANGLE_RE.match(text)
        if match is None or "<" in match.group("display") or ">" in match.group("display"):
            raise _fail(value, "expected 'Name <local@domain>' with one pair of angle brackets")
        display = _unquote_display(match.group("display"), value)
        return display, _validate_addr_spec(match.group("addr").strip(), value)
    if "," in text or ";" in text:
        raise _fail(value, "give one address per entry, not a list")
    return "", _validate_addr_spec(text, value)


def validate_address(value: str) -> str:
    """Return the normalised bare address of ``value`` or raise InvalidRequest.

    A display-name form (``"Name <a@b>"``) is accepted and reduced to ``a@b``.
    """
    return parse_address(value)[1]


def is_valid_address(value: str) -> bool:
    """True when :func:`validate_address` would accept ``value``."""
    try:
        validate_address(value)
    except InvalidRequest:
        return False
    return True


def domain_of(address: str, *, validate: bool = True) -> str:
    """The lower-case domain of an address. ``validate`` (the default): the normalised (IDNA)
    domain of a valid address, InvalidRequest otherwise. ``validate=False``, for addresses
    read from untrusted mail: whatever follows the last ``@`` ("" when there is none),
    trimmed of ``>`` and dots; never raises."""
    if not validate:
        _, at, domain = address.rpartition("@")
        return domain.strip().strip(">").strip(".").lower() if at else ""
    return validate_address(address).rsplit("@", 1)[1]


def same_address(a: str, b: str) -> bool:
    """Case-insensitive comparison of two addresses (display names ignored)."""
    return validate_address(a).lower() == validate_address(b).lower()


def split_plus(address: str) -> tuple[str, str | None]:
    """Split a plus-address: ``"bot+news@x.test"`` -> ``("bot@x.test", "news")``.

    Returns ``(address, None)`` when there is no tag (an empty tag, ``bot+@x``, also counts as
    none). Only the first ``+`` separates; a local part that starts with ``+`` has no tag.
    """
    normalised = validate_address(address)
    local, domain = normalised.rsplit("@", 1)
    base, sep, tag = local.partition(PLUS_DELIMITER)
    if not sep or not base:
        return normalised, None
    return f"{base}@{domain}", (tag or None)


def plus_address(owner: str, tag: str) -> str:
    """Build ``local+tag@domain`` for the base address ``owner``.

    Raises InvalidRequest when ``owner`` already carries a tag or ``tag`` is empty or contains
    characters that are not allowed in a local part (``+``, ``@``, whitespace, ...).
    """
    base, existing = split_plus(owner)
    if existing is not None:
        raise InvalidRequest(
            f"{owner!r} already has a plus tag ({existing!r}); use the base address"
        )
    if not isinstance(tag, str) or not tag:
        raise InvalidRequest("a plus-address tag must be a non-empty string")
    if not _TAG_RE.match(tag) or tag.startswith(".") or tag.endswith(".") or ".." in tag:
        raise InvalidRequest(
            f"invalid plus-address tag {tag!r}: use letters, digits and -_.=! "
            "(no '+', '@', spaces or leading/trailing dots)"
        )
    local, domain = base.rsplit("@", 1)
    return _validate_addr_spec(f"{local}{PLUS_DELIMITER}{tag}@{domain}", f"{local}+{tag}@{domain}")


def format_address(display: str | None, address: str) -> str:
    """Render ``Name <addr>`` (the name quoted when needed; non-ASCII kept as is).

    Suitable for showing to a user or assigning to an ``EmailMessage`` header (which applies
    RFC 2047 itself). Raises InvalidRequest for a bad address or a display name with control
    characters.
    """
    addr = validate_address(address)
    if not display or not display.strip():
        return addr
    if _CONTROL_RE.search(display):
        raise InvalidRequest("display names may not contain control characters or line breaks")
    local, domain = addr.rsplit("@", 1)
    return str(Address(display_name=" ".join(display.split()), username=local, domain=domain))
