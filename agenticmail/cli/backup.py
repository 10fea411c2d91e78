"""``agenticmail backup PATH`` and ``agenticmail restore PATH``: one archive of a whole home
(see :mod:`agenticmail.services.backup`). Both work on the files, with or without a daemon."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ..errors import InvalidRequest
from ..services import backup as backups
from .output import JsonFlag, details, emit, human_size, stderr
from .state import require_configured, settings_from

app = typer.Typer()
PANEL = "Operations"
PathArg = Annotated[Path, typer.Argument(help="The archive file.", dir_okay=False)]
PassphraseFile = Annotated[
    Path | None,
    typer.Option("--passphrase-file", dir_okay=False,
                 help="Read the passphrase from this file (its first line)."),
]


def _read_passphrase(path: Path) -> str:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeError) as exc:
        raise InvalidRequest(f"cannot read the passphrase file {path}: {exc}") from None
    passphrase = text.splitlines()[0] if text else ""
    if not passphrase:
        raise InvalidRequest(f"the passphrase file {path} is empty")
    return passphrase


def _prompt(confirm: bool) -> str:
    passphrase: str = typer.prompt("Passphrase", hide_input=True, err=True,
                                   confirmation_prompt=confirm)
    if not passphrase:
        raise InvalidRequest("the passphrase is empty")
    return passphrase


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[backups.Progress]:
    """A progress bar on a terminal's stderr (nothing with --json or into a file)."""
    console = stderr()
    if quiet or not console.is_terminal:
        yield lambda what, done, total: None
        return
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=console, transient=True)
    tasks: dict[str, Any] = {}

    def report(what: str, done: int, total: int) -> None:
        if what not in tasks:
            tasks[what] = bar.add_task(what, total=total or None)
        bar.update(tasks[what], completed=done, total=total or None)

    with bar:
        yield report


def _render_backup(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield details([("archive", data["path"]),
                   ("encrypted", "yes" if data["encrypted"] else "no"),
                   ("agents", data["agents"]), ("messages", data["messages"]),
                   ("size", human_size(data["bytes"]))], title="Backup written")


def _render_restore(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield details([("home", data["home"]), ("agents", ", ".join(data["agents"]) or "none"),
                   ("messages", data["messages"]),
                   ("backup made", data["backup_created_at"])], title="Restored")
    yield "start the daemon with: agenticmail start --detach"


@app.command(rich_help_panel=PANEL)
def backup(
    ctx: typer.Context,
    path: PathArg,
    passphrase_file: PassphraseFile = None,
    encrypt: Annotated[bool, typer.Option(
        "--encrypt", help="Encrypt with a passphrase asked for here.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Write one archive (0600) of the database, config, secret key and every mailbox.

    Safe while the daemon runs. The archive holds the master key: encrypt it with
    --passphrase-file or --encrypt before it leaves this machine.
    """
    settings = settings_from(ctx)
    require_configured(settings)
    passphrase = _read_passphrase(passphrase_file) if passphrase_file else (
        _prompt(confirm=True) if encrypt else None)
    with _progress(as_json) as report:
        summary = backups.create_backup(settings, path, passphrase=passphrase, progress=report)
    emit(summary.to_dict(), as_json, _render_backup)


@app.command(rich_help_panel=PANEL)
def restore(
    ctx: typer.Context,
    path: PathArg,
    passphrase_file: PassphraseFile = None,
    as_json: JsonFlag = False,
) -> None:
    """Restore a backup into an empty home (--home or AGENTICMAIL_HOME): agents, keys, mail,
    settings. Nothing is written unless the whole archive checks out."""
    home = settings_from(ctx).home
    passphrase = _read_passphrase(passphrase_file) if passphrase_file else None
    if passphrase is None and not as_json and sys.stdin.isatty() and backups.is_encrypted(path):
        passphrase = _prompt(confirm=False)
    with _progress(as_json) as report:
        summary = backups.restore_backup(home, path, passphrase=passphrase, progress=report)
    emit(summary.to_dict(), as_json, _render_restore)
