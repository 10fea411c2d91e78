"""Conversation commands: ``reply``, ``forward``, ``threads``, ``thread``, ``wait`` and
``drafts``; each is one call of the Python client (the same service code the API, the client
and the MCP tools use). Local files attach as base64, read here by the CLI."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from .client import Client
from .mail import AgentOpt, FolderOpt, _read_attachment
from .output import JsonFlag, emit, table
from .state import settings_from

PANEL = "Mail"
app = typer.Typer()
drafts_app = typer.Typer(no_args_is_help=True)
Attach = Annotated[list[Path] | None, typer.Option("--attach", exists=True, dir_okay=False,
                                                  help="Attach a file (repeat).")]
UidArg = Annotated[int, typer.Argument(help="The message's UID (from inbox or search).")]


def _client(ctx: typer.Context, agent: str) -> Client:
    client = Client(settings_from(ctx), timeout=120.0)
    client.agent = agent
    return client


def _files(ctx: typer.Context, paths: list[Path] | None) -> list[dict[str, str]]:
    settings = settings_from(ctx)
    return [_read_attachment(p, settings) for p in paths or []]


def _render_accepted(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    style = "yellow" if data.get("status") == "held" else "green"
    yield Text(f"{data['status']}: {data['id']} ({data['message_id']})", style=style)
    if data.get("hint"):
        yield Text(str(data["hint"]), style="yellow")


@app.command(rich_help_panel=PANEL)
def reply(ctx: typer.Context, agent: AgentOpt, uid: UidArg,
          text: Annotated[str, typer.Option("--text", help="Your reply (above the quote).")],
          reply_all: Annotated[bool, typer.Option("--all", help="Reply to everyone.")] = False,
          folder: FolderOpt = "INBOX", attach: Attach = None,
          idempotency_key: Annotated[str | None, typer.Option("--idempotency-key")] = None,
          as_json: JsonFlag = False) -> None:
    """Reply to a message (Re: once, threading headers, the original quoted below)."""
    with _client(ctx, agent) as client:
        sent = client.reply(uid, text, reply_all=reply_all, folder=folder,
                            attachments=_files(ctx, attach), idempotency_key=idempotency_key)
    emit(sent.model_dump(exclude_none=True), as_json, _render_accepted)


@app.command(rich_help_panel=PANEL)
def forward(ctx: typer.Context, agent: AgentOpt, uid: UidArg,
            to: Annotated[list[str], typer.Option("--to", metavar="ADDR", help="Recipient.")],
            text: Annotated[str | None, typer.Option("--text", help="A note above it.")] = None,
            as_attachment: Annotated[bool, typer.Option(
                "--as-attachment", help="Attach the original as an .eml file.")] = False,
            folder: FolderOpt = "INBOX", attach: Attach = None,
            as_json: JsonFlag = False) -> None:
    """Forward a message with its attachments (inline, or as an .eml attachment)."""
    with _client(ctx, agent) as client:
        sent = client.forward(uid, to, text, as_attachment=as_attachment, folder=folder,
                              attachments=_files(ctx, attach))
    emit(sent.model_dump(exclude_none=True), as_json, _render_accepted)


def _render_threads(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield table(("thread", "msgs", "unread", "last activity", "subject", "with"),
                ((t["id"], t["message_count"], t["unread_count"], t["last_activity"],
                  t["subject"], ", ".join(t["participants"])) for t in data["threads"]))


@app.command(rich_help_panel=PANEL)
def threads(ctx: typer.Context, agent: AgentOpt,
            limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=200)] = 20,
            offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
            as_json: JsonFlag = False) -> None:
    """An agent's conversations, newest activity first."""
    with _client(ctx, agent) as client:
        page = client.list_threads(limit, offset)
    emit(page.model_dump(by_alias=True), as_json, _render_threads)


