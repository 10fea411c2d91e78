"""``agenticmail domain``: the owner's own domain through Cloudflare (domain mode).

setup/teardown (DNS with a backup, the tunnel, Email Routing with the inbound Worker, DKIM,
DMARC), status (each DNS record expected vs found, the tunnel, the Worker, the last inbound
message, outbound health), report (DMARC aggregate reports), check (is a name registered,
via RDAP). Each command is a thin client of ``/v1/domain`` with the owner's master key.
``tunnel status`` reads the daemon's health report; ``tunnel install`` downloads cloudflared
into the data dir itself (no daemon needed, as for the setup wizard).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from ..errors import InvalidRequest
from ..services import tunnel
from .client import Client, settings_from
from .output import JsonFlag, details, emit

app = typer.Typer(no_args_is_help=True)


# -- the tunnel (cloudflared) -------------------------------------------------------------
tunnel_app = typer.Typer(no_args_is_help=True, help="The Cloudflare Tunnel: cloudflared, run "
                         "by the daemon while domain mode is set up.")
app.add_typer(tunnel_app, name="tunnel")


def _installed(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield Text(f"Installed cloudflared {data['version']} at {data['path']} (SHA-256 verified).",
               "green")
    if data.get("used") != data["path"]:
        yield Text(f"The daemon runs {data.get('used')} first (cloudflared_path or PATH); set "
                   f"cloudflared_path to {data['path']} to use this one.", "yellow")


@tunnel_app.command("install")
def tunnel_install(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Never ask (for scripts).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Download the pinned cloudflared release into the data dir (its SHA-256 checked)."""
    settings = settings_from(ctx)
    plan = tunnel.planned_release(settings)
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidRequest("cloudflared is downloaded only with your consent: pass --yes")
        if not typer.confirm(f"Download cloudflared {plan['version']} from {plan['url']} into "
                             f"{plan['path']}?", err=True):
            raise typer.Exit(1)
    emit(tunnel.install(settings), as_json, _installed)


def _tunnel_rows(state: Mapping[str, Any]) -> Iterator[RenderableType]:
    name = str(state.get("state"))
    good = name in ("connected", "idle")
    yield details([
        ("state", Text(name, "green" if good else "bold red")),
        ("connections", state.get("connections")),
        ("pid", state.get("pid")),
        ("since", state.get("since")),
        ("restarts", state.get("restarts")),
        ("next start in", None if state.get("retry_in") is None else f"{state['retry_in']} s"),
        ("last exit code", state.get("last_exit_code")),
        ("last error", state.get("last_error")),
        ("binary", state.get("binary")),
        ("version", state.get("version")),
    ])


@tunnel_app.command("status")
def tunnel_status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The daemon's cloudflared: state, connections, restarts, the last error."""
    with Client(settings_from(ctx), timeout=10.0) as client:
        health = client.health().model_dump(exclude_unset=True)
    emit(health.get("tunnel") or {}, as_json, _tunnel_rows)
