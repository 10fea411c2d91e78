"""The ``local`` mail host against a real private Dovecot (real sockets, no mocks).

Runs as root (CI) and as a normal user. Negative logins come from fresh 127.0.0.x source
addresses (agenticmail_testing/dovecot.py) so Dovecot's per-IP auth penalty never applies.
"""

from __future__ import annotations

import grp
import os
import pwd
import signal
import smtplib
import socket
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenticmail.errors import Conflict, DependencyMissing, InvalidRequest, MailHostError, NotFound
from agenticmail.hosts.base import MailHost
from agenticmail.hosts.local import INSTALL_HINT, LocalHost
from agenticmail.mail.idle import FolderWatch
from agenticmail.mail.imap import MailboxSession
from agenticmail_testing.dovecot import (
    DovecotServer,
    dovecot_available,
    idle_until_exists,
    make_local_host,
    wait_for_change,
    wait_until,
)

pytestmark = pytest.mark.skipif(not dovecot_available(), reason="Dovecot is not installed")

REPO = Path(__file__).resolve().parents[2]
FOLDERS = {"INBOX", "Sent", "Spam", "Archive", "Drafts", "Trash"}


@pytest.fixture(scope="module")
def server() -> Iterator[DovecotServer]:
    with DovecotServer() as srv:
        yield srv


@pytest.fixture
def host(tmp_path: Path) -> Iterator[LocalHost]:
    """A fresh, not yet started LocalHost (purged afterwards)."""
    h = make_local_host(tmp_path)
    yield h
    h.purge()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return True


# -- no Dovecot process needed --------------------------------------------------------------
def test_missing_binary_raises_dependency_missing(tmp_path: Path) -> None:
    h = make_local_host(tmp_path, dovecot_bin=str(tmp_path / "no-such-dovecot"))
    with pytest.raises(DependencyMissing) as info:
        h.start()
    assert info.value.hint == INSTALL_HINT
    assert "apt-get install -y dovecot-imapd dovecot-lmtpd" in str(info.value.hint)
    assert not h.is_running() and h.process_exited() is None


@pytest.mark.parametrize(
    "address", ["a/b@x.test", "a:b@x.test", "a b@x.test", "ab@x.test\n", "", "noat", "../x@y"]
)
def test_invalid_address_rejected(host: LocalHost, address: str) -> None:
    with pytest.raises(InvalidRequest):
        host.create_account(address, "pw")
    assert not host.account_exists(address)


def test_empty_password_rejected(host: LocalHost) -> None:
    with pytest.raises(InvalidRequest):
        host.create_account("a@example.test", "")


# -- one shared instance ----------------------------------------------------------------------
def test_start_health_endpoints_idempotent(server: DovecotServer) -> None:
    h = server.host
    assert isinstance(h, MailHost) and h.kind == "local"
    pid = h.pid
    h.start()  # already running: no-op
    assert h.pid == pid and h.is_running() and h.process_exited() is None
    health = h.health()
    assert health.ok, health
    assert health.checks == {"process": "running", "imap": "ok", "lmtp": "ok"}
    ep = h.endpoints()
    assert (ep.imap_host, ep.imap_port, ep.imap_tls) == ("127.0.0.1", h.imap_port, False)
    assert (ep.delivery_host, ep.delivery_port, ep.delivery_protocol) == (
        str(h.layout.base_dir / "lmtp"),
        0,
        "lmtp",
    )
    assert (ep.submission_host, ep.submission_port) == ("127.0.0.1", h.submission_port)


