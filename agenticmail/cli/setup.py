"""``agenticmail setup``: the first-run wizard (works without a daemon).

Asks for the mail host, the API port and the owner's email (defaults shown; ``--yes`` takes
the defaults and the options as given), then calls ``services.setup.run_setup``. A newly
generated master key is shown exactly once; a re-run keeps the existing configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.prompt import IntPrompt, Prompt
from rich.text import Text

from ..config import MAIL_HOSTS, Settings
from .client import settings_from
from .output import JsonFlag, check_dict, checks_table, details, emit, secrets_panel, stderr

app = typer.Typer()


def _ask_email(default: str | None) -> str | None:
    while True:
        answer = Prompt.ask(
            "Owner email (approvals and notifications; empty for none)",
            default=default or "",
            show_default=bool(default),
            console=stderr(),
        ).strip()
        if not answer or ("@" in answer and " " not in answer):
            return answer or None
        stderr().print("[red]That does not look like an email address.[/red]")


def _ask_port(default: int) -> int:
    while True:
        port = IntPrompt.ask("API port", default=default, console=stderr())
        if 1 <= port <= 65535:
            return port
        stderr().print("[red]Choose a port between 1 and 65535.[/red]")


def settings_summary(settings: Settings) -> dict[str, Any]:
    """The settings worth showing (never the master key)."""
    return {
        "home": str(settings.home),
        "config_path": str(settings.config_path),
        "api_url": settings.api_url,
        "mail_host": settings.mail_host,
        "domain": settings.domain,
        "owner_email": settings.owner_email,
    }


def _render(data: dict[str, Any]) -> Iterator[RenderableType]:
    summary = data["settings"]
    if data["master_key"]:
        yield secrets_panel(
            "Master key",
            [("master key", data["master_key"])],
            "Store this now; it will not be shown again. (The CLI reads it from "
            f"{summary['config_path']}, mode 0600.)",
        )
    elif data["created"]:
        yield Text("Configuration created.", style="bold green")
    else:
        yield Text("Existing configuration kept.", style="bold")
    yield details(
        [
            ("data dir", summary["home"]),
            ("config", summary["config_path"]),
            ("mail host", summary["mail_host"]),
            ("domain", summary["domain"]),
            ("API", summary["api_url"]),
            ("owner email", summary["owner_email"] or "(none)"),
        ]
    )
    if data["checks"]:
        yield checks_table(data["checks"])
    if data["ok"]:
        yield Text("Next: agenticmail start --detach", style="green")


@app.command(rich_help_panel="Setup and daemon")
def setup(
    ctx: typer.Context,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask; take the defaults and options.")
    ] = False,
    mail_host: Annotated[
        str | None,
        typer.Option(
            "--mail-host",
            help=f"Where mailboxes live: {' or '.join(MAIL_HOSTS)} (default: local).",
        ),
    ] = None,
    api_port: Annotated[
        int | None,
        typer.Option("--api-port", min=1, max=65535, help="Port of the daemon's HTTP API."),
    ] = None,
    owner_email: Annotated[
        str | None,
        typer.Option("--owner-email", help="The owner's email, for approvals and notices."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Set up agenticmail: data dir, master key, mail host (no daemon needed)."""
    from ..services.setup import run_setup  # imported when used: keeps --help fast

    current = settings_from(ctx)
    if mail_host is not None and mail_host not in MAIL_HOSTS:
        raise typer.BadParameter(f"choose one of {', '.join(MAIL_HOSTS)}", param_hint="--mail-host")
    if not yes:
        if mail_host is None:
            mail_host = Prompt.ask(
                "Mail host", choices=list(MAIL_HOSTS), default=current.mail_host, console=stderr()
            )
        if api_port is None:
            api_port = _ask_port(current.api_port)
        if owner_email is None:
            owner_email = _ask_email(current.owner_email)
    result = run_setup(
        current,
        mail_host=mail_host or current.mail_host,
        api_port=api_port,
        owner_email=owner_email,
    )
    checks = list(result.checks)
    data = {
        "created": bool(result.created),
        "master_key": result.master_key,
        "settings": settings_summary(result.settings),
        "checks": [check_dict(c) for c in checks],
        "ok": all(c.ok for c in checks),
    }
    emit(data, as_json, _render)
    if not data["ok"]:
        raise typer.Exit(1)
