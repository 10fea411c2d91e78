"""rspamd as a throughput comparison for ``scripts.eval.filters``: a private ``rspamd`` started
with a temporary configuration (the packaged rules of ``/etc/rspamd``, no Redis, its own
loopback port, its own run/db/log directories) and scanned with ``rspamc``.

Like ``spamd -L`` for SpamAssassin, the checks that need the network (RBLs/SURBLs, fuzzy
storage, SPF/DKIM/DMARC DNS lookups, ASN) are switched off: this machine may have no network,
and a DNS timeout per message would measure the network, not the filter. The DNS questions
left (HELO and host names of the heuristics) go to a loopback server that answers at once
(:class:`agenticmail_testing.dns_server.DnsServer`: NXDOMAIN).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from agenticmail_testing.dns_server import DnsServer

STOCK = Path("/etc/rspamd")
NETWORK_MODULES = ("rbl", "surbl", "fuzzy_check", "spf", "dkim", "dmarc", "asn", "emails",
                   "arc", "mx_check", "dcc", "rspamd_update", "phishing", "url_redirector",
                   "reputation", "bimi", "external_services", "antivirus")
CONFIG = """.include "$CONFDIR/common.conf"
options {{
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
}}
logging {{
    type = "file";
    filename = "$LOGDIR/rspamd.log";
    level = "error";
}}
worker "normal" {{
    bind_socket = "127.0.0.1:{port}";
    .include "$CONFDIR/worker-normal.inc"
    count = {workers};
}}
"""


def available() -> bool:
    return bool(shutil.which("rspamd") and shutil.which("rspamc") and STOCK.is_dir())


class Rspamd:
    """A private rspamd with ``workers`` scanner processes; ``scan(directory)`` runs rspamc
    over every file in it and returns {file name: score}."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self.tmp = Path(tempfile.mkdtemp(prefix="am-rspamd-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.dns = DnsServer()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    def __enter__(self) -> Rspamd:
        local = self.tmp / "local.d"
        local.mkdir()
        for module in NETWORK_MODULES:
            (local / f"{module}.conf").write_text("enabled = false;\n")
        self.dns.start()
        (local / "options.inc").write_text(
            f'dns {{ nameserver = ["{self.dns.nameservers}"]; timeout = 1s; }}\n')
        for name in ("run", "db", "log"):
            (self.tmp / name).mkdir()
        config = self.tmp / "rspamd.conf"
        config.write_text(CONFIG.format(port=self.port, workers=self.workers))
        variables = {"CONFDIR": str(STOCK), "LOCAL_CONFDIR": str(self.tmp),
                     "RUNDIR": str(self.tmp / "run"), "DBDIR": str(self.tmp / "db"),
                     "LOGDIR": str(self.tmp / "log")}
        self.proc = subprocess.Popen(
            ["rspamd", "-f", "-i", "-c", str(config),
             *(f"--var={k}={v}" for k, v in variables.items())],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return self._wait_ready()
        except BaseException:
            self.__exit__()  # never leave a half-started rspamd behind
            raise

    def _wait_ready(self) -> Rspamd:
        assert self.proc is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.tmp / "log" / "rspamd.log")
                raise RuntimeError("rspamd exited: " + (log.read_text()[-2000:]
                                                         if log.is_file() else "no log"))
            probe = subprocess.run(["rspamc", "-h", f"127.0.0.1:{self.port}", "-t", "5"],
                                   input=b"Subject: probe\r\n\r\nprobe\r\n",
                                   capture_output=True)
            if probe.returncode == 0 and b"Score:" in probe.stdout:
                return self
            time.sleep(0.3)
        raise RuntimeError("rspamd did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.dns.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def scan(self, directory: Path, parallel: int = 8) -> dict[str, float]:
        """rspamc over ``directory`` (``parallel`` requests in flight): {file name: score}."""
        out = subprocess.run(
            ["rspamc", "-h", f"127.0.0.1:{self.port}", "-n", str(parallel), "-t", "60",
             str(directory)], capture_output=True, check=True, timeout=3600).stdout.decode()
        scores: dict[str, float] = {}
        name = ""
        for line in out.splitlines():
            if line.startswith("Results for file: "):
                name = Path(line.removeprefix("Results for file: ").split(" (")[0]).name
            elif line.startswith(("Action:", "Score:")) and "Score:" in line and name:
                with contextlib.suppress(ValueError):
                    scores[name] = float(line.split("Score:")[1].split("/")[0])
        return scores
