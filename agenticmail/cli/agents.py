"""``agenticmail agents``: create, list, show and delete agents; rotate an agent's API key
or mail password.

Every command is one call to ``/v1/agents`` with the master key. Secrets (an agent's API key
and mail password) come back only from ``create``, ``rotate-key`` and ``rotate-password`` and
are shown once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from ..models import Role
from . import keys
from .client import Client, path_part
from .output import (
    ConfirmFlag,
    JsonFlag,
    confirm_or_exit,
    details,
    emit,
    secrets_panel,
    table,
)
from .state import settings_from

app = typer.Typer(no_args_is_help=True)
app.add_typer(keys.app, name="keys", help="An agent's named API keys: list, create, revoke.")

NameArg = Annotated[str, typer.Argument(help="The agent's name (the local part of its address).")]
SHOWN_ONCE = "Store these now; they will not be shown again."


def _agent_rows(agent: Mapping[str, Any]) -> list[tuple[str, object]]:
    metadata = agent.get("metadata") or None
    return [
        ("name", agent.get("name")),
        ("address", agent.get("address")),
        ("role", agent.get("role")),
        ("display name", agent.get("display_name")),
        ("key prefix", agent.get("key_prefix")),
        ("created", agent.get("created_at")),
        ("id", agent.get("id")),
        ("metadata", metadata and ", ".join(f"{k}={v}" for k, v in metadata.items())),
    ]


def _render_agent(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield details(_agent_rows(data["agent"]))


def _render_created(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    agent, mail = data["agent"], data.get("mail") or {}
    yield Text(f"Created agent {agent.get('name')} <{agent.get('address')}>", style="bold green")
    yield from _render_agent(data)
    yield secrets_panel(
        "Agent credentials",
        [
            ("API key", data.get("api_key")),
            ("mail login", mail.get("username")),
            ("mail password", mail.get("password")),
            ("IMAP", f"{mail.get('imap_host')}:{mail.get('imap_port')}"),
            ("SMTP", f"{mail.get('smtp_host')}:{mail.get('smtp_port')}"),
        ],
        SHOWN_ONCE,
    )


def _render_rotated(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    agent = data["agent"]
    yield secrets_panel(
        f"New API key for {agent.get('name')}",
        [("API key", data.get("api_key")), ("key prefix", agent.get("key_prefix"))],
        "Store this now; it will not be shown again. The old key no longer works.",
    )


def _render_list(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    agents = data.get("agents") or []
    if not agents:
        yield Text("No agents yet. Create one: agenticmail agents create NAME")
        return
    yield table(
        ["name", "address", "role", "display name", "key prefix", "created"],
        [
            (
                a.get("name"),
                a.get("address"),
                a.get("role"),
                a.get("display_name"),
                a.get("key_prefix"),
                a.get("created_at"),
            )
            for a in agents
        ],
    )


def _render_deleted(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    report = data.get("report") or {}
    yield Text(f"Deleted agent {data.get('deleted')}", style="bold")
    yield details(
        [
            ("archive", data.get("archive")),
            ("messages", report.get("message_count")),
            ("first", report.get("first_date")),
            ("last", report.get("last_date")),
        ]
    )
    folders = report.get("folders") or {}
    if folders:
        yield table(["folder", "messages"], folders.items())
    correspondents = report.get("top_correspondents") or []
    if correspondents:
        yield table(["top correspondent", "messages"], correspondents)


@app.command()
def create(
    ctx: typer.Context,
    name: NameArg,
    role: Annotated[
        Role | None, typer.Option("--role", case_sensitive=False, help="The agent's role.")
    ] = None,
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="Name shown in the From header.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an agent with its own mailbox; prints its API key and mail password once."""
    body = {"name": name, "role": role and role.value, "display_name": display_name}
    with Client(settings_from(ctx)) as client:
        data = client.post("/v1/agents", {k: v for k, v in body.items() if v is not None})
    emit(data, as_json, _render_created)


@app.command("list")
def list_agents(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the agents (no keys or passwords are ever listed)."""
    with Client(settings_from(ctx)) as client:
        data = client.get("/v1/agents")
    emit(data, as_json, _render_list)


@app.command()
def show(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """Show one agent: address, role, display name, key prefix, metadata."""
    with Client(settings_from(ctx)) as client:
        data = client.get(f"/v1/agents/{path_part(name)}")
    emit(data, as_json, _render_agent)


@app.command()
def delete(
    ctx: typer.Context,
    name: NameArg,
    yes: ConfirmFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete an agent and its mailbox (its mail is archived first)."""
    confirm_or_exit(f"Delete agent {name!r} and its mailbox? Its mail is archived first.",
                    yes, "Nothing deleted.")
    with Client(settings_from(ctx), timeout=120.0) as client:
        data = client.delete(f"/v1/agents/{path_part(name)}")
    emit(data, as_json, _render_deleted)


@app.command("rotate-key")
def rotate_key(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """Issue a new API key for an agent; the old one stops working at once."""
    with Client(settings_from(ctx)) as client:
        data = client.post(f"/v1/agents/{path_part(name)}/rotate-key")
    emit(data, as_json, _render_rotated)


def _render_new_password(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    mail = data.get("mail") or {}
    yield secrets_panel(
        f"New mail password for {data['agent'].get('name')}",
        [("mail login", mail.get("username")), ("mail password", mail.get("password"))],
        "Store this now; it will not be shown again. The old password no longer works "
        "for new IMAP/SMTP logins.",
    )


@app.command("rotate-password")
def rotate_password(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """Issue a new mail password (IMAP/SMTP login) for an agent; the API key is unchanged."""
    with Client(settings_from(ctx)) as client:
        data = client.post(f"/v1/agents/{path_part(name)}/rotate-password")
    emit(data, as_json, _render_new_password)
