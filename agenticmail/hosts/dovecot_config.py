"""Helpers for the private Dovecot behind :mod:`agenticmail.hosts.local`.

Config rendering (``templates/dovecot.conf``), passwd-file lines ({SSHA512}) and the auth
protocol that checks them, address rules, the store layout and who may reach it.
:class:`LocalHost` owns the lifecycle; everything here is a stateless function (process and
socket helpers are :mod:`agenticmail.processes`).

Identity: Dovecot never grants mail access as root. When the daemon runs as root, mail is
accessed as the data dir's own system user (:mod:`.system_user`; the only uid/gid Dovecot then
accepts for mail access) and Dovecot's internal/login users are the packaged
``dovecot``/``dovenull`` accounts. When it runs as a normal user, the whole instance runs as
that user ("rootless": internal and login user = me, no chroots).
"""

from __future__ import annotations

import base64
import contextlib
import grp
import hashlib
import os
import pwd
import re
import secrets
import socket
import stat
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from ..errors import InvalidRequest, MailHostError, MailHostUnavailable

# Dovecot's default auth_username_chars, lowercased (auth_username_format = %Lu lowercases).
_ADDRESS_RE = re.compile(r"[a-z0-9_-][a-z0-9._-]*@[a-z0-9_-][a-z0-9.-]*")
MAX_ADDRESS_LEN = 254
SALT_BYTES = 16
DAEMON_IMAP_SOCKET = "agenticmail-imap"  # imap-login's unix listener for the daemon, in base_dir


@dataclass(frozen=True)
class Identity:
    """Which OS users the Dovecot processes run as."""

    rootless: bool
    mail_uid: int  # owner of the mail store
    mail_gid: int
    auth_uid: int  # Dovecot's auth process (reads the passwd files)
    lines: str  # the identity block of dovecot.conf

    @property
    def mode(self) -> str:
        return "rootless" if self.rootless else "root-launched"


