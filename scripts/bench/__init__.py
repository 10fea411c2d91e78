"""Benchmarks: each starts a real daemon and prints numbers (never asserted by tests)."""
