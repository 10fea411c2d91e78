"""``agenticmail delete | move | mark | attachment save``: change an agent's messages.

Thin over the daemon's mail routes, acting as one agent (``--agent NAME``) with the master key:
``DELETE /v1/mail/messages/{uid}``, ``POST …/{uid}/move``, ``POST …/{uid}/flags`` and
``GET …/{uid}/attachments/{index}``. Folder names match case-insensitively (``spam`` is ``Spam``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from ..errors import Conflict, InvalidRequest
from .client import Client, path_part
from .output import JsonFlag, clean, emit
from .state import settings_from

app = typer.Typer()
attachment_app = typer.Typer(no_args_is_help=True,
                             help="An attachment of a message: save it to a file.")
PANEL = "Mail"

AgentOpt = Annotated[str, typer.Option("--agent", "-a", help="The agent whose mail this is.")]
FolderOpt = Annotated[str, typer.Option("--folder", "-f", help="Mailbox folder.")]
UidsArg = Annotated[list[int], typer.Argument(help="Message UIDs (from inbox or search).")]


def _render_done(verb: str) -> Any:
    def render(data: Mapping[str, Any]) -> Iterator[RenderableType]:
        for item in data.get("messages") or []:
            yield Text(f"{verb} uid {clean(item.get('uid'))} in {clean(item.get('folder'))}"
                       + (f" → {clean(item['moved_to'])}" if item.get("moved_to") else "")
                       + (f"  flags: {' '.join(item['flags']) or '-'}"
                          if item.get("flags") is not None else ""))
    return render


@app.command(rich_help_panel=PANEL)
def delete(
    ctx: typer.Context, uids: UidsArg, agent: AgentOpt, folder: FolderOpt = "INBOX",
    as_json: JsonFlag = False,
) -> None:
    """Delete messages (by UID) from an agent's folder."""
    with Client(settings_from(ctx)) as client:
        done = [client.delete(f"/v1/mail/messages/{path_part(uid)}", agent=agent, folder=folder)
                for uid in uids]
    emit({"messages": done}, as_json, _render_done("deleted"))


@app.command(rich_help_panel=PANEL)
def move(
    ctx: typer.Context, uids: UidsArg, agent: AgentOpt,
    to: Annotated[str, typer.Option("--to", help="Destination folder.")],
    folder: FolderOpt = "INBOX", as_json: JsonFlag = False,
) -> None:
    """Move messages (by UID) to another folder."""
    body = {"agent": agent, "folder": folder, "to": to}
    with Client(settings_from(ctx)) as client:
        done = [client.post(f"/v1/mail/messages/{path_part(uid)}/move", body) for uid in uids]
    emit({"messages": done}, as_json, _render_done("moved"))


def mark_messages(client: Client, agent: str, folder: str, uids: list[int], seen: bool
                  ) -> list[dict[str, Any]]:
    body = {"agent": agent, "folder": folder, "seen": seen}
    return [client.post(f"/v1/mail/messages/{path_part(uid)}/flags", body) for uid in uids]


@app.command(rich_help_panel=PANEL)
def mark(
    ctx: typer.Context, uids: UidsArg, agent: AgentOpt,
    read: Annotated[bool, typer.Option("--read/--unread", help="Mark read, or unread.")] = True,
    folder: FolderOpt = "INBOX", as_json: JsonFlag = False,
) -> None:
    """Mark messages (by UID) read (default) or unread."""
    with Client(settings_from(ctx)) as client:
        done = mark_messages(client, agent, folder, uids, read)
    emit({"messages": done}, as_json, _render_done("marked " + ("read" if read else "unread")))


def _write_new(path: Path, content: bytes, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(content)
    except FileExistsError:
        raise Conflict(f"{path} already exists", hint="give --force to overwrite it") from None
    except OSError as exc:
        raise InvalidRequest(f"cannot write {path}: {exc.strerror or exc}") from None


@attachment_app.command("save")
def save_attachment(
    ctx: typer.Context,
    uid: Annotated[int, typer.Argument(help="The message's UID.")],
    index: Annotated[int, typer.Argument(help="The attachment's # (from read).")],
    agent: AgentOpt,
    folder: FolderOpt = "INBOX",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: the attachment's name)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Save one attachment of a message to a file (mode 0600; never overwrites without --force)."""
    with Client(settings_from(ctx)) as client:
        where = f"/v1/mail/messages/{path_part(uid)}"
        if output is None:
            message = client.get(where, agent=agent, folder=folder)["message"]
            found = [a for a in message.get("attachments") or [] if a.get("index") == index]
            name = Path(str(found[0].get("filename") or "") if found else "").name
            output = Path(name if name not in ("", ".", "..") else f"attachment-{uid}-{index}")
        content = client.download(f"{where}/attachments/{path_part(index)}",
                                  agent=agent, folder=folder)
    _write_new(output, content, force)
    data = {"uid": uid, "index": index, "path": str(output), "size": len(content)}
    emit(data, as_json, lambda d: [Text(f"saved {d['size']} bytes to {clean(d['path'])}")])