def test_account_lifecycle(server: DovecotServer) -> None:
    h = server.host
    addr = server.unique_address("life")
    h.create_account(addr.upper(), "first-Secret-1")  # addresses are case-insensitive
    assert h.account_exists(addr) and addr in h.list_accounts()
    with pytest.raises(Conflict):
        h.create_account(addr, "other")

    # the passwd file holds a salted hash, never the password, and is not world-readable
    pw_file = h.layout.users_dir / addr
    text = pw_file.read_text()
    assert "first-Secret-1" not in text and text.startswith(f"{addr}:{{SSHA512}}")
    st = pw_file.stat()
    assert not st.st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    if os.geteuid() == 0:
        assert st.st_uid == h.identity.auth_uid != 0  # only Dovecot's auth process reads it

    # LMTP delivery, then IMAP: folders with special-use flags, the message is there
    assert server.deliver(addr, b"Subject: hello\r\n\r\nbody\r\n") == {}
    client = server.imap(addr, "first-Secret-1")
    assert {name for _, _, name in client.list_folders()} >= FOLDERS
    assert client.find_special_folder(b"\\Junk") == "Spam"
    assert client.find_special_folder(b"\\Sent") == "Sent"
    client.select_folder("INBOX")
    assert len(client.search(["SUBJECT", "hello"])) == 1
    client.logout()

    assert server.login_fails(addr, "wrong-password")
    assert h.verify_login(addr, "first-Secret-1") and not h.verify_login(addr, "nope")

    # change_password: effective on return; the old password stops working
    h.change_password(addr, "second-Secret-2")
    server.imap(addr, "second-Secret-2").logout()
    assert server.login_fails(addr, "first-Secret-1")
    assert not h.verify_login(addr, "first-Secret-1")

    maildir = h.layout.mail_dir / addr
    assert maildir.is_dir()
    h.delete_account(addr)
    assert not maildir.exists() and not h.account_exists(addr) and addr not in h.list_accounts()
    assert server.login_fails(addr, "second-Secret-2")
    h.delete_account(addr)  # idempotent
    with pytest.raises(NotFound):
        h.change_password(addr, "x")


def test_lmtp_rejects_unknown_recipient(server: DovecotServer) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
        server.deliver(server.unique_address("ghost"), b"Subject: x\r\n\r\nx\r\n")
    assert next(iter(info.value.recipients.values()))[0] == 550


def test_idle_push_after_lmtp_delivery(server: DovecotServer) -> None:
    creds = server.add_user()
    client = server.imap(creds.username, creds.password)
    client.select_folder("INBOX")
    client.idle()
    sender = threading.Thread(
        target=server.deliver, args=(creds.username, b"Subject: push\r\n\r\nx\r\n")
    )
    sender.start()
    try:
        seen = idle_until_exists(client, timeout=5)
    finally:
        sender.join()
        client.idle_done()
        client.logout()
    assert any(len(r) > 1 and r[1] == b"EXISTS" for r in seen), seen


def test_daemon_sessions_use_a_private_unix_socket(server: DovecotServer) -> None:
    """The daemon's own sessions (MailboxSession, FolderWatch) log in over a unix socket that
    only the daemon's user may open: no remote IP, so no per-IP auth penalty applies to them
    (end to end: tests/e2e/test_imap_penalty.py)."""
    ep = server.endpoints()
    st = os.stat(ep.imap_socket)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    if os.geteuid() == 0 and os.path.exists("/usr/bin/python3"):  # another local user: refused
        probe = "import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])"
        other = subprocess.run(["/usr/bin/python3", "-c", probe, ep.imap_socket],
                               user="nobody", group=pwd.getpwnam("nobody").pw_gid,
                               extra_groups=[], capture_output=True, check=False)
        assert other.returncode != 0 and b"PermissionError" in other.stderr, other.stderr
    creds = server.add_user()
    watch = FolderWatch(ep, creds)
    watch.connect()
    try:
        assert server.deliver(creds.username, b"Subject: via the socket\r\n\r\nx\r\n") == {}
        wait_for_change(watch, "exists")
    finally:
        watch.close()
    with MailboxSession.open(ep, creds) as session:
        assert session.folder_status("INBOX")["messages"] == 1


# -- own instances ----------------------------------------------------------------------------
def test_start_stop_and_supervised_restart(host: LocalHost) -> None:
    host.start()
    first = host.pid
    assert first is not None and host.health().ok
    os.kill(first, signal.SIGKILL)  # Dovecot crashes
    wait_until(lambda: host.process_exited() is not None, what="dovecot to exit")
    assert host.process_exited() == -signal.SIGKILL
    assert not host.health().ok
    host.start()  # what the daemon's supervisor does
    assert host.pid != first and host.health().ok
    host.stop()
    assert not host.is_running() and host.process_exited() is None
    health = host.health()
    assert not health.ok and health.checks["process"] == "not running"
    assert health.checks["imap"] != "ok"
    host.stop()  # idempotent


