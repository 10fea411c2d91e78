"""``doctor``'s checks of the daemon at work: the outbound route and relay logins, SMTP
submission, every watcher, the outbox, the audit chain, webhook endpoints and domain mode's
tunnel.

Each check returns :class:`~.checks.Check` rows with a fix hint. The ones that read the
database are listed in ``STORE_CHECKS``, run in order with the doctor's context: a feature
that brings its own health check (the search index, issue 13) adds its function there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import AgenticMailError
from ..gateway.relay_account import check_imap_login
from ..mail.smtp import SmtpRoute, check_login
from . import audit, domain_config, metrics, relay_gateway, routes, tunnel
from .agents import list_agents
from .checks import Check
from .context import ServiceContext
from .sessions import credentials

LOGIN_TIMEOUT = 10.0
LOG_HINT = "its log says why: logs/agenticmail.log"


def _smtp_login(route: SmtpRoute) -> str:
    return asyncio.run(check_login(route, LOGIN_TIMEOUT))


def route_checks(ctx: ServiceContext) -> list[Check]:
    """The outbound route's SMTP login and, with a relay account, its IMAP login (nothing
    when neither is configured)."""
    checks = []
    try:  # an OAuth2 route renews its token here: SignInRequired when the grant is gone
        route = routes.get_route(ctx)
    except AgenticMailError as exc:
        checks.append(Check("outbound route", False, exc.message, exc.hint or
                            "check it with: agenticmail route show"))
        route = None
    if route is not None:
        try:
            checks.append(Check("outbound route", True, _smtp_login(route)))
        except AgenticMailError as exc:
            checks.append(Check("outbound route", False, exc.message, exc.hint or
                                "check it with: agenticmail route show; set it again with: "
                                "agenticmail route set"))
    account = relay_gateway.get_account(ctx)
    if account is not None:
        where = f"{account.imap_host}:{account.imap_port}"
        try:
            account, _ = relay_gateway.signed_in(ctx, account)
            idle = check_imap_login(account, timeout=LOGIN_TIMEOUT)
            checks.append(Check("relay IMAP login", True,
                                f"logged in to {where} as {account.username}"
                                + ("" if idle else " (no IDLE: polled)")))
        except AgenticMailError as exc:
            checks.append(Check("relay IMAP login", False, exc.message, exc.hint or
                                "check the relay account: agenticmail relay status"))
    return checks


def submission_check(ctx: ServiceContext) -> Check:
    """A real login to the daemon's SMTP submission as the first agent (nothing is sent);
    with no agent yet, a greeting (EHLO) only."""
    agents = list_agents(ctx)
    login = credentials(ctx, agents[0]) if agents else None
    route = SmtpRoute(host="127.0.0.1", port=ctx.settings.submission_port, tls="none",
                      username=login.username if login else None,
                      password=login.password if login else None, address="")
    try:
        return Check("SMTP submission", True, _smtp_login(route))
    except AgenticMailError as exc:
        return Check("SMTP submission", False, exc.message,
                     "the daemon serves it (component submission); restart the daemon: "
                     f"agenticmail stop && agenticmail start --detach; {LOG_HINT}")


def watcher_checks(ctx: ServiceContext, health: Mapping[str, Any]) -> list[Check]:
    """One row per agent: its IDLE watcher is connected (from the daemon's health report)."""
    watchers = health.get("watchers")
    if not isinstance(watchers, Mapping):
        return []
    checks = []
    for agent in list_agents(ctx):
        state = watchers.get(agent.name)
        if not isinstance(state, Mapping):
            checks.append(Check(f"watcher {agent.name}", False, "no watcher runs for it",
                                f"restart the daemon: agenticmail stop && agenticmail start "
                                f"--detach; {LOG_HINT}"))
            continue
        ok = bool(state.get("connected"))
        detail = f"{'connected' if ok else 'not connected'}, {state.get('reconnects', 0)} " \
                 "reconnects"
        if not ok and state.get("last_error"):
            detail += f"; last error: {state['last_error']}"
        checks.append(Check(f"watcher {agent.name}", ok, detail, None if ok else
                            "it reconnects by itself with backoff; if its login fails: "
                            f"agenticmail doctor --repair; {LOG_HINT}"))
    return checks


def outbox_check(ctx: ServiceContext) -> list[Check]:
    """Sends stuck in the queue: due more than ``outbox_stuck_minutes`` ago and still
    queued (the sender takes a due row at once while the daemon runs)."""
    queue = metrics.collect_figures(ctx).outbox
    waiting = f"{queue.depth.get('queued', 0)} queued, {queue.depth.get('sending', 0)} sending"
    if not queue.overdue:
        return [Check("outbox", True, waiting)]
    late = "" if queue.oldest_overdue_due is None else \
        f" (the oldest was due {round((time.time() - queue.oldest_overdue_due) / 60)} min ago)"
    return [Check("outbox", False,
                  f"{queue.overdue} queued send(s) more than {ctx.settings.outbox_stuck_minutes}"
                  f" min past their due time{late}; {waiting}",
                  "the daemon's sender delivers due mail at once: is it running (agenticmail "
                  "status)? see the rows: agenticmail outbox list --status queued; "
                  + LOG_HINT)]


def audit_check(ctx: ServiceContext) -> list[Check]:
    """The audit log's hash chain is intact."""
    result = audit.verify(ctx)
    if result.ok:
        return [Check("audit chain", True, f"intact: {result.checked} entries")]
    more = f" (+{len(result.problems) - 1} more)" if len(result.problems) > 1 else ""
    return [Check("audit chain", False, f"broken: {result.problems[0]}{more}",
                  "a row was changed outside agenticmail; see every problem: agenticmail "
                  "audit verify; keep a copy of the database as evidence")]


def webhook_check(ctx: ServiceContext) -> list[Check]:
    """Webhook endpoints whose recent deliveries all failed (when webhooks are installed:
    read from ``webhook_deliveries``; nothing before)."""
    hooks = metrics.collect_figures(ctx).webhooks
    if hooks is None:
        return []
    if not hooks.failing_endpoints:
        return [Check("webhook endpoints", True, "none failing")]
    return [Check("webhook endpoints", False,
                  f"failing: {', '.join(hooks.failing_endpoints)} (the last deliveries to "
                  "each failed)",
                  "see the deliveries: agenticmail webhooks deliveries ID; fix the receiver, "
                  "then replay them, or disable the endpoint")]


def tunnel_check(ctx: ServiceContext) -> list[Check]:
    """Domain mode's tunnel: cloudflared installed, and connected as the daemon last recorded
    it (nothing without a tunnel in domain mode)."""
    config = domain_config.load(ctx)
    if config is None or not config.tunnel_token_enc:
        return []
    binary = tunnel.binary(ctx.settings)
    if binary is None:
        missing = tunnel.cloudflared_missing(ctx.settings)
        return [Check("tunnel", False, missing.message, missing.hint)]
    state = tunnel.current(ctx) or {"state": "never started"}
    if state.get("state") == tunnel.CONNECTED:
        return [Check("tunnel", True, f"connected: {state.get('connections')} connection(s) to "
                      f"Cloudflare (cloudflared {state.get('version') or '?'}, pid "
                      f"{state.get('pid')})")]
    detail = f"cloudflared is {state.get('state')}, not connected"
    if state.get("last_error"):
        detail += f"; last error: {state['last_error']}"
    if state.get("last_exit_code") is not None:
        detail += f"; last exit code {state['last_exit_code']}"
    return [Check("tunnel", False, detail,
                  "the daemon runs cloudflared and restarts it with backoff: is the daemon "
                  "running (agenticmail status)? see agenticmail domain tunnel status; a "
                  "token Cloudflare refuses needs agenticmail domain setup again; " + LOG_HINT)]


StoreCheck = Callable[[ServiceContext], Iterable[Check]]

# Checks of what the database holds, run by doctor in this order. Add a feature's own check
# here (the search index's, once it is merged).
STORE_CHECKS: tuple[StoreCheck, ...] = (outbox_check, audit_check, webhook_check,
                                        tunnel_check)


def store_checks(ctx: ServiceContext) -> list[Check]:
    checks: list[Check] = []
    for check in STORE_CHECKS:
        try:
            checks.extend(check(ctx))
        except AgenticMailError as exc:  # one check failing must not hide the others
            checks.append(Check(check.__name__.removesuffix("_check"), False, exc.message,
                                exc.hint))
    return checks
