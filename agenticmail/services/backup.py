"""Backup and restore of a whole agenticmail home: one archive, optionally passphrase-encrypted.

The archive is a gzip'd tar (written as a stream; encrypted with
:mod:`agenticmail.security.archive_cipher` when a passphrase is given), file mode 0600::

    home/config.toml  home/secret.key  home/agenticmail.db  home/deletions/...
    mail/<address>/...     each agent's mailbox (the mail host's copy, see hosts.maildir)
    manifest.json          last: versions, agents, counts, and the SHA-256 of every file

The database is copied with SQLite's online backup API and *before* the mailboxes, so a row
that says a message was delivered always finds that message in the copy, while the daemon runs
and mail arrives. A restore goes into an empty home only; it reads and checks the whole archive
(integrity, checksums, manifest) before it writes anything there, and removes what it wrote if
a later step fails: nothing is ever half-restored.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from .. import __version__
from ..config import Settings, load_settings
from ..errors import AgenticMailError, Conflict, InvalidRequest, NotConfigured
from ..hosts import build_host
from ..hosts.base import MailboxArchive, MailHost
from ..hosts.maildir import MailFile, export_tree, safe_name
from ..security import archive_cipher as cipher
from ..security.keys import SecretBox
from ..store import agents as agent_store
from ..store.db import Database
from ..store.snapshot import snapshot
from ..timestamps import now_iso

FORMAT = "agenticmail-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
HOME_FILES = ("config.toml", "secret.key")  # besides the database and deletions/
DB_NAME = "agenticmail.db"
GZIP_MAGIC = b"\x1f\x8b"

# (what, done, total): "database", "mailboxes" (per agent), "checking", "restoring" ...
Progress = Callable[[str, int, int], None]


def _quiet(what: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    encrypted: bool
    agents: int
    messages: int
    files: int
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "encrypted": self.encrypted, "agents": self.agents,
                "messages": self.messages, "files": self.files, "bytes": self.bytes}


@dataclass(frozen=True)
class RestoreSummary:
    home: Path
    agents: list[str]
    messages: int
    created_at: str
    version: str

    def to_dict(self) -> dict[str, Any]:
        return {"home": str(self.home), "agents": self.agents, "messages": self.messages,
                "backup_created_at": self.created_at, "backup_version": self.version}


def _damaged(message: str) -> InvalidRequest:
    return InvalidRequest(message, code=cipher.DAMAGED)


# -- writing -------------------------------------------------------------------------------
class _SealingWriter:
    """A write-only file object that encrypts what goes through it, chunk by chunk."""

    def __init__(self, raw: IO[bytes], sealer: cipher.Sealer) -> None:
        self._raw, self._sealer, self._buf = raw, sealer, bytearray()
        raw.write(sealer.header)

    def write(self, data: bytes) -> int:
        self._buf += data
        while len(self._buf) > cipher.CHUNK:  # the last chunk is sealed by finish()
            self._raw.write(self._sealer.seal(bytes(self._buf[:cipher.CHUNK]), last=False))
            del self._buf[:cipher.CHUNK]
        return len(data)

    def finish(self) -> None:
        self._raw.write(self._sealer.seal(bytes(self._buf), last=True))
        self._buf.clear()


class _Hashing:
    """Reads through ``inner``, keeping the SHA-256 of what was read."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner, self.sha256 = inner, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self.sha256.update(data)
        return data


@dataclass
class _ArchiveWriter:
    tar: tarfile.TarFile
    checksums: dict[str, str] = field(default_factory=dict)
    size: int = 0

    def add(self, name: str, data: IO[bytes] | None, *, size: int = 0, mtime: float = 0,
            mode: int = 0o600) -> None:
        info = tarfile.TarInfo(name)
        info.mtime, info.mode = int(mtime), mode
        if data is None:
            info.type, info.mode = tarfile.DIRTYPE, 0o700
            self.tar.addfile(info)
            return
        info.size = size
        reader = _Hashing(data)
        self.tar.addfile(info, reader)
        self.checksums[name] = reader.sha256.hexdigest()
        self.size += size

    def add_path(self, name: str, path: Path) -> None:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            self.add(name, fh, size=st.st_size, mtime=st.st_mtime)

    def add_tree(self, prefix: str, root: Path) -> None:
        for top, dirs, files in os.walk(root):
            dirs.sort()
            rel = Path(top).relative_to(root).as_posix()
            base = prefix if rel == "." else f"{prefix}/{rel}"
            self.add(base, None, mtime=Path(top).stat().st_mtime)
            for name in sorted(files):
                self.add_path(f"{base}/{name}", Path(top) / name)


def _mail_host_archive(settings: Settings) -> tuple[MailHost, MailboxArchive]:
    host = build_host(settings)
    if not isinstance(host, MailboxArchive):
        raise InvalidRequest(
            f"backup and restore of mailboxes on the {host.kind} mail host is not supported yet",
            code="not_supported", hint="the local (Dovecot) mail host supports it")
    return host, host


