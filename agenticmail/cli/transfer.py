"""``agenticmail export`` and ``import``: an agent's mail to and from mbox/Maildir files.

The files are read and written here, on the owner's machine (:mod:`agenticmail.services.
transfer` knows the formats); the mail comes and goes through the daemon's API, a page or a
message at a time, with a progress bar on stderr. Import goes through the inbound pipeline
(assessment, sanitising, Spam) like any arriving mail and skips Message-IDs the agent has.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.text import Text

from ..errors import AgenticMailError, InvalidRequest
from .conversation import _client
from .mail import AgentOpt, FolderOpt
from .output import JsonFlag, emit, note, stderr

app = typer.Typer()
PANEL = "Mail"


class Format(StrEnum):
    MBOX = "mbox"
    MAILDIR = "maildir"


def _progress(label: str) -> Progress:
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), console=stderr(),
                    transient=True)


def _render(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    counts = ", ".join(f"{data[k]} {k}" for k in ("exported", "imported", "duplicates")
                       if k in data)
    if data.get("refused"):
        counts += f", {len(data['refused'])} refused"
    yield Text(f"{counts} ({data['format']}: {data['path']})", style="green")


@app.command(rich_help_panel=PANEL)
def export(ctx: typer.Context, agent: AgentOpt,
           path: Annotated[Path, typer.Argument(help="A new mbox file or Maildir directory.")],
           fmt: Annotated[Format, typer.Option("--format", case_sensitive=False,
                                               help="mbox or maildir.")] = Format.MBOX,
           folder: FolderOpt = "INBOX", as_json: JsonFlag = False) -> None:
    """Export a folder of an agent's mail (flags and dates kept) to an mbox file or Maildir.
    Nothing is left at PATH when the export fails part way."""
    from ..services.transfer import Archived, write_archive

    count, after = 0, 0
    with _client(ctx, agent) as client, _progress(f"exporting {folder}") as bar:
        page = client.export_page(folder, after, 50)  # a wrong agent or folder: no file made
        task = bar.add_task("export", total=None)
        try:
            with write_archive(path, fmt.value) as out:
                while True:
                    bar.update(task, total=max(page.total, count + len(page.messages)))
                    for item in page.messages:
                        out.add(Archived(raw=base64.b64decode(item.raw_base64),
                                         flags=tuple(item.flags), date=_date(item.date)))
                        count += 1
                        bar.advance(task)
                    if page.done or page.next_after == after:  # the end, or no progress
                        break
                    after = page.next_after
                    page = client.export_page(folder, after, 50)
        except AgenticMailError as exc:
            if exc.code != "archive_exists":  # never remove what was there before
                _remove(path)
            raise
    emit({"agent": agent, "folder": folder, "format": fmt.value, "path": str(path),
          "exported": count}, as_json, _render)


def _remove(path: Path) -> None:
    """Take away a half-written export (a file, or a Maildir this command created)."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _date(value: str | None) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value) if value else None


@app.command("import", rich_help_panel=PANEL)
def import_(ctx: typer.Context, agent: AgentOpt,
            path: Annotated[Path, typer.Argument(help="An mbox file or a Maildir directory.")],
            as_json: JsonFlag = False) -> None:
    """Import an mbox file or Maildir (auto-detected) into an agent's INBOX, as arriving mail
    (scored, sanitised, spam to Spam); messages it already has are skipped by Message-ID.
    A message the daemon refuses (too large, empty) is reported and the rest still go in
    (exit 1 then)."""
    from ..services.transfer import IMPORTABLE_FLAGS, read_archive

    fmt, total, messages = read_archive(path)
    imported = duplicates = 0
    refused: list[dict[str, Any]] = []
    with _client(ctx, agent) as client, _progress(f"importing {path.name}") as bar:
        task = bar.add_task("import", total=total)
        for number, item in enumerate(messages, 1):
            try:
                done = client.import_message(
                    item.raw, flags=[f for f in item.flags if f in IMPORTABLE_FLAGS],
                    date=item.date.isoformat() if item.date else None)
            except InvalidRequest as exc:  # this message only: the others still go in
                refused.append({"number": number, "code": exc.code, "message": exc.message})
                note(f"message {number} not imported: {exc.message}", "yellow")
            else:
                if done.status == "duplicate":
                    duplicates += 1
                else:
                    imported += 1
            bar.advance(task)
    emit({"agent": agent, "format": fmt, "path": str(path), "imported": imported,
          "duplicates": duplicates, "refused": refused}, as_json, _render)
    if refused:
        raise typer.Exit(1)
