"""``agenticmail suppressions``: the addresses an agent no longer mails (``/v1/suppressions``).

Hard bounces, complaints and unsubscribes add to an agent's list on their own; ``add`` and
``remove`` edit it by hand. Sending to a listed address is refused (``recipient_suppressed``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from .client import Client, path_part
from .output import JsonFlag, emit, table
from .state import settings_from

app = typer.Typer(no_args_is_help=True)

AgentOpt = Annotated[str, typer.Option("--agent", "-a", help="The agent whose list it is.")]
AddressArg = Annotated[str, typer.Argument(help="The email address.")]


def _render_list(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    rows = data.get("suppressions") or []
    if not rows:
        yield Text(f"{data.get('agent')} suppresses no address.")
        return
    yield table(["address", "reason", "detail", "since"],
                [(r.get("address"), r.get("reason"), r.get("detail") or "",
                  r.get("created_at")) for r in rows],
                title=f"Suppressed by {data.get('agent')}")


def _render_added(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    entry = data["suppression"]
    verb = "now suppresses" if entry.get("added") else "already suppressed"
    yield Text(f"{entry['agent']} {verb} {entry['address']} ({entry['reason']}).")


def _render_removed(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield Text(f"{data['agent']} may mail {data['address']} again.")


@app.command("list")
def list_suppressions(ctx: typer.Context, agent: AgentOpt,
                      limit: Annotated[int, typer.Option("--limit", "-n", min=1,
                                                         max=10000)] = 1000,
                      as_json: JsonFlag = False) -> None:
    """List the addresses an agent no longer mails, and why."""
    with Client(settings_from(ctx)) as client:
        data = client.get("/v1/suppressions", agent=agent, limit=limit)
    emit(data, as_json, _render_list)


@app.command()
def add(ctx: typer.Context, address: AddressArg, agent: AgentOpt,
        detail: Annotated[str | None, typer.Option("--detail", help="Why (kept with it).")]
        = None, as_json: JsonFlag = False) -> None:
    """Stop an agent mailing an address (sends to it are refused)."""
    with Client(settings_from(ctx)) as client:
        data = client.post("/v1/suppressions",
                           {"agent": agent, "address": address, "detail": detail})
    emit(data, as_json, _render_added)


@app.command()
def remove(ctx: typer.Context, address: AddressArg, agent: AgentOpt,
           as_json: JsonFlag = False) -> None:
    """Let an agent mail a suppressed address again."""
    with Client(settings_from(ctx)) as client:
        data = client.delete(f"/v1/suppressions/{path_part(address)}", agent=agent)
    emit(data, as_json, _render_removed)