def _agents(db_path: Path) -> list[tuple[str, str, str]]:
    """(name, address, encrypted mail password) of every agent in the database at db_path."""
    db = Database(db_path)
    try:
        return [(a.name, a.address, agent_store.password_enc(db, a.id))
                for a in agent_store.list_agents(db)]
    finally:
        db.close()


def create_backup(settings: Settings, dest: Path, *, passphrase: str | None = None,
                  progress: Progress = _quiet) -> BackupSummary:
    """Write the archive of ``settings.home`` to the new file ``dest`` (0600; encrypted when a
    passphrase is given). Safe while the daemon runs."""
    if not settings.config_path.is_file() or not settings.db_path.is_file():
        raise NotConfigured(f"there is nothing to back up in {settings.home}",
                            hint="run: agenticmail setup")
    _, mail = _mail_host_archive(settings)
    dest = dest.expanduser().absolute()
    if dest.exists():
        raise Conflict(f"{dest} already exists", hint="choose a new file name")
    if not dest.parent.is_dir():
        raise InvalidRequest(f"the directory {dest.parent} does not exist")
    partial = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.partial")
    try:
        with tempfile.TemporaryDirectory(prefix=".backup-", dir=settings.home) as work:
            progress("database", 0, 1)
            db_copy = Path(work) / DB_NAME
            snapshot(settings.db_path, db_copy)  # before the mailboxes: see the docstring
            agents = _agents(db_copy)
            progress("database", 1, 1)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "wb") as raw:
                sink = _SealingWriter(raw, cipher.Sealer.new(passphrase)) if passphrase else raw
                with tarfile.open(fileobj=sink, mode="w|gz") as tar:  # type: ignore[call-overload]
                    out = _ArchiveWriter(tar)
                    for name in HOME_FILES:
                        out.add_path(f"home/{name}", settings.home / name)
                    out.add_path(f"home/{DB_NAME}", db_copy)
                    if settings.deletions_dir.is_dir():
                        out.add_tree("home/deletions", settings.deletions_dir)
                    counts = _add_mailboxes(out, mail, agents, progress)
                    manifest = _manifest(settings, agents, counts, out)
                    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
                    info = tarfile.TarInfo(MANIFEST)
                    info.size, info.mode = len(body), 0o600
                    tar.addfile(info, io.BytesIO(body))
                if isinstance(sink, _SealingWriter):
                    sink.finish()
                raw.flush()
                os.fsync(raw.fileno())
        os.replace(partial, dest)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise AgenticMailError(f"cannot write the backup {dest}: {exc.strerror or exc}"
                                   ) from exc
        raise
    return BackupSummary(dest, bool(passphrase), len(agents), sum(counts.values()),
                         len(out.checksums), dest.stat().st_size)


def _add_mailboxes(out: _ArchiveWriter, mail: MailboxArchive,
                   agents: list[tuple[str, str, str]], progress: Progress) -> dict[str, int]:
    counts: dict[str, int] = {}
    for done, (_, address, _) in enumerate(agents):
        progress("mailboxes", done, len(agents))
        prefix = f"mail/{address}"
        out.add(prefix, None)
        counts[address] = 0
        for item in mail.export_mailbox(address):
            out.add(f"{prefix}/{item.name}", item.data, size=item.size, mtime=item.mtime)
            counts[address] += item.is_message
    progress("mailboxes", len(agents), len(agents))
    return counts


def _manifest(settings: Settings, agents: list[tuple[str, str, str]], counts: dict[str, int],
              out: _ArchiveWriter) -> dict[str, Any]:
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "agenticmail_version": __version__,
        "created_at": now_iso(), "mail_host": str(settings.mail_host),
        "agents": [{"name": name, "address": address, "messages": counts[address]}
                   for name, address, _ in agents],
        "counts": {"agents": len(agents), "messages": sum(counts.values()),
                   "files": len(out.checksums), "bytes": out.size},
        "files": out.checksums,
    }


# -- reading -------------------------------------------------------------------------------
def is_encrypted(archive: Path) -> bool:
    """Whether ``archive`` is an encrypted backup (InvalidRequest if it is no backup at all)."""
    try:
        with open(archive, "rb") as fh:
            head = fh.read(len(cipher.MAGIC))
    except FileNotFoundError:
        raise InvalidRequest(f"there is no file {archive}") from None
    except OSError as exc:
        raise InvalidRequest(f"cannot read {archive}: {exc.strerror or exc}") from None
    if head == cipher.MAGIC:
        return True
    if head.startswith(GZIP_MAGIC):
        return False
    raise _damaged(f"{archive} is not an agenticmail backup")


def _decrypt(archive: Path, passphrase: str, out_path: Path) -> None:
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(archive, "rb") as src, open(fd, "wb") as out:
        opener = cipher.Opener.new(src.read(cipher.HEADER_SIZE), passphrase)
        block = src.read(cipher.SEALED_CHUNK)
        while True:
            following = src.read(cipher.SEALED_CHUNK) if len(block) == cipher.SEALED_CHUNK \
                else b""
            out.write(opener.open(block, last=not following))
            if not following:
                return
            block = following


