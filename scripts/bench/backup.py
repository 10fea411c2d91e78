"""Backup and restore throughput on the local mail host.

Runs a real daemon in-process on a private Dovecot, creates ``--agents`` agents and delivers
``--messages`` messages of ``--size`` bytes to each (LMTP, as the daemon delivers), then times
``create_backup`` (plain and encrypted) and ``restore_backup`` of each archive into a new home,
and prints the seconds, archive sizes and MB/s of mail.

    python -m scripts.bench.backup [--agents 5] [--messages 200] [--size 20000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from agenticmail.config import load_settings
from agenticmail.mail.delivery import deliver_lmtp
from agenticmail.services.backup import create_backup, restore_backup
from agenticmail_testing.daemon import DaemonHandle, purge_mail_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--size", type=int, default=20_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="agenticmail-bench-backup-"))
    daemon = DaemonHandle().start()
    try:
        endpoint = daemon.lmtp_socket
        for n in range(args.agents):
            address = daemon.create_agent(f"bench{n}")["agent"]["address"]
            for m in range(args.messages):
                body = os.urandom(args.size // 2).hex().encode()  # compresses about 2:1
                deliver_lmtp(endpoint, 0, "sender@example.org", [address],
                             f"Subject: m{m}\nFrom: sender@example.org\n\n".encode() + body)
        mail_mb = args.agents * args.messages * args.size / 1e6
        print(f"{args.agents} agents x {args.messages} messages = {mail_mb:.1f} MB of mail")
        for label, passphrase in (("plain", None), ("encrypted", "bench passphrase")):
            archive = work / f"{label}.backup"
            start = time.perf_counter()
            create_backup(daemon.settings, archive, passphrase=passphrase)
            made = time.perf_counter() - start
            home = work / f"restored-{label}"
            start = time.perf_counter()
            summary = restore_backup(home, archive, passphrase=passphrase)
            restored = time.perf_counter() - start
            purge_mail_store(load_settings(home, env={}))
            print(f"{label:>9}: backup {made:.2f} s ({mail_mb / made:.0f} MB/s), archive "
                  f"{archive.stat().st_size / 1e6:.1f} MB; restore {restored:.2f} s "
                  f"({summary.messages} messages)")
    finally:
        daemon.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
