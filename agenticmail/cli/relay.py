"""``agenticmail relay``: send and receive internet mail through your own Gmail/Outlook account.

``setup`` asks for the provider (gmail, outlook, other), the address and an app password
(hidden prompt, or ``--password-stdin``); ``--yes`` never asks (for scripts: every value must
be given as an option). The daemon tests the SMTP and IMAP logins before saving anything and
stores the password encrypted. With ``--oauth`` (gmail, outlook) there is no password: the
owner signs in with their own OAuth2 client id (Microsoft: a device code shown here; Google:
a browser page that redirects back to a listener on 127.0.0.1), and the daemon keeps the
refresh token encrypted. ``status`` shows the mode (IDLE or polling), the last activity,
the last error in plain words and the delivered/sent counts. ``disable`` stops the relay.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from ..errors import InvalidRequest
from ..services import relay_oauth
from ..services.relay_gateway import PRESETS
from .client import Client
from .output import JsonFlag, details, emit, note, read_secret
from .state import require_configured, settings_from

app = typer.Typer(no_args_is_help=True)

SETUP_TIMEOUT = 90.0  # two real logins at the provider


class Provider(StrEnum):
    GMAIL = "gmail"
    OUTLOOK = "outlook"
    OTHER = "other"


class SmtpTls(StrEnum):
    IMPLICIT = "implicit"
    STARTTLS = "starttls"
    NONE = "none"


YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="Never ask (for scripts).")]


def _ask(value: Any, question: str, yes: bool, option: str, **prompt: Any) -> Any:
    if value is not None:
        return value
    if yes:
        raise InvalidRequest(f"{option} is required with --yes")
    return typer.prompt(question, err=True, **prompt)


def _when(value: object) -> str:
    return str(value).replace("T", " ")[:19] + " UTC" if value else "never"


def _render_status(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    relay = data.get("relay") or {}
    if not relay.get("configured"):
        yield Text("Relay: off. Set it up with: agenticmail relay setup")
        return
    account = relay.get("account") or {}
    mode = relay.get("mode")
    mode_text = {"idle": "watching with IMAP IDLE (new mail arrives within seconds)",
                 "poll": f"polling every {relay.get('poll_seconds')} s (no IDLE)",
                 "retrying": "not connected; retrying", "starting": "starting",
                 "signin_required": "stopped: the OAuth2 sign-in must be renewed "
                                    "(agenticmail relay setup --oauth)"}.get(
        str(mode), str(mode))
    yield details([
        ("account", f"{account.get('address')} ({account.get('provider')})"),
        ("smtp", "{host}:{port} {tls}".format(**account.get("smtp", {}))),
        ("imap", "{host}:{port}".format(**account.get("imap", {}))),
        ("sign-in", _signin_text(relay)),
        ("mode", mode_text),
        ("last activity", _when(relay.get("last_activity_at"))),
        ("last error", (f"{relay['last_error']} ({_when(relay.get('last_error_at'))})"
                        if relay.get("last_error") else "none")),
        ("failures in a row", str(relay.get("failures", 0))),
        ("next retry", _when(relay["next_retry_at"]) if relay.get("next_retry_at") else None),
        ("delivered to agents", str(relay.get("delivered", 0))),
        ("sent by agents", str(relay.get("sent", 0))),
        ("approval replies", str(relay.get("approvals", 0))),
        ("left alone (owner's mail)", str(relay.get("skipped", 0))),
        ("default agent", account.get("default_agent") or "none"),
        ("owner's replies to notifications", account.get("reply_approval")),
    ])


def _signin_text(relay: Mapping[str, Any]) -> str:
    grant = relay.get("oauth")
    if not grant:
        return "app password"
    if grant.get("signin_required"):
        return f"OAuth2 ({grant.get('provider')}): needs a new sign-in"
    return (f"OAuth2 ({grant.get('provider')}, client {grant.get('client_id')}); access token "
            f"renewed before {_when(grant.get('access_token_expires_at'))}")


def _render_saved(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    relay = data.get("relay") or {}
    yield Text("Relay saved: both logins work.", style="bold green")
    yield Text(f"Agents now send as {relay.get('address', '').replace('@', '+AGENT@')}; "
               "replies come back to them.")
    if relay.get("idle") is False:
        yield Text("This IMAP server has no IDLE: new mail is polled every 30 s.")


@app.command()
def setup(
    ctx: typer.Context,
    provider: Annotated[Provider | None, typer.Option(
        "--provider", case_sensitive=False, help="gmail, outlook or other.",
        show_default=False)] = None,
    address: Annotated[str | None, typer.Option(
        "--address", metavar="ADDR", help="The account, e.g. you@gmail.com.",
        show_default=False)] = None,
    username: Annotated[str | None, typer.Option(
        "--username", help="Login name. Default: the address.", show_default=False)] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the app password from stdin (else asked, hidden).")
    ] = False,
    smtp_host: Annotated[str | None, typer.Option("--smtp-host", show_default=False)] = None,
    smtp_port: Annotated[int | None, typer.Option("--smtp-port", min=1, max=65535,
                                                  show_default=False)] = None,
    smtp_tls: Annotated[SmtpTls | None, typer.Option("--smtp-tls", case_sensitive=False,
                                                     show_default=False)] = None,
    imap_host: Annotated[str | None, typer.Option("--imap-host", show_default=False)] = None,
    imap_port: Annotated[int | None, typer.Option("--imap-port", min=1, max=65535,
                                                  show_default=False)] = None,
    ca_file: Annotated[Path | None, typer.Option(
        "--ca-file", metavar="PEM", help="Trust this CA (a self-hosted server).", exists=True,
        dir_okay=False, readable=True, resolve_path=True)] = None,
    default_agent: Annotated[str | None, typer.Option(
        "--default-agent", help="Gets mail sent to +TAG addresses that are no agent.",
        show_default=False)] = None,
    default_all: Annotated[bool, typer.Option(
        "--default-all", help="The default agent gets ALL unmatched mail (a dedicated "
        "account only: the owner's own mail would go to it too).")] = False,
    oauth: Annotated[bool, typer.Option(
        "--oauth", help="Sign in with OAuth2 (gmail, outlook) instead of an app password.")
    ] = False,
    client_id: Annotated[str | None, typer.Option(
        "--client-id", help="--oauth: the client id of YOUR app registration (docs/relay.md).",
        show_default=False)] = None,
    client_secret: Annotated[str | None, typer.Option(
        "--client-secret", help="--oauth with gmail: the client secret Google shows for a "
        "desktop app.", show_default=False)] = None,
    authority: Annotated[str | None, typer.Option(
        "--authority", metavar="URL", help="--oauth with outlook: the Microsoft authority "
        "(default https://login.microsoftonline.com/common).", show_default=False)] = None,
    auth_url: Annotated[str | None, typer.Option(
        "--auth-url", metavar="URL", help="--oauth with gmail: the authorization endpoint.",
        show_default=False)] = None,
    token_url: Annotated[str | None, typer.Option(
        "--token-url", metavar="URL", help="--oauth with gmail: the token endpoint.",
        show_default=False)] = None,
    no_browser: Annotated[bool, typer.Option(
        "--no-browser", help="--oauth with gmail: only print the page to open.")] = False,
    yes: YesFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Use your own mail account for agents' internet mail (logins tested before saving)."""
    settings = settings_from(ctx)
    require_configured(settings)
    chosen = _ask(provider, "Provider (gmail, outlook, other)", yes, "--provider",
                  type=Provider, default=Provider.GMAIL.value)
    chosen = Provider(chosen)
    preset = PRESETS.get(chosen.value)
    if oauth and chosen.value not in relay_oauth.PROVIDER_KIND:
        raise InvalidRequest("--oauth is for --provider gmail or outlook")
    if preset is not None and not oauth:
        note(preset.help, style="")
    else:
        smtp_host = _ask(smtp_host, "SMTP server", yes, "--smtp-host")
        smtp_tls = SmtpTls(_ask(smtp_tls, "SMTP TLS (implicit, starttls, none)", yes,
                                "--smtp-tls", type=SmtpTls, default="implicit"))
        smtp_port = _ask(smtp_port, "SMTP port", yes, "--smtp-port", type=int,
                         default={"implicit": 465, "starttls": 587, "none": 25}[smtp_tls])
        imap_host = _ask(imap_host, "IMAP server (IMAPS)", yes, "--imap-host")
        imap_port = _ask(imap_port, "IMAP port", yes, "--imap-port", type=int, default=993)
    address = _ask(address, "Account address", yes, "--address")
    grant = None
    if oauth:
        grant = _sign_in(chosen.value, address, _ask(client_id, "OAuth2 client id", yes,
                                                     "--client-id"),
                         client_secret, authority, auth_url, token_url,
                         str(ca_file) if ca_file is not None else None, not no_browser)
    body = {
        "provider": chosen.value, "address": address, "username": username,
        "password": "" if oauth else read_secret(
            password_stdin, f"App password for {username or address}", "app password", yes=yes
        ),
        "oauth": grant,
        "smtp_host": smtp_host, "smtp_port": smtp_port,
        "smtp_tls": smtp_tls.value if smtp_tls is not None else None,
        "imap_host": imap_host, "imap_port": imap_port,
        "ca_file": str(ca_file) if ca_file is not None else None,
        "default_agent": default_agent, "default_scope": "all" if default_all else "tagged",
    }
    note("Testing the SMTP and IMAP logins...")
    with Client(settings, timeout=SETUP_TIMEOUT) as client:
        data = client.request("PUT", "/v1/relay", json_body=body)
    emit(data, as_json, _render_saved)