def _user(name: str, fallback: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return pwd.getpwnam(fallback)


def auth_uid() -> int:
    """The uid of Dovecot's auth process (which reads the passwd files)."""
    return os.geteuid() if os.geteuid() != 0 else _user("dovecot", "nobody").pw_uid


def current_identity(mail_user: pwd.struct_passwd | None = None) -> Identity:
    """The identity block for the current effective user (root vs rootless).

    As root, ``mail_user`` (required) is the instance's own mail user; Dovecot is told to
    accept no other uid/gid for mail access.
    """
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(os.getegid()).gr_name
        lines = (
            f"default_internal_user = {me.pw_name}\n"
            f"default_internal_group = {group}\n"
            f"default_login_user = {me.pw_name}"
        )
        return Identity(True, me.pw_uid, os.getegid(), me.pw_uid, lines)
    if mail_user is None or mail_user.pw_uid == 0 or mail_user.pw_gid == 0:
        raise MailHostError("a root-launched Dovecot needs an unprivileged mail user")
    uid, gid = mail_user.pw_uid, mail_user.pw_gid
    internal = _user("dovecot", "nobody")
    login = _user("dovenull", "nobody")
    lines = (
        f"default_internal_user = {internal.pw_name}\n"
        f"default_login_user = {login.pw_name}\n"
        f"mail_uid = {uid}\n"
        f"mail_gid = {gid}\n"
        f"first_valid_uid = {uid}\n"
        f"last_valid_uid = {uid}\n"
        f"first_valid_gid = {gid}\n"
        f"last_valid_gid = {gid}"
    )
    return Identity(False, uid, gid, internal.pw_uid, lines)


@dataclass(frozen=True)
class Push:
    """Dovecot's push_notification plugin with its Lua driver (``script``, rendered from
    ``templates/dovecot_push.lua``) POSTs to ``url`` (the daemon's loopback API) with
    ``secret`` whenever a message is saved to an INBOX, by LMTP or by a client's APPEND:
    Dovecot's own IDLE notification comes at least 500 ms later (``NOTIFY_DELAY_MSECS``,
    compiled in)."""

    url: str
    secret: str
    script: Path

    def config(self) -> str:
        for value in (self.url, self.secret, str(self.script)):
            if any(c in value for c in ' "\n#%$'):
                raise InvalidRequest(f"unsupported character in a push setting: {value!r}")
        plugins = "mail_plugins = $mail_plugins notify push_notification mail_lua " \
                  "push_notification_lua"
        # Only in LMTP and in IMAP sessions over TCP (mail clients): the daemon's own watchers
        # come over its unix socket, which no "local" block matches, so their thousand
        # sessions do without a Lua state each (about 70 KiB a session).
        return "\n".join((
            "protocol lmtp {", f"  {plugins}", "}",
            "local 127.0.0.1 {", "  protocol imap {", f"    {plugins}", "  }", "}",
            "plugin {",
            f"  push_notification_driver = lua:file={self.script}",
            f"  agenticmail_push_url = {self.url}",
            f"  agenticmail_push_secret = {self.secret}",
            "}",
        ))


def push_available(dovecot_bin: str) -> bool:
    """Whether the Dovecot at ``dovecot_bin`` has the push_notification Lua driver (Debian's
    dovecot-core 2.3 ships it in <prefix>/lib/dovecot/modules; some builds do not)."""
    prefix = Path(dovecot_bin).resolve().parent.parent
    return any((d / "lib22_push_notification_lua_plugin.so").exists()
               for d in (prefix / "lib" / "dovecot" / "modules", prefix / "lib" / "dovecot"))


def push_script() -> str:
    return (resources.files("agenticmail") / "templates" / "dovecot_push.lua").read_text(
        "utf-8")


def render_config(
    *,
    identity: Identity,
    instance_name: str,
    base_dir: Path,
    state_dir: Path,
    log_path: Path,
    users_dir: Path,
    mail_dir: Path,
    hostname: str,
    imap_port: int,
    push: Push | None = None,
) -> str:
    """Render ``templates/dovecot.conf`` for one private instance (LMTP on a unix socket
    owned by the user running this process, mode 0600; no LMTP port); with ``push``, Dovecot
    tells the daemon of each new INBOX message at once (see :class:`Push`)."""
    for path in (base_dir, state_dir, log_path, users_dir, mail_dir):
        if any(c in str(path) for c in ' "\n#%$'):
            raise InvalidRequest(f"unsupported character in Dovecot path: {path}")
    text = (resources.files("agenticmail") / "templates" / "dovecot.conf").read_text("utf-8")
    return Template(text).substitute(
        instance_name=instance_name,
        base_dir=base_dir,
        state_dir=state_dir,
        log_path=log_path,
        users_dir=users_dir,
        mail_dir=mail_dir,
        hostname=hostname,
        imap_port=imap_port,
        daemon_user=pwd.getpwuid(os.geteuid()).pw_name,
        daemon_group=grp.getgrgid(os.getegid()).gr_name,
        mode=identity.mode,
        daemon_imap_socket=DAEMON_IMAP_SOCKET,
        identity=identity.lines,
        login_chroot="chroot =" if identity.rootless else "# chroot: packaged default",
        push_notification=push.config() if push else "# push notification: not available",
    )


def normalize_address(address: str) -> str:
    """Lower-case and validate a mailbox address (it becomes a file name). Raises InvalidRequest."""
    addr = address.lower() if isinstance(address, str) else ""
    if not addr or len(addr) > MAX_ADDRESS_LEN or not _ADDRESS_RE.fullmatch(addr) or ".." in addr:
        raise InvalidRequest(
            f"invalid mailbox address {address!r}",
            hint="use letters, digits, '.', '_' or '-' and exactly one '@' (no '/', ':', spaces)",
        )
    return addr


def ssha512(password: str, salt: bytes | None = None) -> str:
    """Dovecot ``{SSHA512}``: base64(sha512(password + salt) + salt)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.sha512(password.encode("utf-8") + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode("ascii")


def check_password(password: str) -> None:
    if not isinstance(password, str) or not password:
        raise InvalidRequest("password must be a non-empty string")
    if "\x00" in password or "\n" in password or "\r" in password:
        raise InvalidRequest("password must not contain NUL or line breaks")


def passwd_line(address: str, password: str) -> str:
    """One passwd-file line (uid/gid/home come from the config's defaults)."""
    check_password(password)
    return f"{address}:{ssha512(password)}::::::\n"


@dataclass(frozen=True)
class StoreLayout:
    """Where accounts, mail and Dovecot's sockets live."""

    root: Path
    base_dir: Path

    @property
    def users_dir(self) -> Path:
        return self.root / "users.d"

    @property
    def mail_dir(self) -> Path:
        return self.root / "mail"


# -- the store on disk ---------------------------------------------------------------------
def mkdir(path: Path, mode: int, owner: tuple[int, int] | None = None) -> None:
    try:
        path.mkdir(mode=mode, parents=True)
    except FileExistsError:
        return
    os.chmod(path, mode)  # mkdir's mode is filtered by the umask
    if owner is not None and os.geteuid() == 0:
        os.chown(path, *owner)


def can_traverse(path: Path, uid: int | None) -> bool:
    """Whether ``uid`` (with its groups) can reach ``path`` through every ancestor.

    ``uid`` None: a user who owns nothing on the way and is in none of its groups (a mail user
    not created yet), who gets through on the "other" bits alone.
    """
    gids: set[int] = set()
    if uid is not None:
        with contextlib.suppress(KeyError):
            pw = pwd.getpwuid(uid)
            gids = set(os.getgrouplist(pw.pw_name, pw.pw_gid))
    for p in (path, *path.parents):
        try:
            st = p.stat()
        except OSError:
            return False
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid in gids:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def chown_tree(path: Path, uid: int, gid: int) -> None:
    """Give ``path`` and everything below it (symlinks themselves, never their targets) to
    ``uid:gid``: a store made by an older version for another mail user."""
    os.lchown(path, uid, gid)
    for top, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.lchown(os.path.join(top, name), uid, gid)


def auth_plain(socket_path: Path, addr: str, password: str) -> bool:
    """One PLAIN authentication over Dovecot's auth-client socket (auth protocol 1.2)."""
    resp = base64.b64encode(b"\0" + addr.encode() + b"\0" + password.encode()).decode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(socket_path))
            sock.sendall(f"VERSION\t1\t2\nCPID\t{os.getpid()}\n".encode())
            reader = sock.makefile("rb")
            while (line := reader.readline()) and not line.startswith(b"DONE"):
                pass
            sock.sendall(
                f"AUTH\t1\tPLAIN\tservice=agenticmail\tsecured\tno-penalty\tresp={resp}\n".encode()
            )
            answer = reader.readline()
    except OSError as exc:
        raise MailHostUnavailable(f"Dovecot auth is unreachable: {exc}") from exc
    if answer.startswith(b"OK\t1"):
        return True
    if answer.startswith(b"FAIL\t1"):
        return False
    raise MailHostError(f"unexpected Dovecot auth answer {answer[:40]!r}")
