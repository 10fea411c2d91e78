"""Timestamps as stored and shown: ISO 8601 UTC, milliseconds."""

from datetime import UTC, datetime


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