def _sign_in(provider: str, address: str, client_id: str, client_secret: str | None,
             authority: str | None, auth_url: str | None, token_url: str | None,
             ca_file: str | None, open_browser: bool) -> dict[str, Any]:
    """Run the provider's sign-in here, where the owner is; the daemon gets the grant."""
    app_ = relay_oauth.OAuthApp(
        kind=relay_oauth.PROVIDER_KIND[provider], client_id=client_id,
        client_secret=client_secret, authority=authority, auth_url=auth_url,
        token_url=token_url, ca_file=ca_file)
    app_.validate()
    note(f"Signing in to {address} with OAuth2 (waiting for you)...")
    tokens = relay_oauth.sign_in(provider, app_, lambda text: typer.echo(text, err=True),
                                 login_hint=address, open_browser=open_browser)
    note("Signed in.")
    return {"client_id": client_id, "client_secret": client_secret,
            "refresh_token": tokens.refresh_token, "authority": authority,
            "auth_url": auth_url, "token_url": token_url}


@app.command()
def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Mode (IDLE or polling), last activity, last error in plain words, counts."""
    with Client(settings_from(ctx)) as client:
        data = client.get("/v1/relay")
    emit(data, as_json, _render_status)


@app.command()
def disable(ctx: typer.Context, yes: YesFlag = False, as_json: JsonFlag = False) -> None:
    """Stop using the relay account (its stored password is deleted)."""
    if not yes and not typer.confirm("Stop the relay? Agents lose internet mail.", err=True):
        raise typer.Exit(1)
    with Client(settings_from(ctx)) as client:
        data = client.delete("/v1/relay")
    emit(data, as_json, lambda _: iter([Text("Relay disabled.")]))
