"""``agenticmail domain``: the owner's own domain through Cloudflare (domain mode).

setup/teardown (DNS with a backup, the tunnel, Email Routing with the inbound Worker, DKIM,
DMARC), status (each DNS record expected vs found, the tunnel, the Worker, the last inbound
message, outbound health), report (DMARC aggregate reports), check (is a name registered,
via RDAP), outbound (show or switch how mail leaves: cloudflare, smarthost or direct). Each
command is a thin client of ``/v1/domain`` with the owner's master key.
``tunnel status`` reads the daemon's health report; ``tunnel install`` downloads cloudflared
into the data dir itself (no daemon needed, as for the setup wizard).
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from ..errors import InvalidRequest
from ..services import tunnel
from .client import Client
from .output import JsonFlag, clean, details, emit, note, table
from .state import require_configured, settings_from

app = typer.Typer(no_args_is_help=True)


# -- the tunnel (cloudflared) -------------------------------------------------------------
tunnel_app = typer.Typer(no_args_is_help=True, help="The Cloudflare Tunnel: cloudflared, run "
                         "by the daemon while domain mode is set up.")
app.add_typer(tunnel_app, name="tunnel")


def _installed(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield Text(f"Installed cloudflared {data['version']} at {data['path']} (SHA-256 verified).",
               "green")
    if data.get("used") != data["path"]:
        yield Text(f"The daemon runs {data.get('used')} first (cloudflared_path or PATH); set "
                   f"cloudflared_path to {data['path']} to use this one.", "yellow")


@tunnel_app.command("install")
def tunnel_install(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Never ask (for scripts).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Download the pinned cloudflared release into the data dir (its SHA-256 checked)."""
    settings = settings_from(ctx)
    plan = tunnel.planned_release(settings)
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidRequest("cloudflared is downloaded only with your consent: pass --yes")
        if not typer.confirm(f"Download cloudflared {plan['version']} from {plan['url']} into "
                             f"{plan['path']}?", err=True):
            raise typer.Exit(1)
    emit(tunnel.install(settings), as_json, _installed)


def _tunnel_rows(state: Mapping[str, Any]) -> Iterator[RenderableType]:
    name = str(state.get("state"))
    good = name in ("connected", "idle")
    yield details([
        ("state", Text(name, "green" if good else "bold red")),
        ("connections", state.get("connections")),
        ("pid", state.get("pid")),
        ("since", state.get("since")),
        ("restarts", state.get("restarts")),
        ("next start in", None if state.get("retry_in") is None else f"{state['retry_in']} s"),
        ("last exit code", state.get("last_exit_code")),
        ("last error", state.get("last_error")),
        ("binary", state.get("binary")),
        ("version", state.get("version")),
    ])


@tunnel_app.command("status")
def tunnel_status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The daemon's cloudflared: state, connections, restarts, the last error."""
    with Client(settings_from(ctx), timeout=10.0) as client:
        health = client.health().model_dump(exclude_unset=True)
    emit(health.get("tunnel") or {}, as_json, _tunnel_rows)


# -- status, DMARC reports, name check (dmarc-rep) --------------------------------------------

_STATE_MARK = {"ok": ("✓", "green"), "cloudflare": ("✓", "green"), "wrong": ("✗", "bold red"),
               "missing": ("✗", "bold red"), "unknown": ("?", "yellow")}


def _percent(rate: object) -> str:
    return "-" if rate is None else f"{float(str(rate)) * 100:.1f}%"


def _brief(doc: object) -> str | None:
    """A live-state document on one line (its scalar fields)."""
    if not isinstance(doc, Mapping):
        return None
    parts = [f"{k}: {v}" for k, v in doc.items()
             if v is not None and not isinstance(v, Mapping | list)]
    return "; ".join(parts) or None


