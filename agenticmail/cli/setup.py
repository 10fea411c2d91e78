"""``agenticmail setup``: the first-run wizard. Resumable and idempotent.

Every question is asked first (defaults shown; ``--yes`` takes the defaults and the options as
given), then the steps run in order, each skipping what is already done:

1. system check - Python, Docker engine, Dovecot, disk, free ports - with the reason for the
   mail host it suggests (stalwart if Docker runs, else local);
2. mail host; 3. data dir, config (0600) and master key (``services.setup.run_setup``);
4. start the mail host with progress (stalwart: pull, create, bootstrap) and the daemon,
   detached, like ``agenticmail start --detach``;
5. the first agent (default ``secretary``), created through the daemon's API like
   ``agenticmail agents create``; 6. the internet gateway choice (recorded; the relay or
   domain setup offered next, or its exact command shown with ``--yes``);
7. a summary: the master key shown once, the agent's key, the next commands.

A re-run on a configured machine keeps everything: no new key, no new agent, the daemon and
the mail host adopted as they run. Prompts and progress go to stderr; the result to stdout.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn
from rich.prompt import Confirm, IntPrompt, Prompt
from rich.text import Text

from ..config import MAIL_HOSTS, MailHostKind, Settings
from ..errors import AgenticMailError, ConfigError, Conflict
from ..services.checks import Check
from .client import Client
from .output import JsonFlag, check_dict, checks_table, details, emit, secrets_panel, stderr
from .state import CliState, settings_from

app = typer.Typer()
GATEWAYS = ("none", "relay", "domain")
DEFAULT_AGENT = "secretary"
GATEWAY_NEXT = {
    "relay": "send internet mail through your Gmail/Outlook account: configured later with "
             "`agenticmail relay setup`",
    "domain": "agents mail as AGENT@your-domain through Cloudflare (DNS, Email Routing, a "
              "Tunnel): set up with `agenticmail domain setup --domain YOUR-DOMAIN`",
}
DOMAIN_COMMAND = "domain setup --domain YOUR-DOMAIN --token-file FILE"


@contextmanager
def _answers() -> Iterator[None]:
    """Prompts read standard input: running out of it is a one-line error, not a traceback."""
    try:
        yield
    except EOFError:
        raise AgenticMailError("setup needs answers but standard input has ended",
                               hint="for scripts: agenticmail setup --yes [options]") from None


def _ask_email(default: str | None) -> str | None:
    while True:
        answer = Prompt.ask(
            "Owner email (approvals and notifications; empty for none)",
            default=default or "", show_default=bool(default), console=stderr(),
        ).strip()
        if not answer or ("@" in answer and " " not in answer):
            return answer or None
        stderr().print("[red]That does not look like an email address.[/red]")


def _ask_port(default: int) -> int:
    while True:
        port = IntPrompt.ask("API port", default=default, console=stderr())
        if 1 <= port <= 65535:
            return port
        stderr().print("[red]Choose a port between 1 and 65535.[/red]")


def settings_summary(settings: Settings) -> dict[str, Any]:
    """The settings worth showing (never the master key)."""
    return {
        "home": str(settings.home), "config_path": str(settings.config_path),
        "api_url": settings.api_url, "mail_host": settings.mail_host,
        "domain": settings.domain, "owner_email": settings.owner_email,
        "gateway_mode": settings.gateway_mode,
    }


class _HostProgress:
    """Shows the mail host's start-up steps, and the image pull as one download bar."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar = Progress(TextColumn("  {task.description}"), BarColumn(), DownloadColumn(),
                            console=console, transient=True)
        self.layers: dict[str, tuple[int, int]] = {}
        self.task: TaskID | None = None
        self.last = ""

    def __call__(self, message: str, pull: Any) -> None:
        if pull is None:
            if message != self.last:
                self.console.print(Text(f"  {message}", style="dim"))
                self.last = message
            return
        if pull.layer and pull.total:
            self.layers[pull.layer] = (pull.current or 0, pull.total)
        elif pull.layer in self.layers and "complete" in pull.status.lower():
            self.layers[pull.layer] = (self.layers[pull.layer][1],) * 2
        if not self.layers:
            return
        done = sum(c for c, _ in self.layers.values())
        total = sum(t for _, t in self.layers.values())
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task(message, total=total)
        self.bar.update(self.task, completed=done, total=total)

    def close(self) -> None:
        if self.task is not None:
            self.bar.stop()


def _step(n: int, title: str) -> None:
    stderr().print(Text(f"[{n}/7] {title}", style="bold cyan"))


