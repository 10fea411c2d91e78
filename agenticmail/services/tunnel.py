"""Domain mode's tunnel: what the daemon's tunnel runner starts, the live state it records,
and installing ``cloudflared`` (``agenticmail domain tunnel install``, the wizard).

While domain mode has a tunnel token (:mod:`.domain_config`), the daemon runs
``cloudflared`` as its child (``daemon/tunnel.py``) and records its state under
``TUNNEL_STATE_KEY``: ``{state, connections, pid, restarts, last_error, last_exit_code,
since, binary, version, retry_in}``. ``state`` is one of the names below.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import AgenticMailError
from ..processes import cmdline, pid_alive
from ..providers import cloudflared
from . import domain_config
from .context import ServiceContext

log = logging.getLogger(__name__)

IDLE = "idle"  # no domain mode (or no tunnel in it): nothing to run
STARTING = "starting"  # started, no connection to Cloudflare yet
CONNECTED = "connected"  # at least one connection registered
DISCONNECTED = "disconnected"  # running, every connection lost (it reconnects by itself)
RESTARTING = "restarting"  # exited; started again after ``retry_in`` seconds
NOT_INSTALLED = "not_installed"  # no cloudflared binary
FAILED = "failed"  # cannot be started (e.g. the token cannot be read); tried again
STOPPED = "stopped"  # the daemon stopped

INSTALL_HINT = cloudflared.INSTALL_HINT
LogEvent = cloudflared.LogEvent
parse_line = cloudflared.parse_line


@dataclass(frozen=True)
class Launch:
    """How to start the tunnel: ``argv`` (no secret in it) and ``env`` (with the token)."""

    argv: list[str]
    env: dict[str, str] = field(repr=False)
    token: str = field(repr=False)
    binary: str
    version: str | None


def wanted_token(ctx: ServiceContext) -> str | None:
    """The tunnel token domain mode wants run, or None (no domain mode, no tunnel, or a
    token that cannot be read: :func:`launch` says why)."""
    config = domain_config.load(ctx)
    if config is None or not config.tunnel_token_enc:
        return None
    try:
        return domain_config.secret(ctx, config.tunnel_token_enc)
    except AgenticMailError:
        return None


def launch(ctx: ServiceContext) -> Launch | None:
    """What to start now, or None when domain mode wants no tunnel. Raises
    DependencyMissing when there is no cloudflared binary."""
    config = domain_config.load(ctx)
    if config is None or not config.tunnel_token_enc:
        return None
    token = domain_config.secret(ctx, config.tunnel_token_enc)
    if not token:
        return None
    binary = cloudflared.find(ctx.settings)
    if binary is None:
        raise cloudflared.not_found(ctx.settings)
    return Launch(argv=cloudflared.run_arguments(binary), env=cloudflared.run_environment(token),
                  token=token, binary=str(binary), version=cloudflared.version(binary))


def record(ctx: ServiceContext, state: dict[str, Any]) -> None:
    """Write the runner's live state (``TUNNEL_STATE_KEY``)."""
    domain_config.write_state(ctx, domain_config.TUNNEL_STATE_KEY, state)


def running_pid(state: dict[str, Any] | None) -> int | None:
    """The pid a recorded state names if that process still runs cloudflared, else None (a
    daemon killed without its cleanup leaves a stale state behind)."""
    pid = (state or {}).get("pid")
    if not isinstance(pid, int) or pid <= 0 or not pid_alive(pid):
        return None
    return pid if "cloudflared" in cmdline(pid) else None


def current(ctx: ServiceContext) -> dict[str, Any] | None:
    """The recorded state, corrected when the process it names is gone (None: never run)."""
    state = domain_config.read_state(ctx, domain_config.TUNNEL_STATE_KEY)
    if state is None:
        return None
    if state.get("pid") and running_pid(state) is None:
        state = {**state, "state": STOPPED, "pid": None, "connections": 0}
    return state


def binary(settings: Settings) -> Path | None:
    """The cloudflared the daemon would run (None: not installed)."""
    return cloudflared.find(settings)


def cloudflared_missing(settings: Settings) -> AgenticMailError:
    """The error for a missing binary (where it was looked for, how to install it)."""
    return cloudflared.not_found(settings)


def install(settings: Settings) -> dict[str, Any]:
    """Download the pinned cloudflared release into the data dir (checksum verified):
    ``{path, version, sha256, url, used}`` (``used``: the binary the daemon runs, which may
    be another one: the ``cloudflared_path`` setting or one on ``PATH`` comes first)."""
    done = cloudflared.install(settings)
    log.info("installed cloudflared %s at %s", done.version, done.path)
    used = cloudflared.find(settings)
    return {"path": str(done.path), "version": done.version, "sha256": done.sha256,
            "url": done.url, "used": None if used is None else str(used)}


def planned_release(settings: Settings) -> dict[str, str]:
    """What :func:`install` would download: ``{version, url, sha256, path}``."""
    version, url, sha256 = cloudflared.release(settings)
    return {"version": version, "url": url, "sha256": sha256,
            "path": str(cloudflared.installed_path(settings))}
