"""``agenticmail tags``: an agent's tags (IMAP keywords on its messages): list, create, delete,
add to / remove from messages, and the messages carrying one."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from .conversation import _client
from .mail import AgentOpt, FolderOpt
from .output import JsonFlag, cell, emit, table

app = typer.Typer(no_args_is_help=True)
NameArg = Annotated[str, typer.Argument(help="The tag's name.")]


def _render_tags(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    if not data["tags"]:
        yield Text("No tags yet (agenticmail tags create).")
        return
    yield table(("name", "keyword", "colour"),
                ((t["name"], t["keyword"], cell(t.get("color"), t.get("color") or ""))
                 for t in data["tags"]))


def _render_tagged(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield table(("uid", "folder", "flags"),
                ((m["uid"], m.get("folder", data.get("folder")), m["flags"])
                 for m in data["messages"]))


@app.command("list")
def list_tags(ctx: typer.Context, agent: AgentOpt, as_json: JsonFlag = False) -> None:
    """The agent's tags, their IMAP keywords and colours."""
    with _client(ctx, agent) as client:
        found = client.list_tags()
    emit({"tags": [t.model_dump() for t in found]}, as_json, _render_tags)


@app.command()
def create(ctx: typer.Context, agent: AgentOpt, name: NameArg,
           color: Annotated[str | None, typer.Option(
               "--color", "--colour", help="#rgb, #rrggbb, or red, green, blue…")] = None,
           as_json: JsonFlag = False) -> None:
    """Create a tag."""
    with _client(ctx, agent) as client:
        tag = client.create_tag(name, color)
    emit({"tags": [tag.model_dump()]}, as_json, _render_tags)


@app.command()
def delete(ctx: typer.Context, agent: AgentOpt, name: NameArg, as_json: JsonFlag = False
           ) -> None:
    """Delete a tag and take it off every message carrying it."""
    with _client(ctx, agent) as client:
        done = client.delete_tag(name)
    emit(done, as_json, lambda d: iter([f"deleted tag {d['name']} (taken off {d['untagged']} "
                                        "messages)"]))


@app.command()
def add(ctx: typer.Context, agent: AgentOpt, name: NameArg,
        uids: Annotated[list[int], typer.Argument(help="Message UIDs.")],
        folder: FolderOpt = "INBOX", as_json: JsonFlag = False) -> None:
    """Tag messages (mail clients see the tag as an IMAP keyword)."""
    with _client(ctx, agent) as client:
        done = client.tag_message(name, uids, folder)
    emit(done.model_dump(), as_json, _render_tagged)


@app.command()
def remove(ctx: typer.Context, agent: AgentOpt, name: NameArg,
           uid: Annotated[int, typer.Argument(help="The message's UID.")],
           folder: FolderOpt = "INBOX", as_json: JsonFlag = False) -> None:
    """Take a tag off a message."""
    with _client(ctx, agent) as client:
        done = client.untag_message(name, uid, folder)
    emit(done.model_dump(), as_json, _render_tagged)


@app.command()
def messages(ctx: typer.Context, agent: AgentOpt, name: NameArg,
             folder: Annotated[str | None, typer.Option(
                 "--folder", "-f", help="Only this folder (default: every folder).")] = None,
             as_json: JsonFlag = False) -> None:
    """The messages carrying a tag."""
    with _client(ctx, agent) as client:
        found = client.tagged_messages(name, folder)
    data = found.model_dump(by_alias=True)

    def render(d: Mapping[str, Any]) -> Iterator[RenderableType]:
        yield table(("uid", "folder", "from", "subject", "date"),
                    ((m["uid"], m["folder"], m["from"], m["subject"], m["date"])
                     for m in d["messages"]))

    emit(data, as_json, render)
