"""``agenticmail doctor``: is everything in place and working? Each check has a fix hint.

Checks: Python; the configuration; the database (damaged? disk full?); the daemon; the mail
host (local: Dovecot installed and running; stalwart: Docker engine, container state, the
pinned version tag, ``/healthz/ready``, the admin login, DKIM keys); then each agent's IMAP
login; then the daemon at work (:mod:`.operations_checks`): SMTP submission, every watcher,
the outbound route and relay logins, stuck outbox rows, the audit chain, webhook endpoints.

Drift between the mail host and the database is found here too (:func:`find_drift`) and can
be repaired (:func:`repair`), for both hosts:

* ``orphan_account``  - a mailbox no agent row points at       -> delete the mailbox
* ``missing_account`` - an agent whose mailbox is gone          -> recreate it (stored password)
* ``wrong_password``  - an agent whose stored password fails    -> reset it to the stored one
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..config import Settings
from ..errors import AgenticMailError, MailHostUnavailable
from ..hosts import build_host
from ..hosts.base import MailHost
from ..hosts.stalwart import IMAGE
from ..mail.imap import MailboxSession
from ..models import Agent
from ..store.db import check as check_database
from . import operations_checks as operations
from . import policies, search
from .agents import list_agents
from .checks import Check, docker_check, dovecot_check, port_checks, python_check
from .context import ServiceContext, build_context
from .sessions import credentials

REPAIR_HINT = "repair it: agenticmail doctor --repair"


@dataclass(frozen=True)
class Drift:
    kind: str  # orphan_account | missing_account | wrong_password
    address: str
    agent: str | None = None

    @property
    def problem(self) -> str:
        return {
            "orphan_account": f"the mailbox {self.address} belongs to no agent",
            "missing_account": f"agent {self.agent}'s mailbox {self.address} is missing",
            "wrong_password": f"agent {self.agent}'s stored password no longer logs in to "
                              f"{self.address}",
        }[self.kind]

    @property
    def fix(self) -> str:
        return {
            "orphan_account": f"delete the mailbox {self.address} and its mail",
            "missing_account": f"recreate the mailbox {self.address} with the stored password",
            "wrong_password": f"reset the password of {self.address} to the stored one",
        }[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "problem": self.problem, "fix": self.fix}


@dataclass(frozen=True)
class Diagnosis:
    checks: list[Check]
    drift: list[Drift]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def _stalwart_checks(host: Any) -> tuple[list[Check], bool]:
    """Engine, container, version tag, readiness, admin login, DKIM; (checks, usable)."""
    name = host.name

    start = "the daemon creates and starts it: agenticmail start --detach"
    try:
        state = host.container()
    except AgenticMailError as exc:
        return [Check("stalwart container", False, exc.message, exc.hint)], False
    if state is None:
        return [Check("stalwart container", False, f"there is no container {name}",
                      start)], False
    checks = [Check("stalwart container", state.running, f"{name}: {state.status}"
                    + ("" if state.running else f" (exit code {state.exit_code})"),
                    None if state.running else f"{start}; its log: docker logs {name}")]
    checks.append(Check("stalwart version", state.image == IMAGE, state.image,
                        None if state.image == IMAGE else
                        f"restart the daemon: it replaces the container with {IMAGE}"))
    if not state.running:
        return checks, False
    health = host.health()
    ready = health.checks.get("ready") == "ok"
    checks.append(Check("stalwart health", ready, f"{host.url}/healthz/ready: "
                        f"{health.checks.get('ready')}",
                        None if ready else f"see: docker logs {name}"))
    if not ready:
        return checks, False
    try:
        user = host.admin_login()
        checks.append(Check("stalwart admin login", True, f"logged in as {user}"))
    except AgenticMailError as exc:
        checks.append(Check("stalwart admin login", False, exc.message, exc.hint))
        return checks, False
    try:
        selectors = host.dkim_selectors()
        checks.append(Check("dkim", bool(selectors),
                            f"{len(selectors)} signing key(s) for {host.domain}: "
                            f"{', '.join(selectors)}" if selectors
                            else f"no DKIM key for {host.domain} yet",
                            None if selectors else "Stalwart generates them shortly after the "
                            "domain is created; restart the daemon if none appear"))
    except AgenticMailError as exc:
        checks.append(Check("dkim", False, exc.message, exc.hint))
    return checks, True


def _login(ctx: ServiceContext, agent: Agent) -> bool:
    """True if the stored password logs in over IMAP; MailHostUnavailable if no IMAP."""
    try:
        with MailboxSession.open(ctx.host.endpoints(), credentials(ctx, agent), timeout=5):
            return True
    except MailHostUnavailable:
        raise
    except AgenticMailError:
        return False


def find_drift(ctx: ServiceContext, *, check_logins: bool = True) -> list[Drift]:
    """Compare the mail host's accounts with the agent rows (and, optionally, logins)."""
    agents = list_agents(ctx)
    accounts = {a.lower() for a in ctx.host.list_accounts()}
    known = {a.address.lower() for a in agents}
    drift = [Drift("orphan_account", addr) for addr in sorted(accounts - known)]
    for agent in agents:
        if agent.address.lower() not in accounts:
            drift.append(Drift("missing_account", agent.address, agent.name))
        elif check_logins and not _login(ctx, agent):
            drift.append(Drift("wrong_password", agent.address, agent.name))
    return drift


def repair(ctx: ServiceContext, item: Drift) -> str:
    """Fix one drift item; what was done."""
    if item.kind == "orphan_account":
        ctx.host.delete_account(item.address)
    else:
        agent = next(a for a in list_agents(ctx) if a.name == item.agent)
        password = credentials(ctx, agent).password
        if item.kind == "missing_account":
            ctx.host.create_account(item.address, password)
        else:
            ctx.host.change_password(item.address, password)
    return item.fix


