"""The data dir's encryption key (``secret.key``, 0600) for secrets the daemon reads back."""

from __future__ import annotations

from pathlib import Path

from ..config import write_private
from ..errors import ConfigError
from ..security.keys import SecretBox, new_encryption_key


def load_or_create(path: Path) -> SecretBox:
    if not path.exists():
        write_private(path, new_encryption_key())
    try:
        return SecretBox(path.read_bytes().strip())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