def _system(settings: Settings, configured: bool, chosen: str | None
            ) -> tuple[list[Check], str, str]:
    """The system checks, the suggested mail host and why. Docker is optional (an info row,
    not a failure) unless the stalwart mail host is the one chosen or configured."""
    from ..services.checks import choose_mail_host, system_checks

    checks = system_checks(settings)
    by_name = {c.name: c for c in checks}
    if configured:
        host, reason = settings.mail_host.value, "kept from the existing configuration"
    else:
        host, reason = choose_mail_host(by_name["docker"], by_name["dovecot"])
    if (chosen or host) != "stalwart":
        checks = [replace(c, optional=True) if c.name == "docker" else c for c in checks]
    return checks, host, reason


def command_name() -> str:
    """How to call this CLI from a shell: ``agenticmail`` when that name on PATH is this very
    program, else its full path (a fresh install's ``.venv/bin`` is not on PATH)."""
    here = Path(sys.executable).parent / "agenticmail"
    found = shutil.which("agenticmail")
    if found and (not here.exists() or Path(found).resolve() == here.resolve()):
        return "agenticmail"
    if here.exists():
        return str(here)
    return f"{sys.executable} -m agenticmail"


def path_hint(command: str) -> str | None:
    """A line saying how to put the CLI on PATH, when the full path has to be used."""
    if command == "agenticmail" or " " in command:
        return None
    return f'or add it to PATH: export PATH="{os.path.dirname(command)}:$PATH"'


def _ports_free(settings: Settings) -> None:
    """Every port the chosen settings need is free (else one error naming the busy ones)."""
    from ..services.checks import port_checks

    busy = [c for c in port_checks(settings) if not c.ok]
    if busy:
        raise ConfigError("; ".join(c.detail for c in busy),
                          hint=busy[0].hint or "choose other ports")


def _render(data: dict[str, Any]) -> Iterator[RenderableType]:
    summary = data["settings"]
    if data["master_key"]:
        yield secrets_panel("Master key", [("master key", data["master_key"])],
                            "Store this now; it will not be shown again. (The CLI reads it "
                            f"from {summary['config_path']}, mode 0600.)")
    elif data["created"]:
        yield Text("Configuration created.", style="bold green")
    else:
        yield Text("Existing configuration kept" + (
            f" (changed: {', '.join(data['changes'])})." if data["changes"] else "."),
            style="bold")
    agent = data.get("agent")
    if agent:
        mail = agent.get("mail") or {}
        yield secrets_panel(
            f"First agent: {agent['agent']['name']} <{agent['agent']['address']}>",
            [("API key", agent.get("api_key")), ("mail login", mail.get("username")),
             ("mail password", mail.get("password"))],
            "Store these now; they will not be shown again.")
    yield details([
        ("data dir", summary["home"]), ("config", summary["config_path"]),
        ("mail host", f"{summary['mail_host']} - {data['host_reason']}"),
        ("mail host status", data.get("host")), ("domain", summary["domain"]),
        ("API", summary["api_url"]), ("daemon", data.get("daemon")),
        ("agents", ", ".join(data["agents"]) or "(none)"),
        ("owner email", summary["owner_email"] or "(none)"),
        ("gateway", data.get("gateway") or summary["gateway_mode"]),
    ])
    if data["ok"]:
        yield Text("Next:", style="bold green")
        for line in data["next"]:
            yield Text(f"  {line}", style="green")
        if data.get("path_hint"):
            yield Text(f"  ({data['path_hint']})", style="dim")


def _relay_step(ctx: typer.Context) -> bool:
    """Run ``agenticmail relay setup`` inside the wizard; a failure leaves it for later."""
    from . import relay as relay_cli

    state = ctx.find_root().obj
    if isinstance(state, CliState):
        state.reload()  # the config (and master key) this run of setup just wrote
    try:
        relay_cli.setup(ctx)
    except AgenticMailError as exc:
        stderr().print(Text(f"  relay not set up: {exc.message}", style="yellow"))
        stderr().print(Text("  run `agenticmail relay setup` when ready", style="dim"))
        return False
    return True


def _domain_step(ctx: typer.Context) -> bool:
    """Run ``agenticmail domain setup`` inside the wizard (it asks for the domain and the
    token); a failure leaves it for later: it resumes where it stopped."""
    from ..services import tunnel
    from . import domain as domain_cli

    state = ctx.find_root().obj
    if isinstance(state, CliState):
        state.reload()
    try:
        settings = settings_from(ctx)
        if tunnel.binary(settings) is None:  # the daemon runs cloudflared for the tunnel
            plan = tunnel.planned_release(settings)
            if Confirm.ask(f"  cloudflared is not installed; download cloudflared "
                           f"{plan['version']} (SHA-256 checked) into {plan['path']}?",
                           default=True, console=stderr()):
                installed = tunnel.install(settings)
                stderr().print(Text(f"  installed cloudflared {installed['version']}",
                                    style="dim"))
        domain_cli.setup(ctx)
    except AgenticMailError as exc:
        stderr().print(Text(f"  domain not set up: {exc.message}", style="yellow"))
        stderr().print(Text("  run `agenticmail domain setup` when ready (it resumes)",
                            style="dim"))
        return False
    return True