def _member_path(name: str) -> PurePosixPath:
    try:
        path = safe_name(name)
    except InvalidRequest:
        raise _damaged(f"the backup holds an unsafe path {name!r}") from None
    if path.parts[0] not in ("home", "mail") and name != MANIFEST:
        raise _damaged(f"the backup holds an unexpected file {name!r}")
    return path


def _extract(plain: Path, into: Path, progress: Progress) -> dict[str, Any]:
    """Unpack the archive into ``into`` checking every file against the manifest; the
    manifest. Raises InvalidRequest (code damaged_archive) for anything wrong."""
    hashes: dict[str, str] = {}
    manifest: dict[str, Any] | None = None
    try:
        with tarfile.open(plain, mode="r:gz") as tar:
            for done, member in enumerate(tar):
                if done % 100 == 0:
                    progress("checking", done, 0)
                path = _member_path(member.name)
                if member.name == MANIFEST and member.isfile():
                    data = tar.extractfile(member)
                    assert data is not None
                    manifest = json.loads(data.read())
                    continue
                target = into.joinpath(*path.parts)
                if member.isdir():
                    target.mkdir(mode=0o700, parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise _damaged(f"the backup holds a link or device {member.name!r}")
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                digest = hashlib.sha256()
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with open(fd, "wb") as out:
                    while chunk := source.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                os.utime(target, (member.mtime, member.mtime))
                hashes[member.name] = digest.hexdigest()
            assert tar.fileobj is not None
            while tar.fileobj.read(1 << 20):  # to the end: gzip checks its CRC there
                pass
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, ValueError) as exc:
        raise _damaged(f"the backup is damaged or truncated ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _damaged("the backup is truncated or incomplete: it has no manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InvalidRequest(f"this backup's format version {manifest.get('format_version')} "
                             "is not supported by this version of agenticmail",
                             code="not_supported")
    if manifest.get("files") != hashes:
        raise _damaged("the backup is damaged: its files do not match their checksums")
    return manifest


def _empty_target(home: Path) -> bool:
    """Whether ``home`` is absent (False) or an empty directory (True); Conflict otherwise."""
    if not home.exists():
        return False
    if home.is_dir() and not any(home.iterdir()):
        return True
    raise Conflict(f"{home} is not empty: restore goes into a new, empty home",
                   hint="choose another directory with --home (or AGENTICMAIL_HOME)")


def restore_backup(home: Path, archive: Path, *, passphrase: str | None = None,
                   progress: Progress = _quiet) -> RestoreSummary:
    """Bring back the home saved in ``archive`` into ``home`` (absent or empty): config,
    keys, database, agents' mailboxes. All or nothing."""
    home = home.expanduser().absolute()
    existed = _empty_target(home)
    encrypted = is_encrypted(archive)
    if encrypted and not passphrase:
        raise InvalidRequest("this backup is encrypted: a passphrase is needed",
                             code="passphrase_required",
                             hint="give --passphrase-file FILE, or run it in a terminal")
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{home.name}.restore-", dir=home.parent))
    host: MailHost | None = None
    placed = False
    try:
        plain = archive
        if encrypted:
            progress("decrypting", 0, 1)
            plain = staging / "archive.tar.gz"
            _decrypt(archive, passphrase or "", plain)
        unpacked = staging / "unpacked"
        unpacked.mkdir(mode=0o700)
        manifest = _extract(plain, unpacked, progress)
        if encrypted:
            plain.unlink()
        new_home = unpacked / "home"
        for name in (*HOME_FILES, DB_NAME):
            if not (new_home / name).is_file():
                raise _damaged(f"the backup has no {name}")
        new_home.chmod(0o700)
        if existed:
            home.rmdir()
        os.rename(new_home, home)
        placed = True
        settings = load_settings(home)
        host, mail = _mail_host_archive(settings)
        box = SecretBox((home / "secret.key").read_bytes().strip())
        agents = _agents(settings.db_path)
        messages = 0
        for done, (_, address, password_enc) in enumerate(agents):
            progress("restoring", done, len(agents))
            host.create_account(address, box.decrypt(password_enc))
            messages += mail.import_mailbox(address, _staged(unpacked / "mail" / address))
        progress("restoring", len(agents), len(agents))
    except BaseException as exc:
        if placed:
            _undo(home, host, existed)
        if isinstance(exc, OSError):
            raise AgenticMailError(f"restore failed: {exc.strerror or exc}") from exc
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreSummary(home, [name for name, _, _ in agents], messages,
                          str(manifest.get("created_at", "")),
                          str(manifest.get("agenticmail_version", "")))


def _staged(root: Path) -> Iterator[MailFile]:
    if root.is_dir():
        yield from export_tree(root)


def _undo(home: Path, host: MailHost | None, existed: bool) -> None:
    """Remove what a failed restore wrote (the home, and the mail store if it lives apart)."""
    purge = getattr(host, "purge", None)
    if purge is not None:
        with contextlib.suppress(AgenticMailError):
            purge()
    shutil.rmtree(home, ignore_errors=True)
    if existed:
        home.mkdir(mode=0o700, exist_ok=True)
