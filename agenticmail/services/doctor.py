"""``agenticmail doctor``: is everything in place and working? Each check has a fix hint."""

from __future__ import annotations

import httpx

from ..config import Settings
from ..errors import AgenticMailError
from ..hosts import build_host
from ..mail.imap import MailboxSession
from .agents import credentials, list_agents
from .checks import Check, dovecot_check, port_checks, python_check
from .context import build_context


def _daemon_health(settings: Settings) -> dict[str, object] | None:
    try:
        response = httpx.get(f"{settings.api_url}/v1/health", timeout=3)
        data: dict[str, object] = response.json()
        return data
    except (httpx.HTTPError, ValueError):
        return None


def run_checks(settings: Settings) -> list[Check]:
    checks = [python_check(), dovecot_check()]
    if not settings.is_configured:
        checks.append(Check("config", False, f"no configuration at {settings.config_path}",
                            "run: agenticmail setup"))
        return checks
    checks.append(Check("config", True, str(settings.config_path)))
    health = _daemon_health(settings)
    if health is None:
        checks.append(Check("daemon", False, f"not answering at {settings.api_url}",
                            "start it with: agenticmail start --detach"))
        checks.extend(port_checks(settings))
    else:
        checks.append(Check("daemon", True, f"running at {settings.api_url} "
                                            f"(pid {health.get('pid')})"))
    host = build_host(settings)
    status = host.health()
    checks.append(Check(
        f"mail host ({host.kind})", status.ok, status.detail,
        None if status.ok else "the daemon starts the mail host: agenticmail start --detach; "
                               f"see {settings.logs_dir}",
    ))
    if not status.ok:
        return checks
    ctx = build_context(settings, host=host)
    try:
        for agent in list_agents(ctx):
            try:
                with MailboxSession.open(host.endpoints(), credentials(ctx, agent), timeout=5):
                    pass
                checks.append(Check(f"agent {agent.name}", True, f"IMAP login as {agent.address}"))
            except AgenticMailError as exc:
                checks.append(Check(f"agent {agent.name}", False, str(exc),
                                    "the mailbox account and the database disagree; "
                                    "delete and recreate the agent"))
    finally:
        ctx.db.close()
    return checks