def test_stale_instance_after_parent_sigkill(host: LocalHost) -> None:
    """A daemon SIGKILLed while its Dovecot (own process group) keeps the ports: replaced."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from agenticmail.hosts.local import LocalHost
        h = LocalHost(Path({str(host.data_dir)!r}), domain="example.test",
                      imap_port={host.imap_port}, lmtp_port={host.lmtp_port},
                      submission_port={host.submission_port},
                      system_dir=Path({str(host._system_dir)!r}))
        h.start()
        print(h.pid, flush=True)
        time.sleep(60)
        """
    )
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    daemon = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        assert daemon.stdout is not None
        stale_pid = int(daemon.stdout.readline())
    finally:
        daemon.kill()
        daemon.wait(10)
        if daemon.stdout is not None:
            daemon.stdout.close()
    assert _alive(stale_pid)  # orphaned Dovecot still holds the ports
    assert host.is_running()  # found through master.pid
    host.start()
    assert host.pid != stale_pid and host.health().ok
    wait_until(lambda: not _alive(stale_pid), what="stale dovecot to exit")


def test_port_taken_by_another_program(host: LocalHost) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", host.imap_port))
        squatter.listen()
        with pytest.raises(MailHostError) as info:
            host.start()
    assert str(host.imap_port) in str(info.value)
    assert not host.is_running()


def test_store_location_root_vs_rootless(host: LocalHost) -> None:
    """As root, a data dir nobody can traverse (pytest's tmp dirs are 0700) moves the store."""
    host.create_account("where@example.test", "pw")
    layout = host.layout
    recorded = (host.data_dir / "store-location").read_text().strip()
    assert recorded == str(layout.root)
    if os.geteuid() != 0:
        assert layout.root == host.data_dir
        assert stat.S_IMODE(layout.users_dir.stat().st_mode) == 0o700
        return
    assert layout.root.parent == host._system_dir  # would be /var/lib/agenticmail
    assert stat.S_IMODE(layout.root.stat().st_mode) == 0o755
    mail = layout.mail_dir.stat()
    assert (mail.st_uid, stat.S_IMODE(mail.st_mode)) == (host.identity.mail_uid, 0o700)
    host.start()
    assert host.health().ok
    # a second LocalHost for the same data dir (e.g. the CLI) finds the same store
    twin = LocalHost(
        host.data_dir,
        imap_port=host.imap_port,
        lmtp_port=host.lmtp_port,
        submission_port=host.submission_port,
    )
    assert twin.layout == layout and twin.is_running()
    assert twin.list_accounts() == ["where@example.test"]


