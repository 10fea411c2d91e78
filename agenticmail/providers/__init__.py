"""Thin adapters to foreign APIs (Docker, Cloudflare, ...) that translate their errors."""