def _render_status(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    status = data.get("status") or {}
    yield Text(f"Domain {clean(status.get('domain'))}", style="bold")
    rows = []
    for record in status.get("records") or []:
        mark, style = _STATE_MARK.get(str(record.get("state")), ("?", "yellow"))
        rows.append((Text(mark, style=style), record.get("purpose"), record.get("type"),
                     record.get("name"), "\n".join(record.get("expected") or []),
                     "\n".join(record.get("found") or []) or "-", record.get("detail")))
    yield table(("", "record", "type", "name", "expected", "found", "detail"), rows)
    tunnel, worker = status.get("tunnel") or {}, status.get("worker") or {}
    inbound, outbound = status.get("inbound") or {}, status.get("outbound") or {}
    yield details([
        ("tunnel", (f"{tunnel.get('name') or tunnel.get('id')} → {tunnel.get('hostname')}"
                    if tunnel.get("id") else "not created")),
        ("tunnel state", _brief(tunnel.get("state")) or "not reported yet"),
        ("worker", f"{worker.get('name')} → {worker.get('inbound_url') or '(no hostname)'}"),
        ("worker secret", "set" if worker.get("secret_set") else "not set"),
        ("last inbound", _brief(inbound.get("last")) or "none yet"),
        ("DMARC reports to", inbound.get("rua_address")),
        ("outbound path", outbound.get("path")),
        ("last outbound", _brief(outbound.get("last")) or "none yet"),
    ])


@app.command()
def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Each DNS record expected vs found, the tunnel, the Worker, last inbound, outbound."""
    note("Looking up the domain's records in public DNS...")
    with Client(settings_from(ctx)) as client:
        data = client.get("/v1/domain/status")
    emit(data, as_json, _render_status)


def _render_report(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    dmarc = data.get("dmarc") or {}
    since = str(dmarc.get("since") or "")[:10]
    if not dmarc.get("reports"):
        yield Text(f"No DMARC aggregate reports since {since}.")
        return
    dkim, spf = dmarc.get("dkim") or {}, dmarc.get("spf") or {}
    yield details([
        ("since", since),
        ("reports", f"{dmarc.get('reports')} from "
                    f"{', '.join(clean(r.get('org_name')) for r in dmarc.get('reporters') or [])}"),
        ("messages", str(dmarc.get("messages"))),
        ("DMARC pass", f"{_percent(dmarc.get('pass_rate'))} ({dmarc.get('dmarc_pass')} pass, "
                       f"{dmarc.get('dmarc_fail')} fail)"),
        ("DKIM aligned", f"{_percent(dkim.get('pass_rate'))} ({dkim.get('aligned_pass')})"),
        ("SPF aligned", f"{_percent(spf.get('pass_rate'))} ({spf.get('aligned_pass')})"),
        ("aligned", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in
                              (dmarc.get("alignment") or {}).items())),
        ("dispositions", ", ".join(f"{k} {v}" for k, v in
                                   (dmarc.get("dispositions") or {}).items())),
    ])
    yield table(("source IP", "messages", "DMARC pass", "DKIM pass", "SPF pass", "reported by"),
                [(s.get("source_ip"), s.get("messages"), _percent(s.get("pass_rate")),
                  s.get("dkim_pass"), s.get("spf_pass"), s.get("reporters"))
                 for s in dmarc.get("sources") or []], title="By source")
    failing = dmarc.get("failing_sources") or []
    if failing:
        yield table(("source IP", "failed", "dispositions", "DKIM saw", "SPF saw"),
                    [(f.get("source_ip"), f.get("messages"),
                      ", ".join(f"{k} {v}" for k, v in (f.get("dispositions") or {}).items()),
                      f.get("dkim_seen") or "-", f.get("spf_seen") or "-") for f in failing],
                    title="Failing sources")


report_app = typer.Typer(no_args_is_help=False)
app.add_typer(report_app, name="report")

SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="A duration (7d, 24h, 2w) or an ISO 8601 time. Default: 30d.",
    show_default=False)]


@report_app.callback(invoke_without_command=True)
def report(ctx: typer.Context, since: SinceOpt = None, as_json: JsonFlag = False) -> None:
    """DMARC aggregate reports: pass rates by source IP and by SPF/DKIM, failing sources."""
    if ctx.invoked_subcommand is not None:
        return
    with Client(settings_from(ctx)) as client:
        data = client.get("/v1/domain/dmarc", since=since)
    emit(data, as_json, _render_report)


def _render_imported(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    imported = data.get("imported") or {}
    yield Text(f"Stored {imported.get('stored')} report(s); "
               f"{imported.get('duplicates')} already stored.")
    for report_ in imported.get("reports") or []:
        yield Text(f"  {clean(report_.get('org_name'))} {clean(report_.get('report_id'))}: "
                   f"{report_.get('messages')} messages for {clean(report_.get('domain'))}, "
                   f"{str(report_.get('begin'))[:10]} .. {str(report_.get('end'))[:10]}")
    for problem in imported.get("problems") or []:
        yield Text(f"  not read: {clean(problem)}", style="yellow")


@report_app.command("import")
def import_report(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, readable=True, resolve_path=True,
        help="A report mail (.eml) or the report file itself (.xml, .xml.gz, .zip).")],
    as_json: JsonFlag = False,
) -> None:
    """Store a DMARC aggregate report by hand (a report stored already is kept once)."""
    data = file.read_bytes()
    with Client(settings_from(ctx)) as client:
        answer = client.post("/v1/domain/dmarc", {
            "content": base64.b64encode(data).decode(), "filename": file.name[:255]})
    emit(answer, as_json, _render_imported)


def _render_check(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    found = data.get("check") or {}
    name = clean(found.get("name"))
    if not found.get("registered"):
        yield Text(f"{name} is not registered (its registry has no such name).",
                   style="bold green")
        return
    yield Text(f"{name} is registered.", style="bold")
    yield details([("registrar", found.get("registrar")),
                   ("status", ", ".join(found.get("status") or []) or None),
                   ("created", found.get("created")), ("expires", found.get("expires")),
                   ("name servers", ", ".join(found.get("nameservers") or []) or None)])


@app.command()
def check(ctx: typer.Context,
          name: Annotated[str, typer.Argument(help="A domain name, e.g. example.com.")],
          as_json: JsonFlag = False) -> None:
    """Whether a domain name is registered (asked of its registry by RDAP)."""
    with Client(settings_from(ctx)) as client:
        data = client.get("/v1/domain/check", name=name)
    emit(data, as_json, _render_check)


# -- setup and teardown --------------------------------------------------------------------
STEP_TIMEOUT = 180.0  # one step: a few Cloudflare calls (the Worker upload is the largest)
TOKEN_ENV = "CLOUDFLARE_API_TOKEN"
API_URL_ENV = "AGENTICMAIL_CLOUDFLARE_API_URL"  # a fake API in tests (read here, not by Typer:
# the wizard calls this command as a function)


def _token(token_file: Path | None, yes: bool, stored: bool) -> str | None:
    """The API token: --token-file, else $CLOUDFLARE_API_TOKEN, else the one the daemon keeps
    (a resumed setup), else asked for without echo. Never an argument on the command line."""
    if token_file is not None:
        try:
            token = token_file.expanduser().read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidRequest(f"cannot read --token-file {token_file}: "
                                 f"{getattr(exc, 'strerror', None) or exc}") from None
        if not token:
            raise InvalidRequest(f"--token-file {token_file} is empty")
        return token
    if os.environ.get(TOKEN_ENV, "").strip():
        return os.environ[TOKEN_ENV].strip()
    if stored:
        return None
    if yes:
        raise InvalidRequest(f"with --yes the token comes from --token-file or ${TOKEN_ENV}")
    answer: str = typer.prompt("Cloudflare API token", hide_input=True, err=True)
    return answer.strip() or None


def _show_step(index: int, total: int, run: Mapping[str, Any]) -> None:
    note(f"[{index}/{total}] {run['title']}", style="bold cyan")
    for change in run.get("changes") or []:
        note(f"  {change}", style="")
    if not run.get("changes"):
        note("  nothing to change", style="dim")


def _render_setup(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    config = data.get("domain") or {}
    changed = any(r.get("changed") for r in data.get("ran") or [])
    yield Text(f"Domain mode is set up for {config.get('domain')}"
               + ("." if changed else " (nothing changed)."), style="bold green")
    yield details([
        ("agents' addresses", f"AGENT@{config.get('domain')}"),
        ("inbound", config.get("inbound_url")),
        ("tunnel", f"{config.get('tunnel_name')} ({config.get('tunnel_id')})"),
        ("Worker", config.get("worker_name")),
        ("DKIM selector", config.get("dkim_selector")),
        ("DMARC reports to", config.get("rua_address")),
        ("DNS backup", config.get("backup_file")),
    ])
    if data.get("cloudflared"):
        yield Text(f"The daemon runs the tunnel with {data['cloudflared']}.", style="dim")
    else:
        yield Text("cloudflared is not installed: the tunnel starts once it is "
                   "(agenticmail domain tunnel install).", style="yellow")
    yield Text("Undo everything with: agenticmail domain teardown", style="dim")


class OutboundChoice(StrEnum):
    """How domain-mode mail leaves (services.domain_config.OutboundPath, as CLI choices)."""

    CLOUDFLARE = "cloudflare"
    SMARTHOST = "smarthost"
    DIRECT = "direct"


@app.command()
def setup(
    ctx: typer.Context,
    domain: Annotated[str | None, typer.Option(
        "--domain", help="Your domain, already a zone on your Cloudflare account.",
        show_default=False)] = None,
    token_file: Annotated[Path | None, typer.Option(
        "--token-file", metavar="FILE",
        help=f"A file holding the API token (else ${TOKEN_ENV}, else asked, hidden).")
    ] = None,
    hostname: Annotated[str | None, typer.Option(
        "--hostname", help="The tunnel's public hostname (default agenticmail.DOMAIN).",
        show_default=False)] = None,
    rua: Annotated[str | None, typer.Option(
        "--rua", metavar="ADDR", help="DMARC aggregate reports go here (default "
        "dmarc-reports@DOMAIN; the daemon reads them).", show_default=False)] = None,
    catch_all_agent: Annotated[str | None, typer.Option(
        "--catch-all-agent", metavar="AGENT", help="Gets mail for unknown local parts "
        "(default: such mail is refused).", show_default=False)] = None,
    outbound_path: Annotated[OutboundChoice | None, typer.Option(
        "--outbound", help="How mail leaves: cloudflare (Cloudflare's email sending), "
        "smarthost (the SMTP route, the default) or direct (to each recipient's MX: a static "
        "IP with reverse DNS); switch later with `agenticmail domain outbound`.",
        show_default=False)] = None,
    spf_ips: Annotated[list[str] | None, typer.Option(
        "--spf-ip", metavar="IP", help="This machine's public IP, authorised in SPF for "
        "direct delivery (repeat for several).", show_default=False)] = None,
    api_base_url: Annotated[str | None, typer.Option(
        "--api-base-url", hidden=True, help=f"Another Cloudflare API (tests); also "
        f"${API_URL_ENV}.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Never ask (for scripts).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Put your agents on your own domain through Cloudflare (resumable, idempotent).

    Needs an API token with four permissions: Zone DNS edit, Email Routing edit, Workers
    edit, Tunnel edit (docs/domain.md shows how to create it). It is checked before
    anything changes. Then, each step shown as it runs: the zone's DNS records are backed up
    to the data dir; a Cloudflare Tunnel is created that lets only the inbound endpoint
    through; Email Routing is enabled with MX, SPF, DKIM (a key made here) and DMARC; the
    Email Worker is deployed on the catch-all rule; every agent gets AGENT@DOMAIN. A failed
    run resumes where it stopped; `agenticmail domain teardown` undoes it all.
    """
    settings = settings_from(ctx)
    require_configured(settings)
    api_base_url = api_base_url or os.environ.get(API_URL_ENV) or None
    with Client(settings, timeout=STEP_TIMEOUT) as client:
        current = client.get("/v1/domain")
        saved = current.get("domain") or {}
        if domain is None and not saved:
            if yes:
                raise InvalidRequest("--domain is required")
            domain = typer.prompt("Your domain (a zone on Cloudflare)", err=True)
        stored = bool(saved.get("api_token_set")) and domain in (None, saved.get("domain"))
        body: dict[str, Any] = {
            "domain": domain, "token": _token(token_file, yes, stored), "hostname": hostname,
            "rua_address": rua, "catch_all_agent": catch_all_agent,
            "api_base_url": api_base_url, "spf_ips": spf_ips,
            "outbound": outbound_path.value if outbound_path else None}
        steps = current["steps"]
        ran: list[dict[str, Any]] = []
        data: dict[str, Any] = {}
        for index, step in enumerate(steps, 1):
            payload = ({k: v for k, v in body.items() if v is not None} if index == 1
                       else {})
            data = client.post("/v1/domain/setup", {**payload, "step": step["step"]})
            for run in data["ran"]:
                if not as_json:
                    _show_step(index, len(steps), run)
                ran.append(run)
    found = tunnel.binary(settings)
    emit({**data, "ran": ran, "cloudflared": None if found is None else str(found)}, as_json,
         _render_setup)


def _render_teardown(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    if not data.get("ran"):
        yield Text("Domain mode is not set up: nothing to undo.")
        return
    yield Text("Domain mode removed: the DNS records it replaced are restored.",
               style="bold green")


@app.command()
def teardown(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")
                   ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Undo domain setup, in reverse order (resumable, idempotent).

    Unbinds the catch-all rule and deletes the Email Worker, removes the mail records setup
    added (and turns Email Routing off if it was off before), deletes the tunnel and its
    hostname, then restores the DNS records setup replaced, from its backup. Agents keep
    their mailboxes; mail to AGENT@DOMAIN stops arriving.
    """
    settings = settings_from(ctx)
    require_configured(settings)
    with Client(settings, timeout=STEP_TIMEOUT) as client:
        current = client.get("/v1/domain")
        config = current.get("domain")
        if config is None:
            data: dict[str, Any] = {"ran": [], "domain": None, "remaining": [], "done": True}
            emit(data, as_json, _render_teardown)
            return
        if not yes and not typer.confirm(
                f"Remove domain mode from {config['domain']}? Agents stop receiving mail "
                "there.", err=True):
            raise typer.Exit(1)
        ran: list[dict[str, Any]] = []
        data = {}
        order = current["teardown"]
        for index, step in enumerate(order, 1):
            data = client.post("/v1/domain/teardown", {"step": step})
            for run in data["ran"]:
                if not as_json:
                    _show_step(index, len(order), run)
                ran.append(run)
    emit({**data, "ran": ran}, as_json, _render_teardown)


# -- how mail leaves (the outbound path) ------------------------------------------------------
def _render_outbound(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    if not data.get("domain"):
        yield Text("Domain mode is not set up: agenticmail domain setup --domain DOMAIN")
        return
    last = data.get("last") or {}
    yield details([
        ("domain", data.get("domain")),
        ("active", "yes" if data.get("active") else "no (gateway_mode is not domain)"),
        ("outbound path", data.get("path")),
        ("DKIM", f"selector {data.get('dkim_selector')}, "
                 + ("key stored (encrypted)" if data.get("dkim_key") else "no key")),
        ("last attempt", "none yet" if not last else
         f"{last.get('at')} by {last.get('path')}: "
         + ("ok" if last.get("ok") else f"failed: {last.get('error')}")),
    ])


@app.command()
def outbound(
    ctx: typer.Context,
    path: Annotated[
        OutboundChoice | None,
        typer.Argument(case_sensitive=False, show_default=False,
                       help="Switch to: cloudflare (Cloudflare's email sending), smarthost "
                            "(the SMTP route) or direct (each recipient's MX). Omit to show."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show or switch how domain-mode mail leaves (DKIM-signed here by smarthost or direct)."""
    with Client(settings_from(ctx)) as client:
        data = (client.get("/v1/domain/outbound") if path is None else
                client.request("PUT", "/v1/domain/outbound", json_body={"path": path.value}))
    emit(data, as_json, _render_outbound)
