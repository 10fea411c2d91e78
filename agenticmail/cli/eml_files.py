"""Run a function over ``.eml`` files and directories, one JSON line per message.

Each PATH is an ``.eml`` file or a directory searched recursively for ``*.eml`` (sorted).
Files are listed lazily and read one at a time, so thousands of messages run with flat
memory and output starts at once. An unreadable or missing path prints one
``error: PATH: reason`` line on stderr and the run goes on; the exit code is then 1.
Paths that hold no ``.eml`` message at all (e.g. an empty directory) print
``error: no .eml messages in PATH...`` on stderr and exit 1: silence never means "all clean".
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO


def iter_eml(paths: list[Path]) -> Iterator[Path | OSError]:
    """Files to process, or the error that stopped a path from being listed (in order)."""
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


def run_each(paths: list[Path], fn: Callable[[bytes], dict[str, Any]], *,
             out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print ``{"path": ..., **fn(raw)}`` per message; return the exit code (0 ok, 1 if a
    path failed or there was no message)."""
    out = out or sys.stdout
    err = err or sys.stderr
    failed = False
    seen = 0
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
        seen += 1
        try:
            print(json.dumps({"path": str(item), **fn(raw)}, ensure_ascii=False), file=out,
                  flush=True)
        except BrokenPipeError:  # the reader went away (``| head``): stop quietly
            break
    if not seen and not failed:
        print(f"error: no .eml messages in {' '.join(str(p) for p in paths)}", file=err)
        failed = True
    return 1 if failed else 0
