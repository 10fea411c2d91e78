"""``agenticmail filter scan PATH...``: the outbound guard (DLP) over ``.eml`` files, offline.

Each PATH is an ``.eml`` file or a directory searched recursively for ``*.eml`` (sorted).
One JSON line per message on stdout: ``{"path", "blocked", "findings"}`` (findings carry
masked previews only). Files are read and scanned one at a time, so thousands of messages
run with flat memory and output starts at once. An unreadable or missing path prints one
``error: PATH: reason`` line on stderr and the run goes on; the exit code is then 1.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from agenticmail.security.outbound import scan_message


def iter_eml(paths: list[Path]) -> Iterator[Path | OSError]:
    """Files to scan, or the error that stopped a path from being listed (lazily, in order)."""
    for path in paths:
        if path.is_dir():
            errors: list[OSError] = []
            for root, dirs, files in os.walk(path, onerror=errors.append):
                dirs.sort()
                for name in sorted(files):
                    if name.lower().endswith(".eml"):
                        yield Path(root) / name
                while errors:
                    yield errors.pop(0)
            while errors:
                yield errors.pop(0)
        elif path.exists():
            yield path
        else:
            yield FileNotFoundError(2, "No such file or directory", str(path))


def scan_command(paths: list[Path], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Scan every message under ``paths``; return the exit code (0 ok, 1 some path failed)."""
    out = out or sys.stdout
    err = err or sys.stderr
    failed = False
    for item in iter_eml(paths):
        if isinstance(item, OSError):
            print(f"error: {item.filename}: {item.strerror or item}", file=err)
            failed = True
            continue
        try:
            raw = item.read_bytes()
        except OSError as exc:
            print(f"error: {item}: {exc.strerror or exc}", file=err)
            failed = True
            continue
        result = scan_message(raw)
        line = {
            "path": str(item),
            "blocked": result.blocked,
            "findings": [f.to_dict() for f in result.findings],
        }
        print(json.dumps(line, ensure_ascii=False), file=out, flush=True)
    return 1 if failed else 0
