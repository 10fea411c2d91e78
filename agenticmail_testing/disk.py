"""A small disk to fill, for storage-fault tests and the chaos script: a 64 MiB tmpfs (needs
root and ``mount``), and a file that takes all of its space."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def small_disk(size: str = "64m") -> Iterator[Path | None]:
    """A fresh tmpfs mounted on a new directory, or None where it cannot be made (not root, or
    no ``mount``). Unmounted and removed afterwards."""
    where = Path(tempfile.mkdtemp(prefix="agenticmail-disk-"))
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True).returncode == 0
    try:
        yield where if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


def fill(disk: Path) -> Path:
    """Write ``disk/filler`` until the disk is full; its path (unlink it to free the space)."""
    filler = disk / "filler"
    with open(filler, "wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * (1 << 20))
            out.flush()
    return filler
