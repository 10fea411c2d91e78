"""The OS user a root-launched ``local`` mail host accesses mail as: one per data dir.

Dovecot never accesses mail as root. Rather than the shared ``nobody`` (which any other
instance, or any other service running as ``nobody``, would share), each data dir gets its own
system user ``agenticmail-<key>`` (``key``: the data dir's short hash), with its own group, no
home and no login shell. It owns the mail store (0700), so one instance's mail processes cannot
read another's mail. :func:`ensure` creates it (idempotent, safe against a concurrent start);
:func:`remove` deletes it when the store is purged, and only ever a user that carries our
marker. Linux (``useradd``/``userdel``) only: on macOS run the daemon as your own user.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import shutil
import subprocess

from ..errors import DependencyMissing, MailHostError

log = logging.getLogger(__name__)

PREFIX = "agenticmail-"
MARKER = "agenticmail mail store"  # the GECOS field: what :func:`remove` may delete
_SBIN = ("/usr/sbin", "/sbin")
_USERADD_EXISTS = 9  # useradd: the name is taken (a concurrent start created it)
_USERDEL_UNKNOWN = 6  # userdel: no such user
ROOT_HINT = "run agenticmail as your own (non-root) user: the mail host then runs as that user"


def user_name(key: str) -> str:
    """The mail user's name for the data dir whose short hash is ``key``."""
    return f"{PREFIX}{key}"


def lookup(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _ours(entry: pwd.struct_passwd) -> bool:
    return entry.pw_name.startswith(PREFIX) and entry.pw_gecos == MARKER


def _tool(name: str) -> str:
    found = shutil.which(name) or next(
        (p for d in _SBIN if os.access(p := os.path.join(d, name), os.X_OK)), None
    )
    if found is None:
        raise DependencyMissing(f"{name} is not available to create the mail host's user",
                                hint=ROOT_HINT)
    return found


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MailHostError(f"{os.path.basename(args[0])} failed: {exc}") from exc


def ensure(name: str) -> pwd.struct_passwd:
    """The user ``name``, created first if missing. MailHostError if the name belongs to a
    user agenticmail did not create (it is never taken over)."""
    entry = lookup(name)
    if entry is None:
        shell = next((s for s in ("/usr/sbin/nologin", "/sbin/nologin") if os.path.exists(s)),
                     "/bin/false")
        result = _run([_tool("useradd"), "--system", "--user-group", "--no-create-home",
                       "--home-dir", "/nonexistent", "--shell", shell, "--comment", MARKER, name])
        if result.returncode not in (0, _USERADD_EXISTS):
            raise MailHostError(f"could not create the mail host's user {name}: "
                                f"{result.stderr.strip() or result.returncode}", hint=ROOT_HINT)
        entry = lookup(name)
        if entry is None:
            raise MailHostError(f"the mail host's user {name} was created but cannot be found")
        log.info("created the mail host's user %s (uid %d)", name, entry.pw_uid)
    if not _ours(entry):
        raise MailHostError(f"the OS user {name} exists but was not created by agenticmail",
                            hint="remove that user, or run agenticmail as a normal user")
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise MailHostError(f"the mail host's user {name} has uid or gid 0")
    return entry


def remove(name: str) -> None:
    """Delete the user ``name`` and its group, if agenticmail created it (best effort: logged)."""
    entry = lookup(name)
    if entry is None or not _ours(entry):
        return
    try:
        result = _run([_tool("userdel"), name])
    except (DependencyMissing, MailHostError) as exc:
        log.warning("could not remove the mail host's user %s: %s", name, exc)
        return
    if result.returncode not in (0, _USERDEL_UNKNOWN):
        log.warning("could not remove the mail host's user %s: %s", name, result.stderr.strip())
        return
    try:  # userdel drops the user's own group when USERGROUPS_ENAB is on; else do it here
        group = grp.getgrnam(name)
    except KeyError:
        return
    if group.gr_gid == entry.pw_gid and not group.gr_mem:
        _run([_tool("groupdel"), name])
    log.info("removed the mail host's user %s", name)
