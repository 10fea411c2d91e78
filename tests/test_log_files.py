"""Log files are private: 0600 when created, when found wider, and after rotation."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenticmail.log import PrivateRotatingFileHandler, open_private, setup_logging


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _umask_and_handlers() -> Iterator[None]:
    old_umask = os.umask(0o022)  # the usual umask: plain open() would make 0644 files
    before = list(logging.getLogger().handlers)
    try:
        yield
    finally:
        os.umask(old_umask)
        root = logging.getLogger()
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
                handler.close()


def test_the_daemon_log_is_0600(tmp_path: Path) -> None:
    setup_logging("INFO", tmp_path / "logs")
    logging.getLogger("agenticmail.test").warning("hello")
    log = tmp_path / "logs" / "agenticmail.log"
    assert "hello" in log.read_text()
    assert _mode(log) == 0o600


def test_a_wider_existing_log_is_narrowed(tmp_path: Path) -> None:
    log = tmp_path / "agenticmail.log"
    log.write_text("old\n")
    (tmp_path / "agenticmail.log.1").write_text("older\n")
    log.chmod(0o644)
    (tmp_path / "agenticmail.log.1").chmod(0o644)
    setup_logging("INFO", tmp_path)
    assert _mode(log) == 0o600 and _mode(tmp_path / "agenticmail.log.1") == 0o600


def test_rotated_logs_stay_0600(tmp_path: Path) -> None:
    handler = PrivateRotatingFileHandler(tmp_path / "a.log", maxBytes=200, backupCount=3)
    logger = logging.getLogger("agenticmail.test.rotate")
    logger.addHandler(handler)
    try:
        for i in range(40):
            logger.warning("line %d %s", i, "x" * 40)
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = sorted(tmp_path.iterdir())
    assert {p.name for p in files} == {"a.log", "a.log.1", "a.log.2", "a.log.3"}
    assert {_mode(p) for p in files} == {0o600}


def test_open_private_for_the_detached_daemons_output(tmp_path: Path) -> None:
    with open_private(tmp_path / "daemon.out") as out:
        out.write(b"started\n")
    assert _mode(tmp_path / "daemon.out") == 0o600
