"""``agenticmail service install | uninstall | status``: the daemon as a systemd user service
(Linux) or a launchd agent (macOS), started at login and restarted when it fails (see
:mod:`agenticmail.services.service_unit`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import typer
from rich.console import RenderableType
from rich.text import Text

from ..errors import AgenticMailError
from ..services import service_unit
from .daemon import probe
from .output import JsonFlag, details, emit
from .state import require_configured, settings_from

app = typer.Typer(no_args_is_help=True)


def _render(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    enabled = data["enabled"]
    yield details([
        ("service", f"{data['name']} ({data['manager']})"),
        ("unit file", data["path"] if data["installed"] else "not installed"),
        ("enabled", "unknown" if enabled is None else ("yes" if enabled else "no")),
        ("state", data["active"] or data["detail"] or "-"),
    ])
    if data["note"]:
        yield Text(data["note"], style="yellow")


@app.command()
def install(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Write the unit and enable it: the daemon starts at login and restarts if it fails."""
    settings = settings_from(ctx)
    require_configured(settings)
    try:
        running = probe(settings)  # a daemon started by hand holds the ports
    except AgenticMailError:
        running = {}  # something answers there, with an error
    data = service_unit.install(settings).to_dict()
    if running is not None:
        data["note"] = (f"a daemon started by hand is running (pid {running.get('pid', '?')}): "
                        "stop it (agenticmail stop), then restart the service so it runs "
                        f"under {data['manager']}")
    emit(data, as_json, _render)


@app.command()
def uninstall(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Stop and disable the service and remove its unit file."""
    emit(service_unit.uninstall(settings_from(ctx)).to_dict(), as_json, _render)


@app.command()
def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Whether the service is installed, enabled and running."""
    emit(service_unit.status(settings_from(ctx)).to_dict(), as_json, _render)
