"""The ``agenticmail`` command: the root Typer app and its error handling.

The CLI is a thin client of the daemon's HTTP API (``setup``, ``start`` and ``doctor`` also work
without a daemon). Its command groups are the table ``MOUNTS``; each module is imported only
when one of its commands runs (``lazy.py``), so ``agenticmail X`` loads what serves X only.
A new command group is a ``Mount`` here, not an ``app.add_typer`` call.

Every expected failure is an ``AgenticMailError``: it is printed as one line
``error: <message>`` (plus ``hint: <hint>``) on stderr and exits 2 when the daemon cannot be
reached, 1 otherwise. Usage errors exit 2 (Typer), Ctrl-C exits 130.

With ``--json`` a failure is also one JSON document on stdout, the API's error shape:
``{"error": {"code": ..., "message": ..., "hint"?: ...}}`` (usage errors: code ``usage_error``),
on one line, so a script that reads stdout always gets JSON, with the same non-zero exit code
(unless the command printed its result document before failing, as ``send --wait`` does when
delivery fails: stdout still holds one document).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import AgenticMailError, DaemonUnavailable
from .lazy import LazyCommands, Mount
from .output import json_printed, print_json
from .state import CliState

EXIT_ERROR = 1
EXIT_DAEMON_UNAVAILABLE = 2
EXIT_USAGE = 2
JSON_META = "agenticmail.json_output"

# click's UsageError (Typer re-exports only its subclass BadParameter; newer Typers vendor click)
UsageError: type[Exception] = typer.BadParameter.__mro__[1]


def exit_code_for(exc: AgenticMailError) -> int:
    return EXIT_DAEMON_UNAVAILABLE if isinstance(exc, DaemonUnavailable) else EXIT_ERROR


def report(exc: AgenticMailError) -> None:
    """Print an expected error as ``error:``/``hint:`` lines on stderr (no traceback)."""
    message = " ".join(str(exc.message).split()) or exc.code
    typer.echo(f"error: {message}", err=True)
    if exc.hint:
        typer.echo(f"hint: {' '.join(exc.hint.split())}", err=True)


def error_document(code: str, message: str, hint: str | None = None) -> dict[str, Any]:
    """The API's error body, for ``--json`` failures."""
    error: dict[str, Any] = {"code": code, "message": " ".join(message.split()) or code}
    if hint:
        error["hint"] = " ".join(hint.split())
    return {"error": error}


def wants_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for ``--json`` (before a ``--`` that ends options)."""
    options = list(args)
    if "--" in options:
        options = options[: options.index("--")]
    return "--json" in options


class AgenticMailGroup(TyperGroup):
    """Root group: maps ``AgenticMailError`` raised by any command to message + exit code
    (and, with ``--json``, to a JSON error document on stdout)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[JSON_META] = wants_json(args)
        json_printed(reset=True)
        parsed: list[str] = super().parse_args(ctx, args)
        return parsed

    def invoke(self, ctx: Any) -> Any:
        as_json = bool(ctx.meta.get(JSON_META))
        try:
            return super().invoke(ctx)
        except AgenticMailError as exc:
            report(exc)
            if as_json and not json_printed():  # e.g. send --wait: its result says "failed"
                print_json(error_document(exc.code, str(exc.message), exc.hint), indent=None)
            raise typer.Exit(exit_code_for(exc)) from None
        except UsageError as exc:
            if not as_json:
                raise
            message = exc.format_message()  # type: ignore[attr-defined]
            typer.echo(f"error: {message}", err=True)
            print_json(error_document("usage_error", message), indent=None)
            raise typer.Exit(EXIT_USAGE) from None


class RootGroup(AgenticMailGroup):
    """The ``agenticmail`` group: its commands are ``MOUNTS``, each loaded on first use."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(MOUNTS, lambda mount: mount.load(app), self.commands)


app = typer.Typer(
    cls=RootGroup,
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


# Every command group of the root, in ``--help`` order; each module is imported only when one
# of its commands is looked up (see lazy.py). tests/cli/test_cli_lazy.py checks the table
# against the sub-apps.
MOUNTS: tuple[Mount, ...] = (
    Mount("setup", merged=("setup",)),
    Mount("daemon", merged=("start", "stop", "status", "doctor")),
    Mount("agents", name="agents", help="Create, list, show, delete agents; rotate keys."),
    Mount("mail", merged=("send", "inbox", "search", "read", "watch")),
    Mount("conversation", merged=("reply", "forward", "threads", "thread", "wait")),
    Mount("conversation", "drafts_app", name="drafts", rich_help_panel="Mail",
          help="An agent's drafts (kept in its Drafts folder): list, create, send, delete."),
    Mount("transfer", merged=("export", "import")),
    Mount("organise", "signatures_app", name="signatures", rich_help_panel="Organise",
          help="An agent's signatures (the default is appended): list, set, delete."),
    Mount("organise", "templates_app", name="templates", rich_help_panel="Organise",
          help="An agent's mail templates ({{ name }} placeholders): list, create, "
               "render, delete."),
    Mount("organise", "tasks_app", name="tasks", rich_help_panel="Organise",
          help="Tasks agents give each other: list, assign, claim, complete, fail."),
    Mount("mcp_server", name="mcp",
          help="Serve an agent's mailbox over MCP; install it into Claude Code, Cursor…"),
    Mount("manage", merged=("delete", "move", "mark")),
    Mount("manage", "attachment_app", name="attachment", rich_help_panel="Mail"),
    Mount("pending", name="pending",
          help="Review mail the outbound guard held: list, show, approve, reject."),
    Mount("outbox", name="outbox",
          help="Outgoing mail and its delivery state: list, show, scheduled, cancel."),
    Mount("route", name="route",
          help="The SMTP route for mail to the internet: show, set, clear."),
    Mount("domain", name="domain",
          help="Your own domain through Cloudflare: setup, status, DMARC reports."),
    Mount("relay", name="relay",
          help="Internet mail through your own Gmail/Outlook account: setup, status."),
    Mount("backup", merged=("backup", "restore")),
    Mount("service", name="service", rich_help_panel="Operations",
          help="Run the daemon as a login service (systemd/launchd): install, status."),
    Mount("audit", name="audit",
          help="List the audit log; verify its hash chain (tamper check)."),
    Mount("tags", name="tags", rich_help_panel="Organise",
          help="An agent's tags (IMAP keywords): list, create, delete, add, remove."),
    Mount("rules", name="rules", rich_help_panel="Organise",
          help="Server-side rules run on new mail: list, add, edit, delete, test."),
    Mount("contacts", name="contacts", rich_help_panel="Organise",
          help="An agent's address book and block/allow list."),
    Mount("policy", name="policy",
          help="Each agent's per-sender policy: show, set, edit, test, remove."),
    Mount("webhooks", name="webhooks",
          help="Endpoints the daemon POSTs events to (signed): create, list, deliveries, "
               "replay, test."),
    Mount("suppressions", name="suppressions",
          help="Addresses an agent no longer mails (bounces, complaints, "
               "unsubscribes): list, add, remove."),
    Mount("index", name="index", rich_help_panel="Mail",
          help="The search index of every folder: rebuild it from the mailboxes."),
    Mount("filter", name="filter"),
)


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
