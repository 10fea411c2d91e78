"""``agenticmail start | stop | status | doctor``: the daemon's lifecycle and health.

``start`` runs the daemon in the foreground (``daemon.run.serve``) or, with ``--detach``, as a
detached child, then waits for ``/v1/health``. The detached daemon logs to
``<home>/logs/agenticmail.log`` only; its own output (a failed start's error, a crash) goes to
``<home>/logs/daemon.out``.
``stop`` signals the pid the daemon wrote to ``daemon.pid`` and waits for it to be gone.
``status`` shows the health report as a dashboard (with the master key also the figures
``/metrics`` exposes: messages by agent, the outbox queue, filter verdicts, webhook deliveries,
API requests by route); ``--watch`` refreshes it until Ctrl-C. ``doctor`` runs local checks
and works without a daemon.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from ..config import LogFormat, Settings
from ..errors import AgenticMailError, DaemonUnavailable, InvalidRequest
from ..log import open_private
from ..processes import pid_alive, poll_until
from .client import Client
from .output import (
    JsonFlag,
    check_dict,
    checks_table,
    details,
    emit,
    human_duration,
    note,
    stderr,
    stdout,
    table,
)
from .state import require_configured, settings_from

app = typer.Typer()
PANEL = "Setup and daemon"
LOG_TAIL_LINES = 25
POLL_SECONDS = 0.2
LOG_FILE_ONLY = "--log-file-only"  # how start --detach runs the daemon (see _start_detached)


def probe(settings: Settings, timeout: float = 2.0) -> dict[str, Any] | None:
    """The daemon's health report, or ``None`` if nothing answers at ``settings.api_url``.

    With the master key when one is configured: without a key the report is up/down only."""
    try:
        with Client(settings, auth=settings.is_configured, timeout=timeout) as client:
            return client.health().model_dump(exclude_unset=True)
    except DaemonUnavailable:
        return None


def _doctor_health(settings: Settings) -> dict[str, Any] | None:
    """The health report for ``doctor``: None when nothing answers; a daemon that answers with
    an error (e.g. it refuses the configured key) is up, with no report."""
    try:
        return probe(settings, timeout=3)
    except AgenticMailError:
        return {}


def _is_agenticmail(pid: int) -> bool:
    """Guard against a stale pid file naming a pid that now belongs to another program."""
    try:
        return b"agenticmail" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the pid file


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _log_tail(path: Path, start: int) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(start)
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-LOG_TAIL_LINES:])


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _start_detached(settings: Settings, timeout: float, *, quiet: bool = False) -> None:
    settings.logs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_path = settings.logs_dir / "daemon.out"
    offset = log_path.stat().st_size if log_path.exists() else 0
    command = [sys.executable, "-m", "agenticmail", "--home", str(settings.home), "start",
               LOG_FILE_ONLY,  # daemon.out keeps only what is not in logs/agenticmail.log
               "--log-format", str(settings.log_format)]
    with open_private(log_path) as log:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + timeout
    failure: str | None = None
    health: dict[str, Any] | None = None
    with stderr().status(f"Starting the agenticmail daemon at {settings.api_url}…"):
        while health is None and failure is None:
            code = proc.poll()
            if code is not None:
                failure = f"the daemon exited with status {code} while starting"
            elif (health := probe(settings, timeout=1.0)) is None:
                if time.monotonic() > deadline:
                    _terminate(proc)
                    failure = f"the daemon did not answer within {timeout:g}s (stopped it)"
                else:
                    time.sleep(POLL_SECONDS)
    if failure is not None:
        tail = _log_tail(log_path, offset)
        if tail:
            stderr().print(Text(tail, style="dim"))
        raise AgenticMailError(
            failure, hint=f"output: {log_path}; log: {settings.logs_dir / 'agenticmail.log'}")
    assert health is not None
    if quiet:  # the caller reports (e.g. the setup wizard's summary)
        return
    pid = health.get("pid", proc.pid)
    stdout().print(
        Text.assemble(
            ("agenticmail daemon running at ", "green"),
            (settings.api_url, "bold"),
            f" (pid {pid})",
        )
    )
    note(f"log: {log_path}")


@app.command(rich_help_panel=PANEL)
def start(
    ctx: typer.Context,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Run in the background and return.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=1, help="With --detach: seconds to wait for it to answer."),
    ] = 30.0,
    log_file_only: Annotated[
        bool, typer.Option(LOG_FILE_ONLY, hidden=True, help="Log to the log file only.")
    ] = False,
    log_format: Annotated[
        LogFormat | None,
        typer.Option("--log-format", help="Log as text or JSON lines (default: the "
                                          "log_format setting, text)."),
    ] = None,
) -> None:
    """Start the daemon (foreground, or in the background with --detach)."""
    settings = settings_from(ctx)
    require_configured(settings)
    if log_format is not None:
        settings = dataclasses.replace(settings, log_format=log_format)
    running = probe(settings)
    if running is not None:
        pid = running.get("pid")
        stdout().print(
            f"agenticmail daemon is already running at {settings.api_url}"
            + (f" (pid {pid})" if pid else "")
        )
        return
    if detach:
        _start_detached(settings, timeout)
        return
    from ..daemon.run import serve  # the composition root; imported only here

    serve(settings, console_log=not log_file_only)


@app.command(rich_help_panel=PANEL)
def stop(
    ctx: typer.Context,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for it to exit.")
    ] = 15.0,
) -> None:
    """Stop the background daemon (SIGTERM, then wait for it to exit)."""
    settings = settings_from(ctx)
    health = probe(settings)
    pid = _read_pid(settings.pid_path)
    if health is not None and isinstance(health.get("pid"), int):
        pid = health["pid"]
    if pid is None or not pid_alive(pid) or (health is None and not _is_agenticmail(pid)):
        if health is not None:
            raise AgenticMailError(
                f"a daemon answers at {settings.api_url} but its pid is unknown",
                hint=f"the daemon should write its pid to {settings.pid_path}",
            )
        stdout().print("agenticmail daemon is not running")
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        stdout().print("agenticmail daemon is not running")
        return
    except PermissionError:
        raise AgenticMailError(f"not allowed to stop the daemon (pid {pid})") from None
    def stopped() -> bool:
        return not pid_alive(pid) and probe(settings, timeout=1.0) is None

    with stderr().status(f"Stopping the agenticmail daemon (pid {pid})…"):
        if not poll_until(stopped, timeout, interval=POLL_SECONDS):
            raise AgenticMailError(
                f"the daemon (pid {pid}) did not stop within {timeout:g}s",
                hint=f"force it: kill -9 {pid}",
            )
    stdout().print(f"stopped the agenticmail daemon (pid {pid})")


# -- status ------------------------------------------------------------------------------
_SHOWN = {"url", "api_url", "version", "pid", "uptime_seconds", "status", "ok", "mail_host"}
_SHOWN |= {"agents", "watchers", "submission", "components", "host_restarts", "storage",
           "policy_problems", "figures", "tunnel"}
MESSAGE_COLUMNS = ("received", "sent", "held", "failed", "bounced")


def _summary(value: Any) -> str:
    """One line for a nested health value: counts for lists, ``k=v`` pairs for objects."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_summary(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return str(len(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def _healthy(health: Mapping[str, Any]) -> bool:
    status = str(health.get("status", "ok")).lower()
    return health.get("ok") is not False and status in ("ok", "healthy", "running", "up")


