"""Fixtures shared by the outbound tests: a TLS SMTP sink standing in for the internet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agenticmail_testing.smtp_sink import SmtpSink


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()
