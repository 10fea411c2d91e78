"""``agenticmail contacts``: an agent's address book (filled from its mail), and its
block/allow list: list, show, add, edit, block, allow, clear, delete."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from .conversation import _client
from .mail import AgentOpt
from .output import JsonFlag, cell, details, emit, table

app = typer.Typer(no_args_is_help=True)
AddressArg = Annotated[str, typer.Argument(help="An address, or @domain.")]
NameOpt = Annotated[str | None, typer.Option("--name", help="A display name.")]
NotesOpt = Annotated[str | None, typer.Option("--notes")]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", help="A label (repeat).")]
STATUS_STYLE = {"block": "bold red", "allow": "green"}


class Status(StrEnum):
    BLOCK = "block"
    ALLOW = "allow"


def _render_list(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    if not data["contacts"]:
        yield Text("No contacts (they fill in as mail comes and goes).")
        return
    yield table(("address", "name", "status", "in", "out", "last seen", "tags"),
                ((c["address"], c.get("name"), cell(c.get("status"),
                                                    STATUS_STYLE.get(c.get("status") or "", "")),
                  c["received"], c["sent"], c.get("last_seen"), c.get("tags") or [])
                 for c in data["contacts"]))


def _render_one(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    c = data["contact"]
    yield details([(k.replace("_", " "), c.get(k) if c.get(k) not in ([], "") else None)
                   for k in ("address", "name", "status", "received", "sent", "first_seen",
                             "last_seen", "tags", "notes")])


def _fields(name: str | None, notes: str | None, tags: list[str] | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": name, "notes": notes, "tags": tags}
    return {k: v for k, v in fields.items() if v is not None}


@app.command("list")
def list_contacts(ctx: typer.Context, agent: AgentOpt,
                  status: Annotated[Status | None, typer.Option("--status")] = None,
                  search: Annotated[str | None, typer.Option(
                      "--search", "-q", help="Part of an address or name.")] = None,
                  limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 100,
                  offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
                  as_json: JsonFlag = False) -> None:
    """Contacts, most recently seen first."""
    with _client(ctx, agent) as client:
        page = client.list_contacts(status=status and status.value, query=search, limit=limit,
                                    offset=offset)
    emit(page.model_dump(), as_json, _render_list)


@app.command()
def show(ctx: typer.Context, agent: AgentOpt, address: AddressArg, as_json: JsonFlag = False
         ) -> None:
    """One contact: counts, first and last seen, notes."""
    with _client(ctx, agent) as client:
        found = client.get_contact(address)
    emit({"contact": found.model_dump()}, as_json, _render_one)


@app.command()
def add(ctx: typer.Context, agent: AgentOpt, address: AddressArg, name: NameOpt = None,
        notes: NotesOpt = None, tag: TagOpt = None, as_json: JsonFlag = False) -> None:
    """Add a contact (or change the fields given of an existing one)."""
    with _client(ctx, agent) as client:
        found = client.save_contact(address, **_fields(name, notes, tag))
    emit({"contact": found.model_dump()}, as_json, _render_one)


@app.command()
def edit(ctx: typer.Context, agent: AgentOpt, address: AddressArg, name: NameOpt = None,
         notes: NotesOpt = None, tag: TagOpt = None, as_json: JsonFlag = False) -> None:
    """Change an existing contact's name, notes or tags."""
    with _client(ctx, agent) as client:
        found = client.update_contact(address, **_fields(name, notes, tag))
    emit({"contact": found.model_dump()}, as_json, _render_one)


def _set_status(ctx: typer.Context, agent: str, address: str, status: str | None,
                as_json: bool) -> None:
    with _client(ctx, agent) as client:
        found = client.save_contact(address, status=status)
    emit({"contact": found.model_dump()}, as_json, _render_one)


@app.command()
def block(ctx: typer.Context, agent: AgentOpt, address: AddressArg, as_json: JsonFlag = False
          ) -> None:
    """Block a sender (or @domain): its mail goes to Spam, the verdict saying why."""
    _set_status(ctx, agent, address, "block", as_json)


@app.command()
def allow(ctx: typer.Context, agent: AgentOpt, address: AddressArg, as_json: JsonFlag = False
          ) -> None:
    """Allow a sender: its authenticated mail (DMARC pass) is not moved to Spam."""
    _set_status(ctx, agent, address, "allow", as_json)


@app.command()
def clear(ctx: typer.Context, agent: AgentOpt, address: AddressArg, as_json: JsonFlag = False
          ) -> None:
    """Neither block nor allow this sender any more."""
    _set_status(ctx, agent, address, None, as_json)


@app.command()
def delete(ctx: typer.Context, agent: AgentOpt, address: AddressArg, as_json: JsonFlag = False
           ) -> None:
    """Delete a contact (it comes back, counted afresh, with the next mail)."""
    with _client(ctx, agent) as client:
        client.delete_contact(address)
    emit({"address": address, "deleted": True}, as_json,
         lambda d: iter([f"deleted contact {address}"]))