def _as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _status_rows(data: Mapping[str, Any]) -> list[tuple[str, object]]:
    host = _as_map(data.get("mail_host"))
    host_ok = host.get("ok")
    host_line = " · ".join(
        str(part)
        for part in (
            host.get("kind"),
            None if host_ok is None else ("healthy" if host_ok else "UNHEALTHY"),
            host.get("detail"),
        )
        if part
    )
    watchers = data.get("watchers")
    if isinstance(watchers, Mapping):
        up = sum(1 for w in watchers.values() if _as_map(w).get("connected"))
        parked = sum(1 for w in watchers.values() if _as_map(w).get("parked"))
        watcher_line: object = f"{up} of {len(watchers)} connected" + (
            f" ({parked} parked: quiet, session closed)" if parked else "")
    else:
        watcher_line = None if watchers is None else _summary(watchers)
    submission = _as_map(data.get("submission"))
    uptime = data.get("uptime_seconds")
    return [
        ("daemon", Text("running", "green") if _healthy(data) else Text("degraded", "bold red")),
        ("url", data.get("api_url") or data.get("url")),
        ("version", data.get("version")),
        ("pid", data.get("pid")),
        ("uptime", None if uptime is None else human_duration(uptime)),
        ("mail host", host_line or None),
        ("agents", None if data.get("agents") is None else _summary(data["agents"])),
        ("watchers", watcher_line),
        ("components", _components_line(data.get("components"))),
        ("SMTP submission", submission and f"{submission.get('host')}:{submission.get('port')}"),
        ("storage", _storage_line(data.get("storage"))),
        ("policies", _policies_line(data.get("policy_problems"))),
        ("tunnel", _tunnel_line(data.get("tunnel"))),
        *((k.replace("_", " "), _summary(v)) for k, v in data.items() if k not in _SHOWN),
    ]


