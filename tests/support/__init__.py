"""Reusable test helpers (real servers on loopback ports; no mocks)."""
