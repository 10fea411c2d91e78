"""``agenticmail agents keys``: an agent's named API keys, one per tool (list, create, revoke).

Keys are stored only as hashes: a new key is shown once, at creation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import typer
from rich.console import RenderableType

from .client import Client
from .output import JsonFlag, emit, secrets_panel, table
from .state import settings_from

app = typer.Typer(no_args_is_help=True)
AgentArg = Annotated[str, typer.Argument(help="The agent's name.")]
KeyArg = Annotated[str, typer.Argument(help="The key's name, e.g. the tool using it "
                                            "(claude-code, cursor, a script).")]


def _render_list(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield table(("name", "prefix", "created"),
                ((k["name"], k["prefix"], k["created_at"]) for k in data["keys"]))


def _render_created(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield secrets_panel(f"New key {data['key']['name']!r}",
                        [("API key", data["api_key"]), ("prefix", data["key"]["prefix"])],
                        "Store this now; it will not be shown again.")


@app.command("list")
def list_keys(ctx: typer.Context, agent: AgentArg, as_json: JsonFlag = False) -> None:
    """The agent's live keys (names and prefixes; 'default' is its main key)."""
    with Client(settings_from(ctx)) as client:
        keys = client.list_keys(agent)
    emit({"keys": [k.model_dump() for k in keys]}, as_json, _render_list)


@app.command()
def create(ctx: typer.Context, agent: AgentArg, name: KeyArg, as_json: JsonFlag = False
           ) -> None:
    """Create a named key for one tool; revoking it later leaves the agent's other keys."""
    with Client(settings_from(ctx)) as client:
        created = client.create_key(agent, name)
    emit(created.model_dump(), as_json, _render_created)


@app.command()
def revoke(ctx: typer.Context, agent: AgentArg, name: KeyArg, as_json: JsonFlag = False
           ) -> None:
    """Revoke one named key (it stops working at once)."""
    with Client(settings_from(ctx)) as client:
        client.revoke_key(agent, name)
    emit({"name": name, "revoked": True}, as_json,
         lambda d: iter([f"revoked key {name!r} of {agent}"]))
