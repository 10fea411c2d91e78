"""Logging setup: text or JSON lines, rotated by size, 0600 files, and secrets redacted.

Redaction happens where a record becomes text (the formatters below), so the message, its
arguments and any traceback are all covered, by two means: patterns for what a secret looks
like (``ak_``/``mk_`` keys, ``whsec_`` secrets, ``password=...`` pairs, bearer tokens, AUTH
blobs) and the exact values of the secrets this process has issued or read back
(:func:`register_secret`: keys and mail passwords when generated, every secret decrypted).
"""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

LOG_MODE = 0o600
LOG_FORMATS = ("text", "json")

# keys, webhook secrets, "password=..." style pairs, AUTH PLAIN blobs, bearer tokens.
_SECRET_PATTERNS = (
    (re.compile(r"\b(ak|mk)_[0-9a-f]{8}[0-9a-f]{40}\b"), r"\1_***"),
    (re.compile(r"\b(whsec|am)_[A-Za-z0-9+/=_-]{16,}"), r"\1_***"),
    (re.compile(r"(?i)(password|passwd|pass|secret|token)(['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
     r"\1\2***"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (re.compile(r"(?i)(AUTH\s+(PLAIN|LOGIN)\s+)\S+"), r"\1***"),
)

# Known secret values: most are URL-safe tokens (keys, generated passwords), found by looking
# each token of a line up in a set; any other (a password a person chose) is searched for.
MIN_SECRET_LENGTH = 8
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{MIN_SECRET_LENGTH},}}")
_known_tokens: set[str] = set()
_known_other: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears in a log line from now on (in this process)."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    (_known_tokens if _TOKEN.fullmatch(value) else _known_other).add(value)


def _mask_token(match: re.Match[str]) -> str:
    return "***" if match.group() in _known_tokens else match.group()


def redact(text: str) -> str:
    for value in tuple(_known_other):  # known values first: a pattern may cut one in two
        if value in text:
            text = text.replace(value, "***")
    if _known_tokens:
        text = _TOKEN.sub(_mask_token, text)
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message`` (and any traceback), redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (ISO 8601 UTC), ``level``, ``logger``, ``message``,
    and ``exception`` when there is one; every text field redacted before encoding."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            doc["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            doc["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(doc, ensure_ascii=False)


def formatter(fmt: str = "text") -> logging.Formatter:
    if fmt not in LOG_FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; choose one of {', '.join(LOG_FORMATS)}")
    return JsonFormatter() if fmt == "json" else TextFormatter()


def open_private(path: Path, mode: str = "ab", **kw: Any) -> IO[Any]:
    """Open ``path`` for appending as a 0600 file (created so, or narrowed if it was wider)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, LOG_MODE)
    try:
        os.fchmod(fd, LOG_MODE)
        return open(fd, mode, **kw)
    except BaseException:
        os.close(fd)
        raise


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files, the current one and every rotated one, are 0600."""

    def __init__(self, filename: Path, **kw: Any) -> None:
        for old in filename.parent.glob(filename.name + ".*"):  # left by an older version
            old.chmod(LOG_MODE)
        super().__init__(filename, **kw)

    def _open(self) -> io.TextIOWrapper:
        stream = open_private(Path(self.baseFilename), self.mode, encoding=self.encoding,
                              errors=self.errors)
        assert isinstance(stream, io.TextIOWrapper)
        return stream


# aiosmtpd warns on every SMTP session about a choice made on purpose (AUTH without TLS on a
# loopback-only listener) and about its own use of a deprecated attribute: not news.
_AIOSMTPD_NOISE = frozenset({
    "auth_required == True but auth_require_tls == False",
    "Session.login_data is deprecated and will be removed in version 2.0",
})


class _DropAiosmtpdNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in _AIOSMTPD_NOISE


def file_handler(path: Path, fmt: str = "text", *, max_bytes: int = 5_000_000,
                 backups: int = 3) -> logging.Handler:
    """A redacting, 0600, size-rotated log file (``max_bytes`` 0: never rotated)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = PrivateRotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups)
    handler.setFormatter(formatter(fmt))
    return handler


def setup_logging(level: str = "INFO", log_dir: Path | None = None, *,
                  console: bool = True, fmt: str = "text", max_bytes: int = 5_000_000,
                  backups: int = 3) -> None:
    """Log to stderr (and ``log_dir/agenticmail.log``, rotated at ``max_bytes`` keeping
    ``backups`` old files) as ``fmt`` (text or json lines), secrets redacted.

    ``console=False`` (the detached daemon, whose stderr is ``logs/daemon.out``) logs to the
    file only: ``daemon.out`` then keeps what is not a log record (a failed start's error, a
    crash), instead of a second copy of ``agenticmail.log``.
    """
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        if getattr(handler, "_agenticmail", False):
            root.removeHandler(handler)
    handlers: list[logging.Handler] = []
    if console or log_dir is None:
        console_handler = logging.StreamHandler()
        console_handler.setFormatter(formatter(fmt))
        handlers.append(console_handler)
    if log_dir is not None:
        handlers.append(file_handler(log_dir / "agenticmail.log", fmt, max_bytes=max_bytes,
                                     backups=backups))
    for handler in handlers:
        handler._agenticmail = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for chatty in ("httpx", "httpcore", "mail.log"):  # one line per request or SMTP command
        logging.getLogger(chatty).setLevel(logging.WARNING)
    smtp_log = logging.getLogger("mail.log")
    if not any(isinstance(f, _DropAiosmtpdNoise) for f in smtp_log.filters):
        smtp_log.addFilter(_DropAiosmtpdNoise())
