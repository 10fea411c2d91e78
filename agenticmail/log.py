"""Logging setup with a filter that redacts secrets from every record."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

# ak_/mk_ keys, "password=..." style pairs, AUTH PLAIN blobs, bearer tokens.
_SECRET_PATTERNS = (
    (re.compile(r"\b(ak|mk)_[0-9a-f]{8}[0-9a-f]{40}\b"), r"\1_***"),
    (re.compile(r"(?i)(password|passwd|pass|secret|token)(['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
     r"\1\2***"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (re.compile(r"(?i)(AUTH\s+(PLAIN|LOGIN)\s+)\S+"), r"\1***"),
)


def redact(text: str) -> str:
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# aiosmtpd warns on every SMTP session about a choice made on purpose (AUTH without TLS on a
# loopback-only listener) and about its own use of a deprecated attribute: not news.
_AIOSMTPD_NOISE = frozenset({
    "auth_required == True but auth_require_tls == False",
    "Session.login_data is deprecated and will be removed in version 2.0",
})


class _DropAiosmtpdNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in _AIOSMTPD_NOISE


def setup_logging(level: str = "INFO", log_dir: Path | None = None, *,
                  console: bool = True) -> None:
    """Log to stderr (and ``log_dir/agenticmail.log``, rotated) through the redacting filter.

    ``console=False`` (the detached daemon, whose stderr is ``logs/daemon.out``) logs to the
    file only: ``daemon.out`` then keeps what is not a log record (a failed start's error, a
    crash), instead of a second copy of ``agenticmail.log``.
    """
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        if getattr(handler, "_agenticmail", False):
            root.removeHandler(handler)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = []
    if console or log_dir is None:
        handlers.append(logging.StreamHandler())
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_dir / "agenticmail.log", maxBytes=5_000_000, backupCount=3
            )
        )
    for handler in handlers:
        handler.setFormatter(fmt)
        handler.addFilter(RedactingFilter())
        handler._agenticmail = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for chatty in ("httpx", "httpcore", "mail.log"):  # one line per request or SMTP command
        logging.getLogger(chatty).setLevel(logging.WARNING)
    smtp_log = logging.getLogger("mail.log")
    if not any(isinstance(f, _DropAiosmtpdNoise) for f in smtp_log.filters):
        smtp_log.addFilter(_DropAiosmtpdNoise())