def _render_thread(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield Text(f"{data['subject']} ({data['message_count']} messages)", style="bold")
    for msg in data["messages"]:
        yield Text(f"\n{msg.get('date') or ''}  {msg['from']}", style="cyan")
        yield Text(msg.get("text") or "")


@app.command(rich_help_panel=PANEL)
def thread(ctx: typer.Context, agent: AgentOpt,
           thread_id: Annotated[str, typer.Argument(help="The thread id (from threads).")],
           as_json: JsonFlag = False) -> None:
    """One conversation, oldest first (quoted history left out)."""
    with _client(ctx, agent) as client:
        found = client.get_thread(thread_id)
    emit(found.model_dump(by_alias=True), as_json, _render_thread)


def _render_wait(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    if data.get("timed_out"):
        yield Text("no matching message arrived", style="yellow")
        return
    msg = data["message"]
    yield Text(f"uid {data['uid']} in thread {data['thread_id']}: {msg['subject']} "
               f"from {msg['from']}", style="green")


@app.command(rich_help_panel=PANEL)
def wait(ctx: typer.Context, agent: AgentOpt,
         thread_id: Annotated[str | None, typer.Option("--thread")] = None,
         from_: Annotated[str | None, typer.Option("--from")] = None,
         subject: Annotated[str | None, typer.Option("--subject")] = None,
         timeout: Annotated[float, typer.Option("--timeout", min=0, max=300)] = 60,
         since: Annotated[int | None, typer.Option(
             "--since", help="Also match messages that arrived after this event id.")] = None,
         as_json: JsonFlag = False) -> None:
    """Wait for the next matching message (exit 1 when none arrives in time)."""
    with _client(ctx, agent) as client:
        got = client.wait_for_message(thread=thread_id, from_=from_, subject=subject,
                                      timeout=timeout, since=since)
    emit(got.model_dump(by_alias=True), as_json, _render_wait)
    if got.timed_out:
        raise typer.Exit(1)


def _render_drafts(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield table(("id", "updated", "to", "subject"),
                ((d["id"], d["updated_at"], ", ".join(d.get("to") or []), d.get("subject"))
                 for d in data["drafts"]))


@drafts_app.command("list")
def drafts_list(ctx: typer.Context, agent: AgentOpt, as_json: JsonFlag = False) -> None:
    """The agent's drafts."""
    with _client(ctx, agent) as client:
        found = client.list_drafts()
    emit({"drafts": [d.model_dump() for d in found]}, as_json, _render_drafts)


@drafts_app.command("create")
def drafts_create(ctx: typer.Context, agent: AgentOpt,
                  to: Annotated[list[str] | None, typer.Option("--to")] = None,
                  subject: Annotated[str | None, typer.Option("--subject", "-s")] = None,
                  text: Annotated[str | None, typer.Option("--text")] = None,
                  attach: Attach = None, as_json: JsonFlag = False) -> None:
    """Save a draft in the Drafts folder."""
    with _client(ctx, agent) as client:
        draft = client.create_draft(to=to, subject=subject, text=text,
                                    attachments=_files(ctx, attach) or None)
    emit({"drafts": [draft.model_dump()]}, as_json, _render_drafts)


@drafts_app.command("send")
def drafts_send(ctx: typer.Context, agent: AgentOpt,
                draft_id: Annotated[str, typer.Argument()], as_json: JsonFlag = False) -> None:
    """Send a draft (through the outbound guard like any send)."""
    with _client(ctx, agent) as client:
        sent = client.send_draft(draft_id)
    emit(sent.model_dump(exclude_none=True), as_json, _render_accepted)


@drafts_app.command("delete")
def drafts_delete(ctx: typer.Context, agent: AgentOpt,
                  draft_id: Annotated[str, typer.Argument()], as_json: JsonFlag = False
                  ) -> None:
    """Delete a draft."""
    with _client(ctx, agent) as client:
        client.delete_draft(draft_id)
    emit({"id": draft_id, "deleted": True}, as_json,
         lambda d: iter([f"deleted draft {draft_id}"]))
