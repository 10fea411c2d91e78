"""The test run's check that no log line holds a secret (issue 13: "a test greps every log
line of a full test run for keys and passwords").

The harness remembers every secret it was given -- master keys, agents' API keys and mail
passwords, named keys, webhook secrets -- from the daemon's JSON answers (:func:`remember_response`
is an httpx response hook on the harness's clients) and from the CLI's ``--json`` output.
Before a test daemon's home is deleted, :func:`audit_home` reads its log files; the session
fixture in ``tests/conftest.py`` also logs every record of the test process (the in-process
daemons) through the production formatter into one file and audits it at the end. A leak is
any issued secret, or anything shaped like a full key, in any line.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

SECRET_FIELDS = frozenset({"api_key", "master_key", "password", "secret", "mail_password"})
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,}")
_KEY_SHAPE = re.compile(r"\b(?:ak|mk)_[0-9a-f]{48}\b|\bwhsec_[A-Za-z0-9+/=]{16,}")

issued: set[str] = set()
leaks: list[str] = []


def remember(*secrets: str | None) -> None:
    issued.update(s for s in secrets if s and len(s) >= 8)


def remember_document(doc: Any) -> None:
    """Every secret-named string field anywhere in a JSON document."""
    if isinstance(doc, dict):
        for name, value in doc.items():
            if name in SECRET_FIELDS and isinstance(value, str):
                remember(value)
            else:
                remember_document(value)
    elif isinstance(doc, list):
        for item in doc:
            remember_document(item)


def remember_response(response: httpx.Response) -> None:
    """An httpx response hook: the secrets in a JSON answer (a stream is left alone)."""
    if response.headers.get("content-type", "").startswith("application/json"):
        response.read()
        with contextlib.suppress(ValueError):
            remember_document(response.json())


def leaked_in(lines: Iterable[str]) -> list[str]:
    found = []
    # a secret that is one token is found by the token lookup; the others (a password with
    # spaces or symbols) by a substring search, decided once per file, not once per line
    untokened = [s for s in issued if not _TOKEN.fullmatch(s)]
    for number, line in enumerate(lines, 1):
        hits = {t for t in _TOKEN.findall(line) if t in issued} | set(_KEY_SHAPE.findall(line))
        hits |= {s for s in untokened if s in line}
        found += [f"line {number}: {hit[:6]}…" for hit in sorted(hits)]
    return found


def audit_file(path: Path) -> None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            found = leaked_in(fh)
    except FileNotFoundError:
        return
    leaks.extend(f"{path}: {where}" for where in found)


def audit_home(home: Path) -> None:
    """Check every log a daemon wrote under ``home`` (its log, rotated ones, daemon.out,
    Dovecot's log)."""
    for pattern in ("logs/*", "dovecot/*.log*"):
        for path in sorted(home.glob(pattern)):
            if path.is_file():
                audit_file(path)


def cli_output(stdout: str) -> None:
    """Remember the secrets in a CLI ``--json`` answer."""
    with contextlib.suppress(ValueError):
        remember_document(json.loads(stdout))