def _policies_line(problems: Any) -> object:
    """Per-sender policy files that cannot be used (the last good policy holds), in red."""
    if not isinstance(problems, list):
        return None
    if not problems:
        return "ok"
    return Text("; ".join(f"{_as_map(p).get('agent')}: {_as_map(p).get('error')}"
                          for p in problems), "bold red")


def _tunnel_line(state: Any) -> object:
    """Domain mode's cloudflared: ``connected · 4 connections``, or its state and last error
    in red; nothing without domain mode."""
    if not isinstance(state, Mapping) or state.get("state") in (None, "idle"):
        return None
    name = str(state["state"])
    if name == "connected":
        return f"connected · {state.get('connections')} connections"
    return Text(" · ".join(str(p) for p in (name, state.get("last_error")) if p), "bold red")


def _storage_line(storage: Any) -> object:
    """The database's state: ``ok · writable``, or what is wrong in red."""
    if not isinstance(storage, Mapping):
        return None
    detail = storage.get("detail") or ""
    if storage.get("ok") is False:
        return Text(" · ".join(p for p in ("PROBLEM", str(detail)) if p), "bold red")
    return " · ".join(p for p in ("ok", str(detail)) if p)


def _components_line(components: Any) -> str | None:
    if not isinstance(components, Mapping):
        return None
    down = [name for name, c in components.items() if _as_map(c).get("state") != "running"]
    if not down:
        return f"all {len(components)} running"
    return f"{len(components) - len(down)} of {len(components)} running; not running: " \
        + ", ".join(down)


def _render_status(data: dict[str, Any]) -> Iterator[RenderableType]:
    yield details(_status_rows(data))
    components = _as_map(data.get("components"))
    if components:
        yield table(
            ["component", "state", "restarts", "last error"],
            [(name, Text(str(_as_map(c).get("state")),
                         "green" if _as_map(c).get("state") == "running" else "bold red"),
              _as_map(c).get("restarts"), _as_map(c).get("last_error") or "")
             for name, c in components.items()],
        )
    checks = _as_map(_as_map(data.get("mail_host")).get("checks"))
    if checks:
        yield table(["mail host check", "result"], checks.items())
    watchers = _as_map(data.get("watchers"))
    if watchers:
        yield table(
            ["watcher", "connected", "reconnects", "last error"],
            [
                (
                    name,
                    Text("✓", "green") if _as_map(w).get("connected") else Text("✗", "bold red"),
                    _as_map(w).get("reconnects"),
                    _as_map(w).get("last_error") or "",
                )
                for name, w in watchers.items()
            ],
        )
    yield from _render_figures(_as_map(data.get("figures")))


def _render_figures(figures: Mapping[str, Any]) -> Iterator[RenderableType]:
    """The figures ``/metrics`` exposes, for people (the master key's health report)."""
    messages = _as_map(figures.get("messages"))
    if messages:
        yield table(["agent", *MESSAGE_COLUMNS],
                    [(agent, *(_as_map(n).get(c, 0) for c in MESSAGE_COLUMNS))
                     for agent, n in messages.items()])
    outbox = _as_map(figures.get("outbox"))
    if outbox:
        oldest = outbox.get("oldest_age_seconds")
        overdue = outbox.get("overdue") or 0
        yield details([
            ("outbox", f"{outbox.get('queued', 0)} queued, {outbox.get('sending', 0)} sending"
                       + ("" if oldest is None else f"; oldest {human_duration(oldest)}")),
            ("overdue", Text(f"{overdue} past their due time", "bold red") if overdue
             else None),
        ])
    verdicts = _as_map(figures.get("filter"))
    if verdicts:
        yield table(["filter verdict", "messages"], verdicts.items())
    hooks = _as_map(figures.get("webhooks"))
    if hooks:
        outcomes = _as_map(hooks.get("by_outcome"))
        yield details([("webhooks", ", ".join(f"{n} {o}" for o, n in outcomes.items())
                        or "no deliveries yet"),
                       ("webhook response", None if hooks.get("mean_ms") is None
                        else f"{hooks['mean_ms']} ms on average")])
    api = _as_map(figures.get("api"))
    if api:
        yield table(["API route", "requests", "mean ms"],
                    [(route, _as_map(r).get("requests"), _as_map(r).get("mean_ms"))
                     for route, r in api.items()])


