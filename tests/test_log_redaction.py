"""Logs (issue 13): text or JSON lines, secrets redacted wherever they appear in a record
(message, arguments, traceback) by their shape and by their known values; the harness's check
finds a secret that slipped through."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenticmail.log import file_handler, register_secret, setup_logging
from agenticmail.security.keys import (
    SecretBox,
    generate_api_key,
    generate_password,
    new_encryption_key,
)
from agenticmail_testing import log_audit


@pytest.fixture
def logger(tmp_path: Path) -> Iterator[tuple[logging.Logger, Path, Path]]:
    """A logger writing to a text and a JSON log file (the production handlers)."""
    text, jsonl = tmp_path / "text.log", tmp_path / "json.log"
    handlers = [file_handler(text, "text"), file_handler(jsonl, "json")]
    log = logging.getLogger(f"agenticmail.test.{secrets.token_hex(4)}")
    log.setLevel(logging.INFO)
    log.propagate = False
    for handler in handlers:
        log.addHandler(handler)
    yield log, text, jsonl
    for handler in handlers:
        log.removeHandler(handler)
        handler.close()


def test_known_secrets_are_masked_in_messages_arguments_and_tracebacks(
        logger: tuple[logging.Logger, Path, Path]) -> None:
    log, text, jsonl = logger
    password, key = generate_password(), generate_api_key()  # issued: registered
    chosen = "my relay pass: 'c0rrect h0rse'"  # a person's password, not token-shaped
    box = SecretBox(new_encryption_key())
    assert box.decrypt(box.encrypt(chosen)) == chosen  # read back: registered
    log.info("login for bob with %s", password)
    log.info("relay account uses %s today", chosen)
    try:
        raise RuntimeError(f"IMAP refused {password} (key {key})")
    except RuntimeError:
        log.exception("watcher failed")
    for path in (text, jsonl):
        content = path.read_text()
        assert password not in content and key not in content and chosen not in content
        assert "login for bob with ***" in content and "watcher failed" in content
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["message"] for r in lines] == ["login for bob with ***",
                                            "relay account uses *** today", "watcher failed"]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert lines[0]["level"] == "INFO" and lines[0]["time"].endswith("Z")
    assert "RuntimeError: IMAP refused *** (key ***)" in lines[2]["exception"]


@pytest.mark.parametrize(("line", "kept"), [
    ("webhook whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw created", "webhook whsec_*** created"),
    ("key ak_" + "ab" * 24 + " used", "key ak_*** used"),
    ('{"password": "hunter2hunter2"}', '{"password": "***"}'),
    ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
])
def test_secret_shapes_are_masked(logger: tuple[logging.Logger, Path, Path], line: str,
                                  kept: str) -> None:
    log, text, jsonl = logger
    log.warning(line)
    assert text.read_text().rstrip().endswith(kept)
    assert json.loads(jsonl.read_text())["message"] == kept


def test_setup_logging_writes_json_lines(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        setup_logging("INFO", tmp_path, console=False, fmt="json", max_bytes=300, backups=2)
        register_secret(token := secrets.token_urlsafe(24))
        for n in range(20):
            logging.getLogger("agenticmail.test").info("line %d %s", n, token)
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["agenticmail.log", "agenticmail.log.1", "agenticmail.log.2"]  # rotated
    for name in files:
        for line in (tmp_path / name).read_text().splitlines():
            assert json.loads(line)["message"].endswith(" ***")


def test_the_harness_finds_a_leaked_secret() -> None:
    password = secrets.token_urlsafe(24)
    log_audit.remember(password)
    assert log_audit.leaked_in([f"login {password} ok", "all fine", "login *** ok"]) == [
        f"line 1: {password[:6]}…"]
    assert log_audit.leaked_in(["mk_" + "0" * 48]) != []  # key-shaped, issued or not
