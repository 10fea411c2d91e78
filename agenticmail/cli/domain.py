"""``agenticmail domain``: the owner's own domain through Cloudflare (domain mode).

setup/teardown (DNS with a backup, the tunnel, Email Routing with the inbound Worker, DKIM,
DMARC), status (each DNS record expected vs found, the tunnel, the Worker, the last inbound
message, outbound health), report (DMARC aggregate reports), check (is a name registered,
via RDAP). Each command is a thin client of ``/v1/domain`` with the owner's master key.
"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