def _status_report(settings: Settings) -> dict[str, Any]:
    with Client(settings, auth=settings.is_configured, timeout=5.0) as client:
        health = client.health().model_dump(exclude_unset=True)
    return {"url": settings.api_url, **health}


def _watch(settings: Settings, interval: float) -> None:
    """Redraw the dashboard every ``interval`` seconds until Ctrl-C (a daemon that stops
    answering is shown as such, and watched on)."""
    from rich.console import Group
    from rich.live import Live

    def frame() -> RenderableType:
        try:
            data = _status_report(settings)
        except AgenticMailError as exc:
            return Text(f"{exc.message} (retrying every {interval:g} s; Ctrl-C to stop)",
                        "bold red")
        return Group(*_render_status(data),
                     Text(f"refreshed every {interval:g} s; Ctrl-C to stop", "dim"))

    try:
        with Live(frame(), console=stdout(), auto_refresh=False) as live:
            while True:
                time.sleep(interval)
                live.update(frame(), refresh=True)
    except KeyboardInterrupt:
        return


@app.command(rich_help_panel=PANEL)
def status(
    ctx: typer.Context,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option(
        "--interval", min=0.2, help="Seconds between refreshes with --watch.")] = 2.0,
    as_json: JsonFlag = False,
) -> None:
    """Show whether the daemon runs, its version, uptime, mail host and agents, and what it
    counts (messages by agent, outbox, filter verdicts, API requests)."""
    settings = settings_from(ctx)
    if watch:
        if as_json:
            raise InvalidRequest("--watch is for people; for scripts, run status --json "
                                   "(or scrape GET /metrics)")
        _watch(settings, interval)
        return
    data = _status_report(settings)
    emit(data, as_json, _render_status)
    if not _healthy(data):
        raise typer.Exit(1)


def _doctor_render(d: dict[str, Any]) -> Iterator[RenderableType]:
    checks = d["checks"]
    failed = [c for c in checks if not c["ok"]]
    for line in d.get("repaired") or []:
        yield Text(f"repaired: {line}", style="green")
    yield checks_table(checks)
    if failed:
        yield Text(f"{len(failed)} of {len(checks)} checks failed", style="bold red")
    else:
        yield Text(f"all {len(checks)} checks passed", style="green")
    if d.get("drift"):
        yield Text("The mail host and the agents disagree; fix with: agenticmail doctor "
                   "--repair", style="yellow")


@app.command(rich_help_panel=PANEL)
def doctor(
    ctx: typer.Context,
    repair: Annotated[
        bool, typer.Option("--repair", help="Fix drift between mailboxes and agents.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check the installation (mail host, ports, daemon, mailboxes) and say how to fix it.

    Finds drift (a mailbox no agent uses, an agent whose mailbox is missing or whose password
    no longer logs in) and offers to repair it; --repair does so without asking.
    """
    from rich.prompt import Confirm

    from ..services.doctor import diagnose, repair_all  # works without a daemon

    settings = settings_from(ctx)
    diagnosis = diagnose(settings, _doctor_health)
    repaired: list[str] = []
    if diagnosis.drift and not repair and not as_json and sys.stdin.isatty():
        for item in diagnosis.drift:
            stderr().print(Text(f"  {item.problem}: will {item.fix}"))
        repair = Confirm.ask(f"Repair {len(diagnosis.drift)} problem(s)?", default=False,
                             console=stderr())
    if diagnosis.drift and repair:
        repaired = repair_all(settings, diagnosis.drift)
        diagnosis = diagnose(settings, _doctor_health)
    checks = [check_dict(c) for c in diagnosis.checks]
    data = {"ok": diagnosis.ok, "checks": checks,
            "drift": [d.to_dict() for d in diagnosis.drift], "repaired": repaired}
    emit(data, as_json, _doctor_render)
    if not diagnosis.ok:
        raise typer.Exit(1)
