"""The ``agenticmail`` command: the root Typer app and its error handling.

The CLI is a thin client of the daemon's HTTP API (``setup``, ``start`` and ``doctor`` also work
without a daemon). Every expected failure is an ``AgenticMailError``: it is printed as one line
``error: <message>`` (plus ``hint: <hint>``) on stderr and exits 2 when the daemon cannot be
reached, 1 otherwise. Usage errors exit 2 (Typer), Ctrl-C exits 130.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import AgenticMailError, DaemonUnavailable
from . import agents, audit, daemon, mail, outbox, pending, relay, route, setup
from .client import CliState

EXIT_ERROR = 1
EXIT_DAEMON_UNAVAILABLE = 2


def exit_code_for(exc: AgenticMailError) -> int:
    return EXIT_DAEMON_UNAVAILABLE if isinstance(exc, DaemonUnavailable) else EXIT_ERROR


def report(exc: AgenticMailError) -> None:
    """Print an expected error as ``error:``/``hint:`` lines on stderr (no traceback)."""
    message = " ".join(str(exc.message).split()) or exc.code
    typer.echo(f"error: {message}", err=True)
    if exc.hint:
        typer.echo(f"hint: {' '.join(exc.hint.split())}", err=True)


class AgenticMailGroup(TyperGroup):
    """Root group: maps ``AgenticMailError`` raised by any command to message + exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except AgenticMailError as exc:
            report(exc)
            raise typer.Exit(exit_code_for(exc)) from None


app = typer.Typer(
    cls=AgenticMailGroup,
    name="agenticmail",
    help="Give each AI agent a real mailbox, run by a local daemon.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals can hold the master key
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agenticmail {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            envvar="AGENTICMAIL_HOME",
            help="Data directory (config, database, logs). Default: ~/.agenticmail.",
            file_okay=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Give each AI agent a real mailbox, run by a local daemon."""
    ctx.obj = CliState(home=home)


app.add_typer(setup.app)
app.add_typer(daemon.app)
app.add_typer(agents.app, name="agents", help="Create, list, show, delete agents; rotate keys.")
app.add_typer(mail.app)
app.add_typer(pending.app, name="pending",
              help="Review mail the outbound guard held: list, show, approve, reject.")
app.add_typer(outbox.app, name="outbox",
              help="Outgoing mail and its delivery state: list, show.")
app.add_typer(route.app, name="route",
              help="The SMTP route for mail to the internet: show, set, clear.")
app.add_typer(relay.app, name="relay",
              help="Internet mail through your own Gmail/Outlook account: setup, status.")
app.add_typer(audit.app, name="audit",
              help="List the audit log; verify its hash chain (tamper check).")

try:
    from .filter import app as filter_app
except ModuleNotFoundError as exc:  # pragma: no cover - built separately; mount it once it exists
    if exc.name != f"{__package__}.filter":
        raise
else:
    app.add_typer(filter_app, name="filter")


def run() -> NoReturn:
    """Console-script entry point (``agenticmail``)."""
    try:
        app(prog_name="agenticmail")
    except AgenticMailError as exc:  # raised outside a command (e.g. while parsing)
        report(exc)
        sys.exit(exit_code_for(exc))
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(0)
