"""Harnesses shared by the tests and the scripts (benchmarks, evaluations): a real daemon in
process or as a subprocess, a private Dovecot, a TLS SMTP sink, a stand-in relay provider, an
SSE reader, and the adversarial message set. Not part of the shipped package: importable from
a checkout's root (``pytest``, ``python -m scripts.…``)."""
