"""A private Dovecot (IMAP + LMTP) for the mail/ adapter tests.

Self-contained and deliberately small (after Appendix 3 of the Dovecot reference); it will be
replaced by the shared fixture in agenticmail_testing/dovecot.py. Skips when Dovecot is absent.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from agenticmail.models import Credentials, Endpoints
from agenticmail_testing.ports import free_ports

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONF = """\
instance_name = {name}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mailbox_idle_check_interval = 1 secs
mail_max_userip_connections = 1000
recipient_delimiter = +
{identity}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-urlauth-login {{
  chroot =
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
service imap {{
  client_limit = 100
  service_count = 0
  process_limit = 20
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users.d/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users.d/%u
  default_fields = home={d}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Spam {{
    special_use = \\Junk
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \\Archive
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}
protocol lmtp {{
  lmtp_save_to_detail_mailbox = no
}}
"""


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"dovecot exited rc={proc.returncode}: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.01)  # polling a port, not synchronising threads
    raise TimeoutError(f"dovecot did not open port {port}")


@dataclass
class Dovecot:
    dir: str
    conf: str
    imap_port: int
    lmtp_port: int
    proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls) -> Dovecot:
        d = tempfile.mkdtemp(prefix="am-mail-dovecot-")
        os.chmod(d, 0o755)  # mail processes run as nobody and must traverse it
        for sub in ("run", "state", "mail", "users.d"):
            os.mkdir(os.path.join(d, sub))
        if os.geteuid() == 0:  # Dovecot refuses mail access as root
            identity = "mail_uid = nobody\nmail_gid = nogroup\nfirst_valid_uid = 1"
            os.chown(
                os.path.join(d, "mail"),
                pwd.getpwnam("nobody").pw_uid,
                grp.getgrnam("nogroup").gr_gid,
            )
        else:
            me = pwd.getpwuid(os.geteuid()).pw_name
            group = grp.getgrgid(os.getegid()).gr_name
            identity = (
                f"default_internal_user = {me}\ndefault_internal_group = {group}\n"
                f"default_login_user = {me}"
            )
        imap_port, lmtp_port = free_ports(2)
        conf = os.path.join(d, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(
                CONF.format(
                    name=os.path.basename(d),
                    d=d,
                    identity=identity,
                    imap_port=imap_port,
                    lmtp_port=lmtp_port,
                )
            )
        return cls(dir=d, conf=conf, imap_port=imap_port, lmtp_port=lmtp_port)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", self.conf],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _wait_port(self.imap_port, self.proc)
        _wait_port(self.lmtp_port, self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            if self.proc.stderr:
                self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def add_user(self, user: str, password: str) -> Credentials:
        """One passwd-file per user: visible to Dovecot immediately (no reload gate)."""
        assert "/" not in user and ":" not in password
        tmp = os.path.join(self.dir, "users.d", "." + user)
        with open(tmp, "w") as f:
            f.write(f"{user}:{{PLAIN}}{password}::::::\n")
        os.replace(tmp, os.path.join(self.dir, "users.d", user))
        return Credentials(user, password)

    def endpoints(self) -> Endpoints:
        return Endpoints(
            imap_host="127.0.0.1",
            imap_port=self.imap_port,
            submission_host="127.0.0.1",
            submission_port=0,
            delivery_host="127.0.0.1",
            delivery_port=self.lmtp_port,
        )

    def deliver(self, rcpt: str, data: bytes, sender: str = "sender@example.test") -> None:
        with smtplib.LMTP("127.0.0.1", self.lmtp_port) as lmtp:
            assert lmtp.sendmail(sender, [rcpt], data) == {}


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    if not os.path.exists(DOVECOT):
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd)")
    server = Dovecot.create()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def account(dovecot: Dovecot) -> Credentials:
    """A fresh mailbox user for one test."""
    return dovecot.add_user(f"u{uuid.uuid4().hex[:10]}@example.test", uuid.uuid4().hex)
