"""Archives and compressed files in outgoing mail, opened within bounds for the DLP scan.

Pure: works on bytes in memory; no file system, no clock. :func:`kind` recognises a container
by its content (never by the name the sender chose): zip (and the OOXML/ODF/JAR formats built
on it), gzip, bzip2, xz and tar. 7z, RAR and zstd are recognised but not opened: the standard
library cannot read them, and a guard that cannot read a container must not pass it.

:func:`expand` yields each member's name and content. Every read is bounded by one shared
:class:`Budget` per message (decompressed bytes, member count), so however an archive is built
(a zip bomb, a gzip of zeros, a million-entry central directory) the scan stops at the budget.
Whatever cannot be read in full (an encrypted member, a corrupt or unsupported archive, too
many members, the budget spent) is yielded as :class:`Unreadable` with its reason; the guard
holds such a message for the owner instead of passing it unread. Nesting depth is the caller's
to bound (:data:`MAX_DEPTH`): each member may itself be an archive.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

MIB = 1024 * 1024
MAX_EXPANDED_BYTES = 32 * MIB  # decompressed bytes read from all archives of one message
MAX_MEMBERS = 2000  # archive members opened in one message
MAX_DEPTH = 4  # containers inside containers (a .tar.gz inside a zip is 3)

_MAGIC = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty zip
    (b"\x1f\x8b\x08", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
UNSUPPORTED = frozenset(("7z", "rar", "zstd"))
_ERRORS = (
    zipfile.BadZipFile, tarfile.TarError, lzma.LZMAError, zlib.error, EOFError, OSError,
    ValueError, RuntimeError, NotImplementedError, KeyError, UnicodeError, OverflowError,
)  # fmt: skip


@dataclass
class Budget:
    """What one message may still expand: decompressed bytes and archive members."""

    bytes: int = MAX_EXPANDED_BYTES
    members: int = MAX_MEMBERS


@dataclass(frozen=True)
class Member:
    """One file read in full from a container."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Unreadable:
    """A member (``name``) or the whole container (``name == ""``) not read in full."""

    name: str
    reason: str


def kind(data: bytes) -> str | None:
    """The container format of ``data`` (``"zip"``, ``"gzip"``, ``"tar"``, ``"7z"``, …)."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data.startswith(b"BZh") and data[4:10] in (b"1AY&SY", b"\x17\x72\x45\x38\x50\x90"):
        return "bzip2"
    if data[257:262] == b"ustar":
        return "tar"
    if b"\x00" in data[:8192]:  # binary without a known head: a zip behind a stub, an old tar
        buf = io.BytesIO(data)
        if zipfile.is_zipfile(buf):
            return "zip"
        try:
            with tarfile.open(fileobj=io.BytesIO(data[:10240]), mode="r:") as tf:
                if tf.next() is not None:
                    return "tar"
        except _ERRORS:
            pass
    return None


def expand(data: bytes, fmt: str, name: str, budget: Budget) -> Iterator[Member | Unreadable]:
    """Members of the container ``data`` (format ``fmt`` from :func:`kind`, file name ``name``)."""
    if fmt in UNSUPPORTED:
        yield Unreadable("", f"{fmt} archives cannot be opened by the outbound guard")
        return
    try:
        if fmt == "zip":
            yield from _zip(data, budget)
        elif fmt == "tar":
            yield from _tar(data, budget)
        else:
            yield from _stream(data, fmt, name, budget)
    except _ERRORS as e:
        yield Unreadable("", f"corrupt or unsupported {fmt} data ({type(e).__name__})")


def _read(fh: IO[bytes] | io.BufferedIOBase, budget: Budget) -> bytes | None:
    """All of ``fh`` within the budget, or ``None`` when it holds more than the budget left."""
    content = fh.read(budget.bytes + 1)
    if len(content) > budget.bytes:
        budget.bytes = 0
        return None
    budget.bytes -= len(content)
    return content


def _spent() -> Unreadable:
    return Unreadable("", f"expands past {MAX_EXPANDED_BYTES // MIB} MiB (a possible archive bomb)")


def _too_many() -> Unreadable:
    return Unreadable("", f"more than {MAX_MEMBERS} archive members")


def _zip(data: bytes, budget: Budget) -> Iterator[Member | Unreadable]:
    # counted before parsing: ZipFile builds an object per central-directory entry
    if data.count(b"PK\x01\x02") > budget.members:
        budget.members = 0
        yield _too_many()
        return
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            if budget.members <= 0:
                yield _too_many()
                return
            budget.members -= 1
            if info.flag_bits & 0x1:
                yield Unreadable(info.filename, "encrypted archive member")
                continue
            try:
                with zf.open(info) as fh:
                    content = _read(fh, budget)
            except _ERRORS as e:
                reason = f"corrupt or unsupported member ({type(e).__name__})"
                yield Unreadable(info.filename, reason)
                continue
            if content is None:
                yield _spent()
                return
            yield Member(info.filename, content)


def _tar(data: bytes, budget: Budget) -> Iterator[Member | Unreadable]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
        for info in tf:
            if info.isdir():
                continue
            if budget.members <= 0:
                yield _too_many()
                return
            budget.members -= 1
            fh = tf.extractfile(info) if info.isfile() else None
            if fh is None:  # links, devices: a name and nothing to read
                yield Member(info.name, b"")
                continue
            with fh:
                content = _read(fh, budget)
            if content is None:
                yield _spent()
                return
            yield Member(info.name, content)


_OPENERS: dict[str, Callable[[io.BytesIO], io.BufferedIOBase]] = {
    "gzip": lambda f: gzip.GzipFile(fileobj=f),
    "bzip2": bz2.BZ2File,
    "xz": lzma.LZMAFile,
}
_SUFFIXES = {".tgz": ".tar", ".tbz2": ".tar", ".tbz": ".tar", ".txz": ".tar",
             ".gz": "", ".bz2": "", ".xz": ""}  # fmt: skip


def _stream(data: bytes, fmt: str, name: str, budget: Budget) -> Iterator[Member | Unreadable]:
    """A single compressed stream: its one member, named after the container."""
    if budget.members <= 0:
        yield _too_many()
        return
    budget.members -= 1
    inner = name
    for suffix, replacement in _SUFFIXES.items():
        if name.lower().endswith(suffix):
            inner = name[: -len(suffix)] + replacement
            break
    with _OPENERS[fmt](io.BytesIO(data)) as fh:
        content = _read(fh, budget)
    if content is None:
        yield _spent()
        return
    yield Member(inner, content)


__all__ = ["MAX_DEPTH", "Budget", "Member", "Unreadable", "expand", "kind"]
