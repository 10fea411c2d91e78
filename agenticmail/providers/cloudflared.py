"""``cloudflared``, Cloudflare's tunnel connector: where the binary is, how it is run, what its
log lines say, and installing a pinned release into the data dir.

Found at the ``cloudflared_path`` setting, else on ``PATH``, else at ``<data dir>/bin/
cloudflared`` (where :func:`install` puts it). It runs as ``cloudflared tunnel --no-autoupdate
--loglevel info run`` with the tunnel token in its environment (``TUNNEL_TOKEN``, which
``tunnel run`` reads), never in its arguments, where any local user could read it (``ps``).

:func:`install` downloads one pinned release for this OS and architecture (the
``cloudflared_download_url`` setting is the base, GitHub's releases by default), checks its
SHA-256 against the digests pinned here (or the ``cloudflared_sha256`` setting that goes with
another ``cloudflared_version``) and only then moves it into place, 0755, atomically; a
download that fails or does not match leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import os
import platform
import re
import secrets
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..config import Settings
from ..errors import ConfigError, DependencyMissing

PINNED_VERSION = "2026.6.1"
# SHA-256 of each release asset of PINNED_VERSION (GitHub's release files; Cloudflare
# publishes the digests in each release's notes). Bump the version and every digest together.
PINNED_SHA256 = {
    "cloudflared-linux-amd64": "5861a10a438fe8ddcfebb3b830f83966cbf193edafce0fe2eeb198fbae1f7a22",
    "cloudflared-linux-arm64": "59816ce9b16db71f5bc2a86d59b3632a96c8c3ee934bde2bc8641ee83a6070eb",
    "cloudflared-darwin-amd64.tgz":
        "d7a66b525fe76820da6e5406611b61e48b40de682368ac00454d9158f085be4b",
    "cloudflared-darwin-arm64.tgz":
        "f6d4c439c6c782b83264951d327989ce5e23373acc5942b872411601fedb020d",
}
MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024
DOWNLOAD_TIMEOUT = 60.0  # seconds without progress
VERSION_TIMEOUT = 10.0
INSTALL_HINT = "install it: agenticmail domain tunnel install"
EXECUTABLE = 0o755

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def asset_name(system: str | None = None, machine: str | None = None) -> str:
    """The release file for this OS and CPU (``cloudflared-linux-amd64``, ``...darwin-arm64
    .tgz``)."""
    system = (system or platform.system()).lower()
    machine = (machine or platform.machine()).lower()
    arch = _ARCH.get(machine)
    if system not in ("linux", "darwin") or arch is None:
        raise DependencyMissing(
            f"no cloudflared release is pinned for {system}/{machine}",
            hint="install cloudflared yourself and set cloudflared_path "
                 "(https://developers.cloudflare.com/cloudflare-one/connections/"
                 "connect-networks/downloads/)")
    return f"cloudflared-{system}-{arch}" + (".tgz" if system == "darwin" else "")


def installed_path(settings: Settings) -> Path:
    """Where :func:`install` puts the binary: ``<data dir>/bin/cloudflared``."""
    return settings.home / "bin" / "cloudflared"


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find(settings: Settings) -> Path | None:
    """The binary to run: the ``cloudflared_path`` setting (when set, only it), else the one
    on ``PATH``, else the one installed in the data dir; None when there is none."""
    if settings.cloudflared_path:
        path = Path(settings.cloudflared_path).expanduser()
        return path if _executable(path) else None
    on_path = shutil.which("cloudflared")
    if on_path:
        return Path(on_path)
    path = installed_path(settings)
    return path if _executable(path) else None


def not_found(settings: Settings) -> DependencyMissing:
    """The error for a missing binary, naming where it was looked for."""
    where = (f"at cloudflared_path ({settings.cloudflared_path})" if settings.cloudflared_path
             else f"on PATH or at {installed_path(settings)}")
    return DependencyMissing(f"cloudflared is not installed: none {where}", hint=INSTALL_HINT)


def base_environment() -> dict[str, str]:
    """What cloudflared inherits from the daemon: a search path, a home and a locale, nothing
    else (the daemon's environment may hold its own secrets)."""
    return {name: value for name in ("PATH", "HOME", "LANG", "TZ")
            if (value := os.environ.get(name))}


_VERSION = re.compile(r"\bversion\s+(\S+)", re.IGNORECASE)
_versions: dict[tuple[str, float], str | None] = {}


def version(binary: Path) -> str | None:
    """``cloudflared --version``'s version number (None if it does not say), remembered per
    file and modification time."""
    try:
        key = (str(binary), binary.stat().st_mtime)
    except OSError:
        return None
    if key not in _versions:
        try:
            done = subprocess.run([str(binary), "--version"], capture_output=True,
                                  timeout=VERSION_TIMEOUT, env=base_environment(),
                                  stdin=subprocess.DEVNULL, check=False)
            match = _VERSION.search(done.stdout.decode("utf-8", "replace"))
            _versions[key] = match.group(1) if match else None
        except (OSError, subprocess.TimeoutExpired):
            return None
    return _versions[key]


def run_arguments(binary: Path) -> list[str]:
    """The command line of a tunnel run: the token is NOT in it (see :func:`run_environment`).
    No auto-update (the daemon owns the binary), info level (the connection lines)."""
    return [str(binary), "tunnel", "--no-autoupdate", "--loglevel", "info", "run"]


def run_environment(token: str) -> dict[str, str]:
    """The environment of a tunnel run: :func:`base_environment` and ``TUNNEL_TOKEN``."""
    return {**base_environment(), "TUNNEL_TOKEN": token}


# -- its log lines -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LogEvent:
    """What one log line says: ``connected``/``disconnected`` (connection ``index``, at
    ``location``), ``error`` (``message``) or ``version`` (``message``)."""

    kind: str
    index: int | None = None
    location: str | None = None
    message: str = ""


_LINE = re.compile(r"^\S+\s+(DBG|INF|WRN|ERR|FTL)\s+(.*)$")
_FIELD = re.compile(r'\b(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
_DOWN = ("Unregistered tunnel connection", "Serve tunnel error", "Connection terminated",
         "Lost connection with the edge", "Failed to serve quic connection",
         "Retrying connection in up to")
MAX_MESSAGE = 300


def _fields(text: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _FIELD.findall(text)}


def _index(fields: dict[str, str]) -> int | None:
    raw = fields.get("connIndex")
    return int(raw) if raw is not None and raw.isdigit() else None


def parse_line(line: str) -> LogEvent | None:
    """What a line of cloudflared's (console-format) log says, or None for the rest:
    ``<time> INF Registered tunnel connection connIndex=0 ... location=lhr01 ...``."""
    found = _LINE.match(line.strip())
    if found is None:
        return None
    level, text = found.groups()
    fields = _fields(text)
    if any(phrase in text for phrase in _DOWN):
        return LogEvent("disconnected", _index(fields),
                        message=text[:MAX_MESSAGE] if level in ("ERR", "FTL") else "")
    if "Registered tunnel connection" in text:
        return LogEvent("connected", _index(fields), fields.get("location"))
    if level in ("ERR", "FTL"):
        return LogEvent("error", _index(fields), message=text[:MAX_MESSAGE])
    if text.startswith("Version "):
        return LogEvent("version", message=text.split()[1])
    return None


# -- installing a pinned release -----------------------------------------------------------
@dataclass(frozen=True)
class Installed:
    path: Path
    version: str
    sha256: str
    url: str


def release(settings: Settings) -> tuple[str, str, str]:
    """``(version, url, expected sha256)`` of the release :func:`install` would fetch."""
    asset = asset_name()
    chosen = settings.cloudflared_version or PINNED_VERSION
    expected = settings.cloudflared_sha256 or (
        PINNED_SHA256.get(asset) if chosen == PINNED_VERSION else None)
    if not expected:
        raise ConfigError(f"cloudflared {chosen} has no pinned checksum",
                          hint="set cloudflared_sha256 to the SHA-256 of its release file "
                               f"{asset}, or unset cloudflared_version for {PINNED_VERSION}")
    url = f"{settings.cloudflared_download_url.rstrip('/')}/{chosen}/{asset}"
    return chosen, url, expected.lower()


def _download(url: str, into: Path) -> str:
    """Stream ``url`` into ``into``; its SHA-256."""
    digest, size = hashlib.sha256(), 0
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=DOWNLOAD_TIMEOUT) as resp:
            if resp.status_code != 200:
                raise DependencyMissing(
                    f"could not download cloudflared from {url}: HTTP {resp.status_code}",
                    code="download_failed", hint="check the address (cloudflared_download_url"
                    ") and the network, or install cloudflared yourself on PATH")
            with into.open("wb") as out:
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise DependencyMissing(
                            f"the download from {url} is over {MAX_DOWNLOAD_BYTES} bytes",
                            code="download_failed")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
    except httpx.HTTPError as exc:
        raise DependencyMissing(f"could not download cloudflared from {url}: {exc}",
                                code="download_failed",
                                hint="check the network, or install cloudflared yourself "
                                     "on PATH") from None
    return digest.hexdigest()


def _unpack(archive: Path, into: Path) -> None:
    """The ``cloudflared`` file of a release tarball (the macOS assets), nothing else."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = next((m for m in tar.getmembers()
                           if m.isfile() and Path(m.name).name == "cloudflared"), None)
            source = None if member is None else tar.extractfile(member)
            if source is None:
                raise DependencyMissing(f"{archive.name} holds no cloudflared file",
                                        code="download_failed")
            with source, into.open("wb") as out:
                shutil.copyfileobj(source, out)
    except (tarfile.TarError, OSError, io.UnsupportedOperation) as exc:
        raise DependencyMissing(f"cannot unpack the cloudflared release: {exc}",
                                code="download_failed") from None


def install(settings: Settings) -> Installed:
    """Download the pinned release into ``<data dir>/bin/cloudflared`` (see the module
    docstring). Raises DependencyMissing (code ``checksum_mismatch`` or
    ``download_failed``) with nothing left behind."""
    chosen, url, expected = release(settings)
    target = installed_path(settings)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    stem = f".cloudflared.{secrets.token_hex(4)}"
    download, binary = target.with_name(f"{stem}.download"), target.with_name(f"{stem}.tmp")
    try:
        found = _download(url, download)
        if not hmac.compare_digest(found, expected):
            raise DependencyMissing(
                f"the cloudflared download from {url} has SHA-256 {found}, not the pinned "
                f"{expected}: refused, nothing installed", code="checksum_mismatch",
                hint="the file is not the release it claims to be: check "
                     "cloudflared_download_url (and cloudflared_sha256 if you set it)")
        if url.endswith(".tgz"):
            _unpack(download, binary)
        else:
            download.rename(binary)
        os.chmod(binary, EXECUTABLE)
        os.replace(binary, target)
    finally:
        for leftover in (download, binary):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return Installed(path=target, version=chosen, sha256=found, url=url)
