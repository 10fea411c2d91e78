"""The ``stalwart`` mail host: a pinned Stalwart container the daemon provisions by itself.

Layout (``data_dir`` is e.g. ``~/.agenticmail/stalwart``)::

    data_dir/etc/      bind-mounted at /etc/stalwart    (config.json; owned by UID 2000)
    data_dir/data/     bind-mounted at /var/lib/stalwart (RocksDB, blobs; owned by UID 2000)
    data_dir/state.json  (0600) bootstrapped?, the admin credential (encrypted with secret.key)

Lifecycle (:meth:`StalwartHost.start`, idempotent): check the engine; adopt the container
``agenticmail-stalwart`` when it is ours and matches (image tag, ports), else recreate it (the
data lives in the bind mounts); pull the pinned image with progress; create it with ports on
127.0.0.1 only and a restart policy; wait for ``/healthz/ready``. On the very first run the
container gets ``STALWART_RECOVERY_ADMIN`` (a random one-time password), the server is
bootstrapped (``x:Bootstrap/set``), and the container is recreated *without* that back door;
the generated admin credential is kept encrypted. Then, every start: hostname, the agents'
domain, IMAP LOGIN on the plain listener, the extra loopback listeners (restart if added),
ReloadSettings.

A failed first start removes what it made (container, half-bootstrapped data), so a retry
starts clean; a failed start of an existing install leaves its data alone.
"""

from __future__ import annotations

import contextlib
import imaplib
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from ..config import write_private
from ..errors import (
    AgenticMailError,
    Conflict,
    InvalidRequest,
    MailHostError,
    MailHostUnavailable,
    NotFound,
)
from ..models import Endpoints, HostHealth
from ..providers.docker_engine import ContainerSpec, ContainerState, DockerEngine, PullProgress
from ..security.keys import SecretBox
from . import stalwart_admin as admin
from .jmap import JmapClient, as_list, list_values

log = logging.getLogger(__name__)

IMAGE = "stalwartlabs/stalwart:v0.16.18"  # the one pinned tag; never a floating one
CONTAINER = "agenticmail-stalwart"
LABEL = "io.agenticmail.managed"
STALWART_UID = 2000
RECOVERY_USER = "agenticmail-recovery"
START_TIMEOUT = 120.0
POLL = 0.2

Progress = Callable[[str, PullProgress | None], None]


