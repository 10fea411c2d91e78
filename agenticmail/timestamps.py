"""Timestamps as stored and shown: ISO 8601 UTC, milliseconds."""

from datetime import UTC, datetime


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_instant(value: str, field: str) -> float:
    """Epoch seconds of an ISO 8601 time (UTC when it names no zone); ``InvalidRequest``
    naming ``field`` when it is not one."""
    from .errors import InvalidRequest

    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{field} must be an ISO 8601 time, e.g. 2026-01-31T09:00:00Z"
                             ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def iso(at: float) -> str:
    """A Unix time as :func:`now_iso` writes it."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