@app.command(rich_help_panel="Setup and daemon")
def setup(
    ctx: typer.Context,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask; take the defaults and options.")
    ] = False,
    mail_host: Annotated[
        str | None,
        typer.Option("--mail-host", help=f"Where mailboxes live: {' or '.join(MAIL_HOSTS)} "
                     "(default: stalwart if Docker runs, else local)."),
    ] = None,
    api_port: Annotated[
        int | None,
        typer.Option("--api-port", min=1, max=65535, help="Port of the daemon's HTTP API."),
    ] = None,
    imap_port: Annotated[
        int | None,
        typer.Option("--imap-port", min=1, max=65535,
                     help="Port of the agents' IMAP (local host)."),
    ] = None,
    smtp_port: Annotated[
        int | None,
        typer.Option("--smtp-port", min=1, max=65535,
                     help="Port of the daemon's SMTP submission (local host)."),
    ] = None,
    lmtp_port: Annotated[
        int | None,
        typer.Option("--lmtp-port", min=1, max=65535,
                     help="Port of Dovecot's LMTP delivery (local host)."),
    ] = None,
    owner_email: Annotated[
        str | None,
        typer.Option("--owner-email", help="The owner's email, for approvals and notices."),
    ] = None,
    domain: Annotated[
        str | None, typer.Option("--domain", help="The agents' mail domain (default localhost).")
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option("--agent", help=f"Name of the first agent (default {DEFAULT_AGENT})."),
    ] = None,
    no_agent: Annotated[
        bool, typer.Option("--no-agent", help="Do not create a first agent.")
    ] = False,
    gateway: Annotated[
        str | None,
        typer.Option("--gateway", help="Internet mail: none, relay or domain (relay and domain "
                 "are set up next: asked here, or their command shown with --yes)."),
    ] = None,
    start: Annotated[
        bool, typer.Option("--start/--no-start", help="Start the mail host and the daemon.")
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for the daemon.")
    ] = 60.0,
    as_json: JsonFlag = False,
) -> None:
    """Set up agenticmail: checks, mail host, master key, daemon, first agent (resumable)."""
    from ..services import setup as svc  # imported when used: keeps --help fast
    from ..services import tunnel
    from .daemon import _start_detached, probe

    current = settings_from(ctx)
    if mail_host is not None and mail_host not in MAIL_HOSTS:
        raise typer.BadParameter(f"choose one of {', '.join(MAIL_HOSTS)}", param_hint="--mail-host")
    if gateway is not None and gateway not in GATEWAYS:
        raise typer.BadParameter(f"choose one of {', '.join(GATEWAYS)}", param_hint="--gateway")
    configured = current.is_configured
    console = stderr()

    _step(1, "System check")
    system, suggested, reason = _system(current, configured, mail_host)
    if not as_json:
        console.print(checks_table([check_dict(c) for c in system]))
    if mail_host is not None and mail_host != suggested:
        reason = "chosen with --mail-host"
    _step(2, "Mail host")
    if mail_host is None:
        console.print(Text(f"  suggested: {suggested} - {reason}", style="dim"))
        with _answers():
            mail_host = suggested if yes else Prompt.ask(
                "Mail host", choices=list(MAIL_HOSTS), default=suggested, console=console)
        if mail_host != suggested:
            reason = "your choice"
    existing = svc.agent_names(current)
    _step(3, "Data dir and keys")
    with _answers():
        if not yes:
            api_port = api_port if api_port is not None else _ask_port(current.api_port)
            if owner_email is None:
                owner_email = _ask_email(current.owner_email)
            if start and not existing and not no_agent and agent is None:
                agent = Prompt.ask("First agent's name", default=DEFAULT_AGENT, console=console)
            if gateway is None:
                console.print(Text("  none: agents mail each other only; relay: through your "
                                   "Gmail/Outlook; domain: your own domain", style="dim"))
                gateway = Prompt.ask("Internet gateway", choices=list(GATEWAYS),
                                     default=current.gateway_mode, console=console)
    daemon_up = probe(current) is not None
    ports = {"imap_port": imap_port, "submission_port": smtp_port, "lmtp_port": lmtp_port}
    moving = [name for name, value in (("api_port", api_port), ("mail_host", mail_host),
                                       ("domain", domain), *ports.items())
              if value is not None and value != getattr(current, name)]
    if daemon_up and configured and moving:
        raise ConfigError(f"the daemon is running; stop it before changing {', '.join(moving)}",
                          hint="agenticmail stop, then run setup again")
    if start and not daemon_up and (not configured or any(m.endswith("_port") for m in moving)):
        _ports_free(replace(current, mail_host=MailHostKind(mail_host),
                            api_port=api_port or current.api_port,
                            imap_port=imap_port or current.imap_port,
                            submission_port=smtp_port or current.submission_port,
                            lmtp_port=lmtp_port or current.lmtp_port))
    result = svc.run_setup(current, mail_host=mail_host, api_port=api_port,
                           owner_email=owner_email, domain=domain, gateway_mode=gateway,
                           ports=ports)
    settings = result.settings
    console.print(Text(f"  {settings.config_path} (mode 0600)", style="dim"))

    host_line: str | None = None
    daemon_line: str | None = None
    created_agent: dict[str, Any] | None = None
    agents = list(existing)
    if start:
        _step(4, "Start the mail host and the daemon")
        if daemon_up:
            host_line, daemon_line = "adopted by the running daemon", "already running"
        else:
            progress = _HostProgress(console)
            try:
                host_line = svc.start_mail_host(settings, progress)
            finally:
                progress.close()
            _start_detached(settings, timeout, quiet=True)
            daemon_line = "started"
        health = probe(settings) or {}
        daemon_line = f"{daemon_line} at {settings.api_url} (pid {health.get('pid', '?')})"
        _step(5, "First agent")
        if not agents and not no_agent:
            name = agent or DEFAULT_AGENT
            try:
                with Client(settings) as client:
                    created_agent = client.post("/v1/agents", {"name": name})
            except Conflict as exc:  # e.g. a mailbox left over from an earlier install
                raise Conflict(f"cannot create the first agent: {exc.message}",
                               hint="agenticmail doctor --repair removes a mailbox no agent "
                                    "uses; then run setup again (it resumes)") from None
            agents.append(created_agent["agent"]["name"])
        elif agents:
            console.print(Text(f"  kept: {', '.join(agents)}", style="dim"))
    _step(6, "Internet gateway")
    in_use = svc.gateway_in_use(settings)
    if in_use != settings.gateway_mode:
        console.print(Text(f"  in use: {in_use}", style="dim"))
    else:
        console.print(Text(f"  {settings.gateway_mode}: " + GATEWAY_NEXT.get(
            settings.gateway_mode, "agents mail each other only"), style="dim"))
    relay_configured = False
    if settings.gateway_mode == "relay" and not yes and start and Confirm.ask(
            "  Set up the relay account now?", default=True, console=console):
        relay_configured = _relay_step(ctx)
    domain_configured = False
    if settings.gateway_mode == "domain" and not yes and start and Confirm.ask(
            "  Set up your domain on Cloudflare now?", default=True, console=console):
        domain_configured = _domain_step(ctx)
    _step(7, "Summary")

    checks = [check_dict(c) for c in result.checks]
    first = agents[0] if agents else DEFAULT_AGENT
    cmd = command_name()
    next_steps = ([] if start else [f"{cmd} start --detach", f"{cmd} agents create {first}"])
    next_steps += [f"{cmd} send --agent {first} --to {first}@{settings.domain} "
                   "--subject hello --text 'first mail'",
                   f"{cmd} inbox --agent {first}", f"{cmd} status", f"{cmd} doctor"]
    if settings.gateway_mode == "relay" and not relay_configured \
            and in_use == settings.gateway_mode:  # no relay account (or route) yet
        next_steps.append(f"{cmd} relay setup")
    if settings.gateway_mode == "domain":
        if not domain_configured:
            next_steps.append(f"{cmd} {DOMAIN_COMMAND}")
        if tunnel.binary(settings) is None:  # the daemon runs it for the tunnel
            next_steps.append(f"{cmd} domain tunnel install")
    data = {
        "created": bool(result.created), "master_key": result.master_key,
        "changes": result.changes, "settings": settings_summary(settings),
        "host_reason": reason, "host": host_line, "daemon": daemon_line,
        "agent": created_agent, "agents": agents,
        "system": [check_dict(c) for c in system], "checks": checks,
        "ok": all(c["ok"] for c in checks), "next": next_steps,
        "path_hint": path_hint(cmd), "gateway": in_use,
    }
    emit(data, as_json, _render)
    if not data["ok"]:
        raise typer.Exit(1)


__all__ = ["app", "settings_summary"]