class StalwartHost:
    """Implements :class:`agenticmail.hosts.base.MailHost` with a Stalwart container."""

    kind = "stalwart"
    push_secret: str | None = None  # no push notifications: IDLE only
    push_enabled = False

    def __init__(self, data_dir: Path, *, secrets_box: SecretBox, domain: str = "localhost",
                 hostname: str | None = None, http_port: int = 8080, smtp_port: int = 25,
                 stalwart_submission_port: int = 2587, imap_port: int, lmtp_port: int,
                 submission_port: int, docker_url: str | None = None,
                 engine: DockerEngine | None = None, start_timeout: float = START_TIMEOUT,
                 progress: Progress | None = None, name: str = CONTAINER) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.name = name  # the container's name
        self.domain = domain
        self.hostname = hostname or (domain if domain == "localhost" else f"mail.{domain}")
        self.http_port, self.smtp_port = http_port, smtp_port
        self.stalwart_submission_port = stalwart_submission_port
        self.imap_port, self.lmtp_port, self.submission_port = imap_port, lmtp_port, submission_port
        self.engine = engine or DockerEngine(docker_url)
        self.start_timeout = start_timeout
        self.progress = progress
        self._box = secrets_box
        self._lock = threading.RLock()
        self._client: JmapClient | None = None
        self._domain_id: str | None = None

    # -- paths and state ----------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def state_path(self) -> Path:
        return self.data_dir / "state.json"

    def _state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save_state(self, **changes: Any) -> None:
        state = {**self._state(), **changes}
        state = {k: v for k, v in state.items() if v is not None}
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(self.state_path, json.dumps(state, indent=1).encode())

    @property
    def bootstrapped(self) -> bool:
        return bool(self._state().get("admin_secret"))

    def _step(self, message: str, pull: PullProgress | None = None) -> None:
        if pull is None:
            log.info("stalwart: %s", message)
        if self.progress is not None:
            self.progress(message, pull)

    # -- container spec -----------------------------------------------------------------
    def ports(self) -> dict[int, tuple[str, int]]:
        """Container port -> (127.0.0.1, host port)."""
        return {8080: ("127.0.0.1", self.http_port), 25: ("127.0.0.1", self.smtp_port),
                587: ("127.0.0.1", self.stalwart_submission_port),
                143: ("127.0.0.1", self.imap_port), 24: ("127.0.0.1", self.lmtp_port)}

    def spec(self, recovery_secret: str | None = None) -> ContainerSpec:
        env = {"STALWART_RECOVERY_ADMIN": f"{RECOVERY_USER}:{recovery_secret}"} \
            if recovery_secret else {}
        return ContainerSpec(
            name=self.name, image=IMAGE, environment=env, ports=self.ports(),
            binds={str(self.data_dir / "etc"): "/etc/stalwart",
                   str(self.data_dir / "data"): "/var/lib/stalwart"},
            labels={LABEL: "1", "io.agenticmail.data-dir": str(self.data_dir)},
            restart_policy="unless-stopped")

    def _matches(self, state: ContainerState) -> bool:
        spec = self.spec()
        return (state.image == IMAGE and state.ports == dict(spec.ports)
                and state.binds == dict(spec.binds)
                and not ("STALWART_RECOVERY_ADMIN" in state.env_names and self.bootstrapped))

    def render_compose(self) -> str:
        """``templates/docker-compose.yml`` filled in: what :meth:`spec` creates, for compose."""
        text = resources.files("agenticmail").joinpath("templates/docker-compose.yml")
        ports = self.ports()
        return Template(text.read_text("utf-8")).substitute(
            image=IMAGE, name=self.name, data_dir=self.data_dir, http_port=ports[8080][1],
            smtp_port=ports[25][1], submission_port=ports[587][1], imap_port=ports[143][1],
            lmtp_port=ports[24][1])

    def _write_compose(self) -> None:
        path = self.data_dir / "docker-compose.yml"
        text = self.render_compose()
        if not path.exists() or path.read_text("utf-8") != text:
            write_private(path, text.encode())

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for sub in ("etc", "data"):
            path = self.data_dir / sub
            path.mkdir(exist_ok=True, mode=0o700)
            try:
                os.chown(path, STALWART_UID, STALWART_UID)
            except PermissionError:  # not root: let the container's user in (parent is 0700)
                os.chmod(path, 0o777)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            info = self.engine.info()
            self._step(f"Docker engine {info.version} at {info.url}")
            existing = self.engine.inspect(self.name)
            if existing is not None and existing.labels.get(LABEL) != "1":
                raise Conflict(f"a container named {self.name} exists that agenticmail did "
                               "not create", hint=f"remove it: docker rm -f {self.name}")
            if existing is not None and not self._matches(existing):
                self._step(f"replacing the container {self.name} (its settings changed; "
                           "the data is kept)")
                self.engine.remove(self.name)
                existing = None
            fresh = not self.bootstrapped
            if fresh and (self.data_dir / "etc" / "config.json").exists():
                raise MailHostError(
                    f"Stalwart's data in {self.data_dir} exists but its admin credential "
                    f"({self.state_path.name}) is missing",
                    hint=f"restore {self.state_path}, or remove {self.data_dir} to start over "
                         "(this deletes every mailbox)")
            made = existing is None
            try:
                if existing is None:
                    self._create(recovery=fresh)
                if existing is None or not existing.running:
                    self._step(f"starting {self.name}")
                    self.engine.start(self.name)
                if fresh:
                    self._bootstrap()
                else:
                    self._wait_ready()
                self._provision()
            except BaseException:
                if made or fresh:
                    self._undo(wipe=fresh)
                raise
            self._write_compose()
            self._step(f"Stalwart is ready at {self.url}")

    def _create(self, *, recovery: bool) -> None:
        if not self.engine.has_image(IMAGE):
            self._step(f"pulling {IMAGE}")
            self.engine.pull(IMAGE, lambda p: self._step(f"pulling {IMAGE}", p))
        self._prepare_dirs()
        secret = None
        if recovery:
            secret = secrets.token_urlsafe(24)
            self._save_state(recovery_secret=self._box.encrypt(secret))
        self._step(f"creating the container {self.name} ({IMAGE})")
        self.engine.create(self.spec(secret))

    def _undo(self, *, wipe: bool) -> None:
        """Remove what a failed start made: the container and, before bootstrap, the data."""
        with contextlib.suppress(AgenticMailError):
            self.engine.remove(self.name)
        self._close_client()
        if wipe:
            for sub in ("etc", "data"):
                shutil.rmtree(self.data_dir / sub, ignore_errors=True)
            self.state_path.unlink(missing_ok=True)

    def _wait_ready(self) -> None:
        probe = JmapClient(self.url, timeout=3.0)
        try:
            self._wait("ready", f"{self.url}/healthz/ready", lambda: probe.healthz("ready"))
        finally:
            probe.close()

    def _wait(self, what: str, where: str, check: Callable[[], bool]) -> None:
        """Poll ``check`` until it holds; fail early if the container stops, or at the deadline."""
        deadline = time.monotonic() + self.start_timeout
        self._step(f"waiting for Stalwart to be {what}")
        while not check():
            state = self.engine.inspect(self.name)
            if state is None or (not state.running and state.status != "restarting"):
                raise self._failure(f"the Stalwart container stopped while starting "
                                    f"(status {state.status if state else 'gone'})")
            if time.monotonic() > deadline:
                raise self._failure(f"Stalwart did not become {what} within "
                                    f"{self.start_timeout:g}s ({where})")
            time.sleep(POLL)

    def _failure(self, message: str) -> MailHostError:
        tail = self.engine.logs(self.name, tail=20).strip()
        return MailHostError(message + (f"; last log lines:\n{tail}" if tail else ""),
                             hint=f"see: docker logs {self.name}")

    def _bootstrap(self) -> None:
        token = self._state().get("recovery_secret")
        if not token:
            raise MailHostError("the one-time recovery credential is missing; cannot bootstrap")
        client = JmapClient(self.url, username=RECOVERY_USER, secret=self._box.decrypt(token))

        def answers() -> bool:  # bootstrap mode has no data store: /healthz/ready stays 503
            try:
                client.session()
            except MailHostUnavailable:
                return False
            return True

        try:
            self._wait("reachable for bootstrap", f"{self.url}/jmap/session", answers)
            self._step("bootstrapping Stalwart (first run)")
            cred = admin.bootstrap(client, hostname=self.hostname, domain=self.domain)
        finally:
            client.close()
        self._save_state(admin_user=cred.username, admin_secret=self._box.encrypt(cred.secret),
                         recovery_secret=None)
        # restart without the recovery back door: recreate, the data stays in the bind mounts
        self._step("restarting Stalwart with its own admin account")
        self.engine.remove(self.name)
        self.engine.create(self.spec())
        self.engine.start(self.name)
        self._wait_ready()

    def _provision(self) -> None:
        client = self.client()
        self._step("configuring hostname, domain and listeners")
        changed = admin.ensure_hostname(client, self.hostname)
        self._domain_id = admin.ensure_domain(client, self.domain)
        changed = admin.ensure_imap_plain_login(client) or changed
        added = admin.ensure_listeners(client)
        if changed or added:
            client.action("ReloadSettings")
        if added:
            self._step(f"restarting Stalwart to open {', '.join(added)}")
            self.engine.restart(self.name)
            self._wait_ready()

    def stop(self) -> None:
        with self._lock:
            self._close_client()
            with contextlib.suppress(NotFound):
                self.engine.stop(self.name)

    def remove(self, *, purge: bool = False) -> None:
        """Remove the container; with ``purge`` also every mailbox and the state (irreversible)."""
        with self._lock:
            self.engine.remove(self.name)
            self._close_client()
            if purge:
                shutil.rmtree(self.data_dir, ignore_errors=True)

    def is_running(self) -> bool:
        try:
            state = self.engine.inspect(self.name)
        except AgenticMailError:
            return False
        return state is not None and state.running

    def container(self) -> ContainerState | None:
        return self.engine.inspect(self.name)

    def logs(self, lines: int = 40) -> str:
        return self.engine.logs(self.name, tail=lines)

    def health(self) -> HostHealth:
        checks: dict[str, str] = {}
        try:
            state = self.engine.inspect(self.name)
            checks["container"] = "missing" if state is None else state.status
        except AgenticMailError as exc:
            checks["container"] = f"engine: {exc}"
            state = None
        probe = JmapClient(self.url, timeout=3.0)
        try:
            checks["ready"] = "ok" if probe.healthz("ready") else "not ready"
        finally:
            probe.close()
        ok = checks["container"] == "running" and checks["ready"] == "ok"
        detail = "stalwart is healthy" if ok else "; ".join(f"{k}: {v}" for k, v in checks.items())
        return HostHealth(ok=ok, detail=detail, checks=checks)

    def endpoints(self) -> Endpoints:
        return Endpoints(imap_host="127.0.0.1", imap_port=self.imap_port,
                         submission_host="127.0.0.1", submission_port=self.submission_port,
                         delivery_host="127.0.0.1", delivery_port=self.lmtp_port,
                         imap_tls=False, delivery_protocol="lmtp")

    # -- admin client -------------------------------------------------------------------
    def client(self) -> JmapClient:
        """The management client, logged in with the stored admin credential."""
        with self._lock:
            if self._client is None:
                state = self._state()
                if not state.get("admin_secret"):
                    raise MailHostUnavailable("Stalwart has not been set up yet",
                                              hint="run: agenticmail setup")
                self._client = JmapClient(self.url, username=str(state["admin_user"]),
                                          secret=self._box.decrypt(state["admin_secret"]))
            return self._client

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def admin_login(self) -> str:
        """Check the stored admin credential; the admin's username."""
        self.client().session()
        return self.client().username or ""

    def domain_id(self) -> str:
        if self._domain_id is None:
            found = admin.domain_id(self.client(), self.domain)
            if found is None:
                raise MailHostError(f"Stalwart has no domain {self.domain}",
                                    hint="restart the daemon to provision it again")
            self._domain_id = found
        return self._domain_id

    # -- accounts -----------------------------------------------------------------------
    def _split(self, address: str) -> str:
        local, _, domain = address.strip().lower().partition("@")
        if not local or domain != self.domain:
            raise InvalidRequest(f"{address!r} is not an address in {self.domain}")
        return local

    def _account_id(self, address: str) -> str | None:
        ids = self.client().query("Account", {"name": self._split(address),
                                              "domainId": self.domain_id()})
        return ids[0] if ids else None

    def _require(self, address: str) -> str:
        found = self._account_id(address)
        if found is None:
            raise NotFound(f"mailbox {address} does not exist")
        return found

    def create_account(self, address: str, password: str, *, quota: int | None = None) -> None:
        local = self._split(address)
        self.client().create("Account", {
            "@type": "User", "name": local, "domainId": self.domain_id(),
            "credentials": as_list([{"@type": "Password", "secret": password}]),
            "roles": {"@type": "User"}, "permissions": {"@type": "Inherit"},
            "encryptionAtRest": {"@type": "Disabled"}, "memberGroupIds": {}, "aliases": {},
            "quotas": {"maxDiskQuota": quota} if quota else {},
            "description": "agenticmail agent",
        }, f"creating the mailbox {address}")
        log.info("mailbox %s created", address)

    def change_password(self, address: str, password: str) -> None:
        self.client().update("Account", self._require(address), {
            "credentials": as_list([{"@type": "Password", "secret": password}])},
            f"changing the password of {address}")
        log.info("mailbox %s: password changed", address)

    def set_quota(self, address: str, max_bytes: int | None) -> None:
        self.client().update("Account", self._require(address),
                             {"quotas": {"maxDiskQuota": max_bytes} if max_bytes else {}},
                             f"setting the quota of {address}")

    def delete_account(self, address: str) -> None:
        found = self._account_id(address)
        if found is not None:
            self.client().destroy("Account", found, f"deleting the mailbox {address}")
            log.info("mailbox %s deleted", address)

    def account_exists(self, address: str) -> bool:
        try:
            return self._account_id(address) is not None
        except InvalidRequest:
            return False

    def _accounts(self) -> Iterator[dict[str, Any]]:
        client = self.client()
        ids = client.query("Account", {"domainId": self.domain_id()})
        admin_user = str(self._state().get("admin_user", "")).lower()
        for acct in client.get("Account", ids) if ids else []:
            email = str(acct.get("emailAddress") or f"{acct.get('name')}@{self.domain}").lower()
            if email != admin_user and (acct.get("roles") or {}).get("@type") != "Admin":
                yield {**acct, "emailAddress": email}

    def list_accounts(self) -> list[str]:
        return sorted(a["emailAddress"] for a in self._accounts())

    def aliases(self, address: str) -> list[str]:
        """The account's other addresses in its own domain (see :meth:`external_addresses`)."""
        acct = self.client().get("Account", [self._require(address)])
        own = self.domain_id()
        return [f"{a.get('name')}@{self.domain}" for a in list_values(
            (acct or [{}])[0].get("aliases")) if a.get("domainId", own) == own]

    def external_addresses(self, address: str) -> list[str]:
        """The account's addresses in other domains (domain mode's ``agent@domain``)."""
        client = self.client()
        acct = client.get("Account", [self._require(address)])
        own = self.domain_id()
        found = [a for a in list_values((acct or [{}])[0].get("aliases"))
                 if a.get("domainId", own) != own]
        names = {d: (client.get("Domain", [d]) or [{}])[0].get("name")
                 for d in {a["domainId"] for a in found}}
        return [f"{a.get('name')}@{names[a['domainId']]}" for a in found]

    def add_alias(self, address: str, alias: str) -> None:
        """Receive mail for ``alias`` (same domain) too; Conflict if another account has it."""
        acct_id = self._require(address)
        name = self._split(alias)
        current = self.client().get("Account", [acct_id])
        encoded = (current or [{}])[0].get("aliases") or {}
        if any(a.get("name") == name for a in list_values(encoded)):
            return
        index = max((int(k) for k in encoded if str(k).isdigit()), default=-1) + 1
        self.client().update("Account", acct_id, {f"aliases/{index}": {
            "name": name, "domainId": self.domain_id(), "enabled": True}},
            f"adding the alias {alias} to {address}")

    def remove_alias(self, address: str, alias: str) -> None:
        acct_id = self._require(address)
        name = self._split(alias)
        encoded = (self.client().get("Account", [acct_id]) or [{}])[0].get("aliases") or {}
        for key, value in dict(encoded).items():
            if isinstance(value, dict) and value.get("name") == name:
                self.client().update("Account", acct_id, {f"aliases/{key}": None},
                                     f"removing the alias {alias} from {address}")

    def add_external_address(self, address: str, external: str) -> bool:
        """Receive mail for ``external`` (another domain: domain mode's ``agent@domain``)
        too: the domain is created in Stalwart if missing, the address added as an alias of
        the account. False when it was there already."""
        acct_id = self._require(address)
        local, _, domain = external.strip().lower().partition("@")
        if domain == self.domain:
            before = set(self.aliases(address))
            self.add_alias(address, external)
            return set(self.aliases(address)) != before
        client = self.client()
        dom_id = admin.ensure_domain(client, domain)
        encoded = (client.get("Account", [acct_id]) or [{}])[0].get("aliases") or {}
        if any(a.get("name") == local and a.get("domainId") == dom_id
               for a in list_values(encoded)):
            return False
        index = max((int(k) for k in encoded if str(k).isdigit()), default=-1) + 1
        client.update("Account", acct_id, {f"aliases/{index}": {
            "name": local, "domainId": dom_id, "enabled": True}},
            f"adding the address {external} to {address}")
        return True

    def remove_external_address(self, address: str, external: str) -> bool:
        """Stop receiving mail for ``external``; False when the account did not have it."""
        local, _, domain = external.strip().lower().partition("@")
        acct_id = self._account_id(address)
        client = self.client()
        dom_id = admin.domain_id(client, domain)
        if acct_id is None or dom_id is None:
            return False
        encoded = (client.get("Account", [acct_id]) or [{}])[0].get("aliases") or {}
        removed = False
        for key, value in dict(encoded).items():
            if isinstance(value, dict) and value.get("name") == local \
                    and value.get("domainId") == dom_id:
                client.update("Account", acct_id, {f"aliases/{key}": None},
                              f"removing the address {external} from {address}")
                removed = True
        return removed

    def verify_login(self, address: str, password: str) -> bool:
        """IMAP LOGIN on the published IMAP port. MailHostUnavailable if nothing answers."""
        try:
            conn = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=5)
        except OSError as exc:
            raise MailHostUnavailable(f"Stalwart's IMAP port {self.imap_port} is not "
                                      f"answering: {exc}") from exc
        try:
            conn.login(address, password)
            return True
        except imaplib.IMAP4.error:
            return False
        except OSError as exc:
            raise MailHostUnavailable(f"IMAP login check failed: {exc}") from exc
        finally:
            with contextlib.suppress(Exception):
                conn.logout()

    # -- DKIM, DNS, relay ---------------------------------------------------------------
    def dkim_selectors(self) -> list[str]:
        return admin.dkim_selectors(self.client(), self.domain_id())

    def dns_records(self) -> list[admin.DnsRecord]:
        return admin.dns_records(self.client(), self.domain_id(), self.domain)

    def set_relay(self, *, host: str, port: int, username: str, secret: str,
                  implicit_tls: bool = True) -> None:
        admin.set_relay(self.client(), host=host, port=port, username=username, secret=secret,
                        implicit_tls=implicit_tls)

    def clear_relay(self) -> None:
        admin.clear_relay(self.client())
