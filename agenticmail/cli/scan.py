"""``agenticmail filter scan PATH...``: the outbound guard (DLP) over ``.eml`` files, offline.

One JSON line per message: ``{"path", "blocked", "findings"}`` (findings carry masked
previews only). See ``eml_files`` for how paths are walked and errors reported.

Exit codes: 0 every message is clean, 3 at least one message would be blocked (held for the
owner), 1 a path could not be read or held no message (that takes precedence over 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from ..services.filters import outbound_scan
from .eml_files import run_each

EXIT_BLOCKED = 3


def scan_command(paths: list[Path], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Scan every message under ``paths``; return the exit code (0 all clean, 3 some message
    blocked, 1 some path failed)."""
    blocked = False

    def scan(raw: bytes) -> dict[str, Any]:
        nonlocal blocked
        result = outbound_scan(raw)
        blocked = blocked or result.blocked
        return {"blocked": result.blocked, "findings": [f.to_dict() for f in result.findings]}

    code = run_each(paths, scan, out=out, err=err)
    return code or (EXIT_BLOCKED if blocked else 0)
