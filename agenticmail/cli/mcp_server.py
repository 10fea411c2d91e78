"""``agenticmail mcp``: serve one agent's mailbox to an MCP client (stdio, or Streamable
HTTP on 127.0.0.1 with a bearer key), and ``mcp install`` to set a client up."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..errors import InvalidRequest
from .client import Client
from .state import settings_from

app = typer.Typer(invoke_without_command=True)


@app.callback()
def serve(ctx: typer.Context,
          owner: Annotated[bool, typer.Option(
              "--owner", help="Allow the master key (full owner access); needs --agent.")] = False,
          agent: Annotated[str | None, typer.Option(
              "--agent", help="With --owner: the agent to act on.")] = None,
          http: Annotated[bool, typer.Option(
              "--http", help="Streamable HTTP on 127.0.0.1 instead of stdio.")] = False,
          port: Annotated[int, typer.Option("--port", help="HTTP port.")] = 8765,
          bearer: Annotated[str | None, typer.Option(
              "--bearer", envvar="AGENTICMAIL_MCP_BEARER",
              help="With --http: the bearer key clients must send (16+ characters).")] = None,
          ) -> None:
    """Run an MCP server for the agent whose key is in AGENTICMAIL_API_KEY (stdio)."""
    if ctx.invoked_subcommand is not None:
        return
    from ..mcp.server import run

    settings = settings_from(ctx)
    import os

    base = os.environ.get("AGENTICMAIL_URL") or settings.api_url
    run(api_key=os.environ.get("AGENTICMAIL_API_KEY"), base_url=base, owner=owner,
        agent=agent, http=http, port=port, bearer=bearer)


@app.command()
def install(ctx: typer.Context,
            client_name: Annotated[str, typer.Option(
                "--client", help="claude-code | claude-desktop | cursor")],
            agent: Annotated[str, typer.Option("--agent", help="The agent's name.")],
            print_only: Annotated[bool, typer.Option(
                "--print", help="Print the configuration instead of writing it.")] = False,
            ) -> None:
    """Create a named key for AGENT and write the client's MCP configuration with it
    (merged: other servers' entries are kept)."""
    from ..mcp import install as inst

    if client_name not in inst.CLIENTS:
        raise InvalidRequest(f"unknown client {client_name!r}; one of "
                             f"{', '.join(inst.CLIENTS)}")
    settings = settings_from(ctx)
    path = inst.config_path(client_name)
    existing = {} if print_only else inst.read_config(path)  # refuse bad JSON before a key
    with Client(settings) as api:
        names = [k.name for k in api.list_keys(agent)]
        if client_name in names:  # re-install: the old key is replaced with the entry
            api.revoke_key(agent, client_name)
        created = api.create_key(agent, client_name)
    entry = inst.server_entry(created.api_key, settings.api_url)
    if print_only:
        typer.echo(json.dumps({"mcpServers": {inst.server_name(agent): entry}}, indent=2))
        return
    inst.write_config(path, inst.merged(existing, agent, entry))
    typer.echo(f"wrote {inst.server_name(agent)} to {path} (key {created.key.prefix}…, "
               f"revoke with: agenticmail agents keys revoke {agent} {client_name})")
