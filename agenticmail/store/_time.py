"""Timestamps as stored: ISO 8601 UTC (:mod:`agenticmail.timestamps`, which every layer uses)."""

from ..timestamps import now_iso

__all__ = ["now_iso"]
