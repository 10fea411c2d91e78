"""The ``local`` mail host: a private Dovecot (IMAP + LMTP) started and supervised by the daemon.

Layout (``data_dir`` is e.g. ``~/.agenticmail/dovecot``)::

    data_dir/dovecot.conf     rendered from templates/dovecot.conf on every start
    data_dir/dovecot.log      Dovecot's log (and its stderr)
    data_dir/state/           Dovecot state_dir
    data_dir/store-location   where the store root below lives (recorded on first use)
    <root>/users.d/<address>  one passwd-file per account, password as {SSHA512}
    <root>/mail/<address>/    the account's home; mail in Maildir/
    <root>/run/               Dovecot base_dir (sockets, master.pid)
    <root>/run/agenticmail-imap  IMAP for the daemon's own sessions (0600: the daemon's user only;
                              no remote IP, so failed logins of others never delay it)
    <root>/run/lmtp           LMTP delivery: a unix socket, 0600, owned by the daemon's user

There is no LMTP port: ``lmtp_port`` is accepted for config compatibility (the stalwart host
uses it) and opens nothing here, so no other local process can deliver into a mailbox.

``<root>`` is ``data_dir`` itself, except when running as root and ``data_dir`` is not
traversable by the unprivileged users Dovecot switches to (the instance's own mail user
``agenticmail-<sha256(data_dir)[:12]>`` for mail access, see :mod:`.system_user`; ``dovecot``
for the auth process) -- the usual case, as ``~/.agenticmail`` and ``/root`` are 0700. Then the
store lives in ``/var/lib/agenticmail/<sha256(data_dir)[:12]>`` (root-owned, 0755; ``mail/``
owned by the mail user, 0700; ``users.d/`` 0711 with each file owned by the auth user, 0400).
:meth:`LocalHost.purge` removes the mail user too. Rootless, everything runs as the owner.
When ``root/run`` would make a socket path too long, base_dir moves to a short
``/tmp/agenticmail-<uid>-<hash>`` directory.

Known Dovecot behaviours handled here (see docs on the private Dovecot): the auth process
re-reads a passwd-file at most once per second and only when its mtime or size changed, hence
one file per user, the mtime bump on password change and the polls after change/delete.
Passwords are never logged and never put on a command line.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..config import write_private
from ..errors import (
    AgenticMailError,
    Conflict,
    DependencyMissing,
    InvalidRequest,
    MailHostError,
    NotFound,
)
from ..log import register_secret
from ..models import Endpoints, HostHealth
from ..processes import (
    POLL,
    cmdline,
    connectable,
    pid_alive,
    poll_until,
    port_free,
    probe,
    signal_group,
    signal_leader,
    unix_connectable,
)
from . import dovecot_config as dc
from . import maildir, system_user

log = logging.getLogger(__name__)

INSTALL_HINT = "sudo apt-get install -y dovecot-imapd dovecot-lmtpd   (macOS: brew install dovecot)"
DOVECOT_PATHS = ("/usr/sbin/dovecot", "/opt/homebrew/sbin/dovecot", "/usr/local/sbin/dovecot")
SYSTEM_STORE_DIR = Path("/var/lib/agenticmail")
LOCATION_FILE = "store-location"
START_TIMEOUT = 15.0
# SIGTERM grace before SIGKILL. An idle instance exits in ~0.1 s, but processes still starting
# (e.g. spawned by a readiness probe) block ~5 s on the already-stopped config service.
STOP_TIMEOUT = 2.0
AUTH_SYNC_TIMEOUT = 3.0  # passwd-file changes are seen within ~1 s
MAX_BASE_DIR_LEN = 80  # sun_path is 104-108 bytes; Dovecot appends up to ~25



def find_dovecot(explicit: str | None = None) -> str:
    """The Dovecot binary to run; DependencyMissing (with the install hint) if there is none."""
    candidates = [explicit] if explicit is not None else [shutil.which("dovecot"), *DOVECOT_PATHS]
    for cand in candidates:
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise DependencyMissing("Dovecot is not installed", hint=INSTALL_HINT)

class LocalHost:
    """A private Dovecot instance; implements :class:`agenticmail.hosts.base.MailHost`."""

    kind = "local"

    def __init__(
        self,
        data_dir: Path,
        *,
        domain: str = "localhost",
        imap_port: int,
        lmtp_port: int,
        submission_port: int,
        dovecot_bin: str | None = None,
        system_dir: Path | None = None,
        push_url: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.domain = domain
        self.imap_port = imap_port
        self.lmtp_port = lmtp_port
        self.submission_port = submission_port
        self._dovecot_bin = dovecot_bin
        self._system_dir = Path(system_dir) if system_dir is not None else SYSTEM_STORE_DIR
        self._key = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        self._identity: dc.Identity | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._layout: dc.StoreLayout | None = None
        self.push_url = push_url
        # what Dovecot's push notifications carry to push_url; new for each process
        self.push_secret: str | None = secrets.token_urlsafe(32) if push_url else None
        register_secret(self.push_secret)
        self.push_enabled = False  # whether the running Dovecot was configured to push

    @property
    def mail_user(self) -> str | None:
        """The OS user this instance's mail is accessed as, when run as root (else None)."""
        return system_user.user_name(self._key) if os.geteuid() == 0 else None

    @property
    def identity(self) -> dc.Identity:
        """Which OS users Dovecot runs as (as root, this creates the mail user if missing)."""
        if self._identity is None:
            name = self.mail_user
            self._identity = dc.current_identity(
                None if name is None else system_user.ensure(name)
            )
        return self._identity

    # -- paths -----------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.data_dir / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "dovecot.log"

    @property
    def layout(self) -> dc.StoreLayout:
        """Where users, mail and sockets live (computed once, then recorded on first use)."""
        if self._layout is None:
            try:
                recorded = (self.data_dir / LOCATION_FILE).read_text("utf-8").strip()
            except OSError:
                recorded = ""
            root = Path(recorded) if recorded else self._choose_root()
            base_dir = root / "run"
            if len(str(base_dir)) > MAX_BASE_DIR_LEN:
                base_dir = Path("/tmp") / f"agenticmail-{os.geteuid()}-{self._key}"
            self._layout = dc.StoreLayout(root, base_dir)
        return self._layout

    def _choose_root(self) -> Path:
        # as root the mail user (maybe not created yet) owns nothing and is in no group here
        if os.geteuid() != 0 or all(
            dc.can_traverse(self.data_dir, uid) for uid in (None, dc.auth_uid())
        ):
            return self.data_dir
        return self._system_dir / self._key

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            crashed, self._proc = self._proc, None
            if crashed is not None:  # the supervisor restarts us: clear its leftover children
                signal_group(crashed.pid, signal.SIGKILL)
            binary = self._find_dovecot()
            layout = self._prepare()
            self._write_config(layout)
            stale = self._stop_stale()
            self._check_ports_free(settle=STOP_TIMEOUT if stale or crashed else 0.0)
            self._rotate_log()
            try:
                fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with open(fd, "ab") as logf:
                    proc = subprocess.Popen(
                        [binary, "-F", "-c", str(self.config_path)],
                        stdin=subprocess.DEVNULL,
                        stdout=logf,
                        stderr=logf,
                        start_new_session=True,
                        close_fds=True,
                    )
            except OSError as exc:
                raise MailHostError(f"could not run {binary}: {exc}") from exc
            try:
                self._wait_ready(proc)
            except BaseException:
                self._terminate(proc, graceful=False)
                raise
            self._proc = proc
            log.info("dovecot started (pid %d, imap %d, lmtp %s)", proc.pid, self.imap_port,
                     self.lmtp_socket)

    def stop(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                self._terminate(proc, graceful=True)
                log.info("dovecot stopped")
            else:
                self._stop_stale()

    def is_running(self) -> bool:
        with self._lock:
            if self._proc is not None:
                return self._proc.poll() is None
        pid = self._master_pid()
        return pid is not None and self._is_our_dovecot(pid)

    def process_exited(self) -> int | None:
        """The exit status if the Dovecot we started has died (for a supervisor), else None."""
        with self._lock:
            return None if self._proc is None else self._proc.poll()

    @property
    def pid(self) -> int | None:
        with self._lock:
            return None if self._proc is None else self._proc.pid

    def health(self) -> HostHealth:
        checks = {
            "process": "running" if self.is_running() else "not running",
            "imap": probe(self.imap_port, b"* OK"),
            "lmtp": probe(self.lmtp_socket, b"220"),
        }
        ok = checks["process"] == "running" and checks["imap"] == "ok" and checks["lmtp"] == "ok"
        detail = "dovecot is healthy" if ok else "; ".join(f"{k}: {v}" for k, v in checks.items())
        return HostHealth(ok=ok, detail=detail, checks=checks)

    @property
    def lmtp_socket(self) -> Path:
        """Where Dovecot serves LMTP (a unix socket only the daemon's user may use)."""
        return self.layout.base_dir / "lmtp"

    def endpoints(self) -> Endpoints:
        return Endpoints(
            imap_host="127.0.0.1",
            imap_port=self.imap_port,
            submission_host="127.0.0.1",
            submission_port=self.submission_port,
            delivery_host=str(self.lmtp_socket),  # smtplib.LMTP: a leading '/' = unix socket
            delivery_port=0,
            imap_tls=False,
            delivery_protocol="lmtp",
            imap_socket=str(self.layout.base_dir / dc.DAEMON_IMAP_SOCKET),
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 8192))
                data = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(data.splitlines()[-lines:])

    def purge(self) -> None:
        """Stop Dovecot and delete every mailbox, the store and the data dir (irreversible)."""
        with self._lock:
            self.stop()
            layout = self.layout
            paths = [layout.base_dir, self.data_dir]
            if layout.root == self.data_dir or layout.root.name == self._key:  # never a stray path
                paths.append(layout.root)
            for path in paths:
                shutil.rmtree(path, ignore_errors=True)
            self._layout = None
            if self.mail_user is not None:
                system_user.remove(self.mail_user)
                self._identity = None

    # -- accounts --------------------------------------------------------------------
    def create_account(self, address: str, password: str) -> None:
        addr = dc.normalize_address(address)
        line = dc.passwd_line(addr, password)
        users = self._prepare().users_dir
        tmp = self._write_tmp(users, addr, line)
        try:
            os.link(tmp, users / addr)  # atomic create-if-absent
        except FileExistsError:
            raise Conflict(f"mailbox {addr} already exists") from None
        except OSError as exc:
            raise MailHostError(f"could not create mailbox {addr}: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        log.info("mailbox %s created", addr)

    def change_password(self, address: str, password: str) -> None:
        addr = dc.normalize_address(address)
        line = dc.passwd_line(addr, password)
        users = self._prepare().users_dir
        try:
            old = (users / addr).stat()
        except FileNotFoundError:
            raise NotFound(f"mailbox {addr} does not exist") from None
        tmp = self._write_tmp(users, addr, line)
        try:
            # Dovecot re-reads a passwd-file only if mtime (whole seconds) or size changed
            mtime = max(time.time(), old.st_mtime + 1)
            os.utime(tmp, (mtime, mtime))
            os.replace(tmp, users / addr)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise MailHostError(f"could not change the password of {addr}: {exc}") from exc
        if self.is_running() and not poll_until(
            lambda: self._auth_plain(addr, password), AUTH_SYNC_TIMEOUT
        ):
            log.warning("mailbox %s: Dovecot does not accept the new password yet", addr)
        log.info("mailbox %s: password changed", addr)

    def delete_account(self, address: str) -> None:
        addr = dc.normalize_address(address)
        layout = self.layout
        (layout.users_dir / addr).unlink(missing_ok=True)
        if self.is_running():
            # the auth process may serve the cached file for up to ~1 s: wait for "unknown"
            def gone() -> bool:
                res = self._doveadm("user", addr)
                return res is None or res.returncode != 0  # 67: unknown user

            poll_until(gone, AUTH_SYNC_TIMEOUT)
            self._doveadm("kick", addr)
        shutil.rmtree(layout.mail_dir / addr, ignore_errors=True)
        log.info("mailbox %s deleted", addr)

    def account_exists(self, address: str) -> bool:
        try:
            addr = dc.normalize_address(address)
        except InvalidRequest:
            return False
        return (self.layout.users_dir / addr).is_file()

    def list_accounts(self) -> list[str]:
        try:
            names = os.listdir(self.layout.users_dir)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if not n.startswith("."))

    def verify_login(self, address: str, password: str) -> bool:
        """Check a password against Dovecot's auth service (no per-IP penalty, nothing logged).

        Raises MailHostUnavailable if Dovecot is not running.
        """
        try:
            addr = dc.normalize_address(address)
        except InvalidRequest:
            return False
        return bool(password) and self._auth_plain(addr, password)

    # -- copies (backup and restore) ---------------------------------------------------
    def export_mailbox(self, address: str) -> Iterator[maildir.MailFile]:
        home = self.layout.mail_dir / dc.normalize_address(address)
        if home.is_dir():
            yield from maildir.export_tree(home)

    def import_mailbox(self, address: str, files: Iterable[maildir.MailFile]) -> int:
        addr = dc.normalize_address(address)
        home = self._prepare().mail_dir / addr
        if home.exists() and any(home.iterdir()):
            raise Conflict(f"the mailbox of {addr} is not empty")
        count = maildir.import_tree(home, files)
        if not self.identity.rootless:  # Dovecot reads it as the mail user
            dc.chown_tree(home, self.identity.mail_uid, self.identity.mail_gid)
        log.info("mailbox %s: %d messages restored", addr, count)
        return count

    # -- internals: files ------------------------------------------------------------
    def _prepare(self) -> dc.StoreLayout:
        """Create the directories with their owners and modes; record the store root."""
        layout = self.layout
        ident = self.identity
        dc.mkdir(self.data_dir, 0o700)
        dc.mkdir(self.data_dir / "state", 0o700)
        if layout.root != self.data_dir:
            dc.mkdir(layout.root.parent, 0o755)
            dc.mkdir(layout.root, 0o755)
        if not ident.rootless and not all(
            dc.can_traverse(layout.root, uid) for uid in (ident.mail_uid, ident.auth_uid)
        ):
            raise MailHostError(
                f"{layout.root} is not reachable by Dovecot's unprivileged users",
                hint=f"make it and its parents world-traversable, or remove {LOCATION_FILE}",
            )
        location = self.data_dir / LOCATION_FILE
        if not location.exists():
            write_private(location, f"{layout.root}\n".encode(), 0o644)
        dc.mkdir(layout.users_dir, 0o700 if ident.rootless else 0o711)
        dc.mkdir(layout.mail_dir, 0o700, owner=(ident.mail_uid, ident.mail_gid))
        store = layout.mail_dir.stat()
        if not ident.rootless and (store.st_uid, store.st_gid) != (ident.mail_uid, ident.mail_gid):
            dc.chown_tree(layout.mail_dir, ident.mail_uid, ident.mail_gid)  # e.g. was nobody's
        if stat.S_IMODE(store.st_mode) != 0o700:
            os.chmod(layout.mail_dir, 0o700)
        if layout.base_dir.parent != layout.root:  # short fallback base_dir in /tmp
            dc.mkdir(layout.base_dir, 0o700 if ident.rootless else 0o755)
            st = layout.base_dir.lstat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
                raise MailHostError(f"{layout.base_dir} is not a directory owned by us")
        return layout

    def _write_tmp(self, users: Path, addr: str, text: str) -> Path:
        tmp = users / f".{addr}.{secrets.token_hex(4)}.tmp"
        mode = 0o600 if self.identity.rootless else 0o400
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.write(fd, text.encode("utf-8"))
            if not self.identity.rootless:  # readable by the auth process only
                os.fchown(fd, self.identity.auth_uid, 0)
            os.fsync(fd)
        except OSError:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        return tmp

    def _push(self, layout: dc.StoreLayout) -> dc.Push | None:
        if not self.push_url or not self.push_secret \
                or not dc.push_available(self._find_dovecot()):
            return None
        script = layout.root / "dovecot_push.lua"  # read by the mail processes: no secret in it
        write_private(script, dc.push_script().encode(), 0o644)
        return dc.Push(self.push_url, self.push_secret, script)

    def _write_config(self, layout: dc.StoreLayout) -> None:
        push = self._push(layout)
        self.push_enabled = push is not None
        text = dc.render_config(
            identity=self.identity,
            instance_name=f"agenticmail-{self._key}",
            base_dir=layout.base_dir,
            state_dir=self.data_dir / "state",
            log_path=self.log_path,
            users_dir=layout.users_dir,
            mail_dir=layout.mail_dir,
            hostname=self.domain,
            imap_port=self.imap_port,
            push=push,
        )
        write_private(self.config_path, text.encode())

    def _rotate_log(self, limit: int = 10 * 1024 * 1024) -> None:
        try:
            if self.log_path.stat().st_size > limit:
                os.replace(self.log_path, self.log_path.with_suffix(".log.1"))
        except OSError:
            pass

    # -- internals: processes --------------------------------------------------------
    def _ports(self) -> tuple[int, ...]:
        return (self.imap_port,)

    def _find_dovecot(self) -> str:
        return find_dovecot(self._dovecot_bin)

    def _find_doveadm(self) -> str | None:
        found = shutil.which("doveadm")
        if found:
            return found
        try:
            sbin = Path(self._find_dovecot()).parent
        except DependencyMissing:
            return None
        for cand in (sbin / "doveadm", sbin.parent / "bin" / "doveadm", Path("/usr/bin/doveadm")):
            if cand.is_file() and os.access(cand, os.X_OK):
                return str(cand)
        return None

    def _doveadm(self, *args: str) -> subprocess.CompletedProcess[bytes] | None:
        """Run ``doveadm -c CONF ARGS`` (never with a password); None if doveadm is missing."""
        binary = self._find_doveadm()
        if binary is None:
            return None
        try:
            return subprocess.run(
                [binary, "-c", str(self.config_path), *args],
                capture_output=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MailHostError(f"doveadm {args[0]} failed: {exc}") from exc

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        pending = list(self._ports())
        while True:
            rc = proc.poll()
            if rc is not None:
                raise self._start_error(f"Dovecot exited with status {rc} while starting")
            pending = [p for p in pending if not connectable(p)]
            lmtp_ready = unix_connectable(self.lmtp_socket)
            if not pending and lmtp_ready and self._master_pid() == proc.pid:  # pid: stale check
                return
            if time.monotonic() > deadline:
                missing = [str(p) for p in pending] + ([] if lmtp_ready else
                                                       [str(self.lmtp_socket)])
                raise self._start_error(f"Dovecot did not open {', '.join(missing)} in time")
            time.sleep(POLL)

    def _start_error(self, message: str) -> AgenticMailError:
        tail = self.log_tail()
        missing = re.search(r"service\((\S+)\) access\((\S+)\) failed: No such file", tail)
        if missing:
            return DependencyMissing(
                f"Dovecot's {missing[1]} service is not installed ({missing[2]} is missing)",
                hint=INSTALL_HINT,
            )
        return MailHostError(f"{message}; log {self.log_path}:\n{tail}")

    def _check_ports_free(self, settle: float) -> None:
        deadline = time.monotonic() + settle
        for port in self._ports():
            if not poll_until(functools.partial(port_free, port), deadline - time.monotonic()):
                raise MailHostError(
                    f"port {port} on 127.0.0.1 is already in use by another program",
                    hint="stop that program or choose another port in config.toml",
                )

    def _terminate(self, proc: subprocess.Popen[bytes], *, graceful: bool) -> None:
        if proc.poll() is None:
            # SIGTERM to the whole group: every process exits cleanly at once (faster than
            # letting the master relay it; each logs a harmless "Killed with signal 15")
            signal_group(proc.pid, signal.SIGTERM if graceful else signal.SIGKILL)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.info("dovecot did not stop within %.0f s of SIGTERM; killing it", STOP_TIMEOUT)
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait(STOP_TIMEOUT)
        signal_group(proc.pid, signal.SIGKILL)  # any child left in the group

    def _master_pid(self) -> int | None:
        try:
            return int((self.layout.base_dir / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _is_our_dovecot(self, pid: int) -> bool:
        if not pid_alive(pid):
            return False
        cmd = cmdline(pid)
        return "dovecot" in cmd and str(self.config_path) in cmd

    def _stop_stale(self) -> bool:
        """Stop a Dovecot left running by a previous (killed) daemon. True if there was one."""
        pid = self._master_pid()
        if pid is None:
            return False
        if not self._is_our_dovecot(pid):  # dead, or the pid now belongs to someone else
            (self.layout.base_dir / "master.pid").unlink(missing_ok=True)
            return False
        log.warning("stopping a stale dovecot (pid %d) left by a previous run", pid)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            signal_leader(pid, sig)
            if poll_until(lambda: not pid_alive(pid), STOP_TIMEOUT):
                break
        signal_leader(pid, signal.SIGKILL)
        # if nobody reaps the orphan it stays a zombie, which Dovecot would take for "running"
        (self.layout.base_dir / "master.pid").unlink(missing_ok=True)
        return True

    def _auth_plain(self, addr: str, password: str) -> bool:
        return dc.auth_plain(self.layout.base_dir / "auth-client", addr, password)
