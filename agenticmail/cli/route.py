"""``agenticmail route``: the outbound SMTP route that mail to the internet leaves through.

``show``/``set``/``clear`` are ``GET``/``PUT``/``DELETE /v1/route`` (owner only). The
password is never a command-line argument (it would land in shell history and ``ps``): it is
read from stdin with ``--password-stdin`` or asked for with hidden input. The daemon stores
it encrypted and never returns it; ``show`` only says whether one is stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from .client import Client
from .output import JsonFlag, details, emit, read_secret
from .state import require_configured, settings_from

app = typer.Typer(no_args_is_help=True)


class TlsMode(StrEnum):
    IMPLICIT = "implicit"
    STARTTLS = "starttls"
    NONE = "none"


DEFAULT_PORTS = {TlsMode.IMPLICIT: 465, TlsMode.STARTTLS: 587, TlsMode.NONE: 25}
NO_ROUTE = (
    "No outbound route: mail to external addresses is refused (agents can still mail each "
    "other). Set one: agenticmail route set --host HOST --address ADDR"
)


def _route_pairs(route: Mapping[str, Any]) -> list[tuple[str, object]]:
    return [
        ("host", route.get("host")),
        ("port", route.get("port")),
        ("tls", route.get("tls")),
        ("address", route.get("address")),
        ("username", route.get("username") or "(no login)"),
        ("password", "stored (encrypted)" if route.get("has_password") else "none"),
    ]


def _render_route(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    route = data.get("route")
    if not route:
        yield Text(NO_ROUTE)
        return
    yield details(_route_pairs(route))


def _render_saved(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield Text("Outbound route saved.", style="bold green")
    yield from _render_route(data)


def _render_cleared(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield Text("Outbound route cleared: mail to external addresses is now refused.")


@app.command()
def show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the outbound route (the password is never shown, only whether one is stored)."""
    with Client(settings_from(ctx)) as client:
        data = client.get("/v1/route")
    emit(data, as_json, _render_route)


@app.command("set")
def set_route(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="The SMTP server, e.g. smtp.gmail.com.")],
    address: Annotated[
        str,
        typer.Option(
            "--address",
            metavar="ADDR",
            help="The account's address; agents send as owner+agent@ of it.",
        ),
    ],
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=1,
            max=65535,
            help="Default: 465 (implicit), 587 (starttls), 25 (none).",
            show_default=False,
        ),
    ] = None,
    tls: Annotated[
        TlsMode, typer.Option("--tls", case_sensitive=False, help="How the connection is secured.")
    ] = TlsMode.IMPLICIT,
    username: Annotated[
        str | None,
        typer.Option("--username", help="Login name. Default: the address.", show_default=False),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from stdin (else it is asked for, hidden).",
        ),
    ] = False,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="The server takes mail without a login.")
    ] = False,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file",
            metavar="PEM",
            help="Trust this CA certificate (for a private relay).",
            exists=True,
            dir_okay=False,
            readable=True,
            resolve_path=True,
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Set the SMTP route for mail to the internet (the password is never an argument)."""
    if no_auth and (username is not None or password_stdin):
        raise typer.BadParameter(
            "--no-auth takes no --username or --password-stdin", param_hint="--no-auth"
        )
    settings = settings_from(ctx)
    require_configured(settings)  # before asking for a password
    login = None if no_auth else (username or address)
    body = {
        "host": host,
        "port": port or DEFAULT_PORTS[tls],
        "tls": tls.value,
        "address": address,
        "username": login,
        "password": None
        if login is None
        else read_secret(password_stdin, f"SMTP password for {login}", "password"),
        "ca_file": str(ca_file) if ca_file is not None else None,
    }
    with Client(settings) as client:
        data = client.request("PUT", "/v1/route", json_body=body)
    emit(data, as_json, _render_saved)


@app.command()
def clear(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Remove the outbound route: mail to external addresses is refused until one is set."""
    with Client(settings_from(ctx)) as client:
        data = client.delete("/v1/route")
    emit(data, as_json, _render_cleared)