def test_long_data_dir_moves_sockets_to_a_short_base_dir(tmp_path: Path) -> None:
    """Unix socket paths are limited to ~104 bytes: a deep data dir must still work."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    h = make_local_host(deep)
    try:
        assert len(str(h.layout.base_dir)) < 60 and str(h.layout.base_dir).startswith("/tmp/")
        h.start()
        assert h.health().ok
        creds = ("deep@example.test", "pw-deep")
        h.create_account(*creds)
        assert h.verify_login(*creds)
    finally:
        h.purge()
    assert not h.layout.base_dir.exists()


def _mail_process_uids(host: LocalHost) -> set[int]:
    """The uids (real, effective, saved) of the instance's IMAP processes, from /proc (LMTP
    stays root between deliveries: the owner of the files it writes is checked instead)."""
    uids = set()
    for entry in Path("/proc").iterdir():
        try:
            fields = dict(
                line.split(":\t", 1) for line in (entry / "status").read_text().splitlines()
            )
            if os.getpgid(int(entry.name)) == host.pid and fields["Name"] == "imap":
                uids.update(int(u) for u in fields["Uid"].split()[:3])
        except (ValueError, OSError, KeyError):
            continue
    return uids


@pytest.mark.skipif(os.geteuid() != 0 or sys.platform != "linux", reason="root on Linux only")
def test_each_instance_accesses_mail_as_its_own_user(tmp_path: Path) -> None:
    """As root, two instances (two data dirs) run mail access as two dedicated users, neither
    of them ``nobody``; each store is 0700 and its own, out of the other user's reach; purge
    removes the user."""
    servers = [DovecotServer(tmp_path / name).start() for name in ("one", "two")]
    users: list[str] = []
    try:
        uids = []
        for srv in servers:
            h = srv.host
            creds = srv.add_user()
            assert srv.deliver(creds.username, b"Subject: mine\r\n\r\nsecret\r\n") == {}
            client = srv.imap(creds.username, creds.password)  # an imap process stays up
            client.select_folder("INBOX")
            store = h.layout.mail_dir.stat()
            uid, gid = store.st_uid, store.st_gid
            assert uid != pwd.getpwnam("nobody").pw_uid and 0 not in (uid, gid)
            assert stat.S_IMODE(store.st_mode) == 0o700
            assert _mail_process_uids(h) == {uid}
            delivered = list((h.layout.mail_dir / creds.username / "Maildir").glob("*/*,*"))
            assert len(delivered) == 1 and delivered[0].stat().st_uid == uid
            client.logout()
            uids.append((uid, gid, delivered[0]))
            name = h.mail_user
            assert name is not None
            assert (pwd.getpwnam(name).pw_uid, grp.getgrnam(name).gr_gid) == (uid, gid)
            users.append(name)
        assert uids[0][0] != uids[1][0] and uids[0][1] != uids[1][1]
        # instance one's mail user cannot read instance two's mail (and vice versa)
        for (uid, gid, _), (_, _, other) in ((uids[0], uids[1]), (uids[1], uids[0])):
            peek = subprocess.run(["cat", str(other)], user=uid, group=gid, extra_groups=[],
                                  capture_output=True, check=False)
            assert peek.returncode != 0 and b"secret" not in peek.stdout
    finally:
        for srv in servers:
            srv.close()
    for name in users:
        with pytest.raises(KeyError):
            pwd.getpwnam(name)
        with pytest.raises(KeyError):
            grp.getgrnam(name)


@pytest.mark.skipif(os.geteuid() != 0 or sys.platform != "linux", reason="root on Linux only")
def test_store_of_an_older_version_is_handed_to_the_mail_user(tmp_path: Path) -> None:
    """A store whose mail an older version kept as ``nobody`` is given to the instance's own
    mail user at the next start, and its mail stays readable."""
    nobody = pwd.getpwnam("nobody")
    with DovecotServer(tmp_path) as server:
        host = server.host
        creds = server.add_user()
        assert server.deliver(creds.username, b"Subject: kept\r\n\r\nx\r\n") == {}
        wanted = (host.identity.mail_uid, host.identity.mail_gid)
        host.stop()
        for top, dirs, files in os.walk(host.layout.mail_dir):  # what the older version left
            for name in (".", *dirs, *files):
                os.lchown(os.path.join(top, name), nobody.pw_uid, nobody.pw_gid)
        host.start()
        for top, dirs, files in os.walk(host.layout.mail_dir):
            for name in (".", *dirs, *files):
                st = os.lstat(os.path.join(top, name))
                assert (st.st_uid, st.st_gid) == wanted, os.path.join(top, name)
        with MailboxSession.open(host.endpoints(), creds) as session:
            assert session.folder_status("INBOX")["messages"] == 1



@pytest.mark.skipif(os.geteuid() != 0 or sys.platform != "linux", reason="root on Linux only")
def test_a_foreign_user_of_the_same_name_is_never_taken_over(host: LocalHost) -> None:
    """A user named like the mail user but not created by agenticmail is neither used for mail
    nor deleted by purge."""
    name = host.mail_user
    assert name is not None
    subprocess.run(["useradd", "--system", "--no-create-home", "--comment", "someone", name],
                   check=True)
    try:
        with pytest.raises(MailHostError, match="not created by agenticmail"):
            host.start()
        host.purge()
        assert pwd.getpwnam(name).pw_gecos == "someone"
    finally:
        subprocess.run(["userdel", name], check=False)