def _host_checks(settings: Settings, host: MailHost, daemon_up: bool) -> tuple[list[Check], bool]:
    if host.kind == "stalwart":
        docker = docker_check(settings)
        if not docker.ok:
            return [docker], False
        checks, usable = _stalwart_checks(host)
        return [docker, *checks], usable
    status = host.health()
    check = Check(f"mail host ({host.kind})", status.ok, status.detail,
                  None if status.ok else "the daemon starts the mail host: agenticmail start "
                  f"--detach; see {settings.logs_dir}")
    return [check], status.ok or not daemon_up


def component_checks(health: Mapping[str, object]) -> list[Check]:
    """One check per daemon component the health report lists (state, restarts, last
    error); a component that is not running fails its check."""
    found = health.get("components")
    if not isinstance(found, dict):
        return []
    checks = []
    for name, state in found.items():
        if not isinstance(state, dict):
            continue
        running = state.get("state") == "running"
        detail = f"{state.get('state')}, {state.get('restarts', 0)} restarts"
        if state.get("last_error"):
            detail += f"; last error: {state['last_error']}"
        checks.append(Check(f"daemon component {name}", running, detail,
                            None if running else "the daemon restarts it with backoff; its "
                            "log says why it fails: logs/agenticmail.log"))
    return checks


HealthProbe = Callable[[Settings], Mapping[str, object] | None]
"""The running daemon's health report, or None when nothing answers (the caller asks it: the
CLI through the client)."""


def diagnose(settings: Settings, daemon_health: HealthProbe) -> Diagnosis:
    checks = [python_check()]
    if settings.mail_host == "local":
        checks.append(dovecot_check())
    if not settings.is_configured:
        checks.append(Check("config", False, f"no configuration at {settings.config_path}",
                            "run: agenticmail setup"))
        return Diagnosis(checks, [])
    checks.append(Check("config", True, f"{settings.config_path} ({settings.mail_host} host, "
                                        f"domain {settings.domain})"))
    try:
        checks.append(Check("database", True, check_database(settings.db_path)))
    except AgenticMailError as exc:  # damaged, unreadable, or the disk is full
        checks.append(Check("database", False, exc.message, exc.hint))
        return Diagnosis(checks, [])
    health = daemon_health(settings)
    if health is None:
        checks.append(Check("daemon", False, f"not answering at {settings.api_url}",
                            "start it with: agenticmail start --detach"))
        if settings.mail_host == "local":
            checks.extend(port_checks(settings))
    else:
        checks.append(Check("daemon", True, f"running at {settings.api_url} "
                                            f"(pid {health.get('pid')})"))
        checks.extend(component_checks(health))
    host = build_host(settings)
    host_checks, usable = _host_checks(settings, host, health is not None)
    checks.extend(host_checks)
    ctx = build_context(settings, host=host)
    try:
        drift = _mailbox_checks(ctx, checks) if usable else []
        checks.extend(_operations_checks(ctx, health))
    finally:
        ctx.db.close()
    return Diagnosis(checks, drift)


def _mailbox_checks(ctx: ServiceContext, checks: list[Check]) -> list[Drift]:
    """Each agent's IMAP login and the drift between mailboxes and agents (added to
    ``checks``); the drift found."""
    try:
        running = ctx.host.is_running()
        drift = find_drift(ctx, check_logins=running)
        by_agent = {d.agent: d for d in drift if d.agent}
        for agent in list_agents(ctx):
            item = by_agent.get(agent.name)
            if item is not None:
                checks.append(Check(f"agent {agent.name}", False, item.problem, REPAIR_HINT))
            elif running:
                checks.append(Check(f"agent {agent.name}", True,
                                    f"IMAP login as {agent.address}"))
                checks.append(search.check(ctx, agent))
        for item in drift:
            if item.kind == "orphan_account":
                checks.append(Check(f"mailbox {item.address}", False, item.problem,
                                    REPAIR_HINT))
        checks.extend(policy_checks(ctx))
    except AgenticMailError as exc:
        checks.append(Check("mailboxes", False, exc.message, exc.hint))
        return []
    return drift


def _operations_checks(ctx: ServiceContext, health: Mapping[str, object] | None
                       ) -> list[Check]:
    """The daemon at work: SMTP submission and every watcher (when it runs), the outbound
    route and relay logins, then what the database holds (outbox, audit chain, webhooks)."""
    checks: list[Check] = []
    if health:
        checks.append(operations.submission_check(ctx))
        checks.extend(operations.watcher_checks(ctx, health))
    checks.extend(operations.route_checks(ctx))
    checks.extend(operations.store_checks(ctx))
    return checks


def policy_checks(ctx: ServiceContext) -> list[Check]:
    """One failing check per policy file that cannot be used (the last good policy holds),
    else one passing check naming how many are in force."""
    in_force = policies.book(ctx).reload()
    broken = [Check(f"policy {p.agent}", False, f"not loaded, the last good policy stays in "
                    f"force: {p.error}", f"fix it: agenticmail policy edit --agent {p.agent}")
              for p in in_force if p.error]
    files = sum(1 for p in in_force if p.text is not None)
    return broken or [Check("policies", True, f"{files} per-sender policy file(s) in force")]


def run_checks(settings: Settings, daemon_health: HealthProbe) -> list[Check]:
    return diagnose(settings, daemon_health).checks


def repair_all(settings: Settings, drift: list[Drift]) -> list[str]:
    """Repair every item (stops at the first failure, which it raises)."""
    ctx = build_context(settings)
    try:
        return [repair(ctx, item) for item in drift]
    finally:
        ctx.db.close()
