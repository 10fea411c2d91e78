"""``agenticmail filter scan PATH...``: the outbound guard (DLP) over ``.eml`` files, offline.

One JSON line per message: ``{"path", "blocked", "findings"}`` (findings carry masked
previews only). See ``eml_files`` for how paths are walked and errors reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from agenticmail.security.outbound import scan_message

from .eml_files import run_each


def _scan(raw: bytes) -> dict[str, Any]:
    result = scan_message(raw)
    return {"blocked": result.blocked, "findings": [f.to_dict() for f in result.findings]}


def scan_command(paths: list[Path], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Scan every message under ``paths``; return the exit code (0 ok, 1 some path failed)."""
    return run_each(paths, _scan, out=out, err=err)
