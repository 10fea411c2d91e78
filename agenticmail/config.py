"""Settings: defaults < config file (``config.toml``, 0600) < ``AGENTICMAIL_*`` environment.

All paths live under ``AGENTICMAIL_HOME`` (default ``~/.agenticmail``). The config file holds
the owner's master key (the CLI needs it to talk to the daemon), so it is always written 0600
and atomically.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, TypeVar

import tomli_w

from .errors import ConfigError

CONFIG_FILE = "config.toml"
DEFAULT_API_PORT = 3829


class MailHostKind(StrEnum):
    """Where agent mailboxes live (see ARCHITECTURE.md): a private Dovecot, or Stalwart."""

    LOCAL = "local"
    STALWART = "stalwart"


class GatewayMode(StrEnum):
    """How agents reach the internet: not at all, a person's own account, or a domain."""

    NONE = "none"
    RELAY = "relay"
    DOMAIN = "domain"


class LogFormat(StrEnum):
    """How the daemon writes its log: ``time LEVEL logger: message`` lines, or JSON lines."""

    TEXT = "text"
    JSON = "json"


class MetricsAccess(StrEnum):
    """Who may read ``GET /metrics``: the master key only, or any caller on loopback."""

    MASTER_KEY = "master_key"
    LOOPBACK = "loopback"


MAIL_HOSTS = tuple(kind.value for kind in MailHostKind)
GATEWAY_MODES = tuple(mode.value for mode in GatewayMode)
_CHOICES: dict[str, tuple[type[StrEnum], str]] = {
    "mail_host": (MailHostKind, "mail host"), "gateway_mode": (GatewayMode, "gateway"),
    "log_format": (LogFormat, "log format"),
    "metrics_access": (MetricsAccess, "metrics access"),
}


def _choice(name: str, value: Any) -> Any:
    """The enum member a config string names (``mail_host``, ``gateway_mode``)."""
    kind, label = _CHOICES[name]
    try:
        return kind(value)
    except ValueError:
        raise ConfigError(f"unknown {label} {value!r}; choose one of "
                          f"{', '.join(m.value for m in kind)}") from None


def nameservers(value: str) -> tuple[list[str], int | None]:
    """The ``dns_nameservers`` setting (``"ip[:port],..."``) as resolver addresses and the
    port they answer on (None: 53); ``([], None)`` when empty (use the system's)."""
    servers: list[str] = []
    port: int | None = None
    for item in (i.strip() for i in value.split(",") if i.strip()):
        host, sep, number = item.rpartition(":")
        if sep and number.isdigit() and host and not host.endswith(":"):
            servers.append(host.strip("[]"))
            port = int(number)
        else:
            servers.append(item.strip("[]"))
    return servers, port


class _Resolver(Protocol):
    nameservers: Any
    port: int


R = TypeVar("R", bound=_Resolver)


def dns_resolver(factory: Callable[..., R], value: str) -> R:
    """A dnspython resolver (``factory``: ``dns.resolver.Resolver`` or its asyncio twin) for the
    ``dns_nameservers`` setting ``value``: the system's configuration when it is empty."""
    servers, port = nameservers(value)
    resolver = factory(configure=not servers)
    if servers:
        resolver.nameservers = servers
        if port is not None:
            resolver.port = port
    return resolver


def default_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    raw = env.get("AGENTICMAIL_HOME")
    return Path(raw).expanduser() if raw else Path.home() / ".agenticmail"


@dataclass(frozen=True)
class Settings:
    home: Path
    api_host: str = "127.0.0.1"
    api_port: int = DEFAULT_API_PORT
    mail_host: MailHostKind = MailHostKind.LOCAL
    domain: str = "localhost"
    imap_port: int = 3143
    lmtp_port: int = 3024  # the stalwart host's LMTP; the local host opens no LMTP port
    submission_port: int = 3587
    stalwart_http_port: int = 8080  # the stalwart host's ports, published on 127.0.0.1 only
    stalwart_smtp_port: int = 25
    stalwart_submission_port: int = 2587
    docker_host: str | None = None  # default: DOCKER_HOST, else the usual docker.sock paths
    gateway_mode: GatewayMode = GatewayMode.NONE  # chosen in setup; configured later
    owner_email: str | None = None
    master_key: str | None = field(default=None, repr=False)
    max_attachment_bytes: int = 25 * 1024 * 1024
    max_message_bytes: int = 35 * 1024 * 1024
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.TEXT  # logs/agenticmail.log: text or JSON lines
    log_max_bytes: int = 5_000_000  # the log is rotated at this size ...
    log_backup_count: int = 3  # ... keeping this many old files
    idle_renew_seconds: int = 540  # re-IDLE well inside the 10-minute bound
    # With a mail host that pushes every change (the local Dovecot with its push plugin), an
    # agent watcher closes its IMAP session after this long without news ("parked": no Dovecot
    # process memory), opens it again when the daemon or the host tells of a change, and looks
    # every watch_check_seconds anyway (the safety net for changes nobody announced).
    watch_linger_seconds: int = 15
    watch_check_seconds: int = 300
    rate_per_minute: int = 30
    rate_per_hour: int = 300
    rate_per_day: int = 2000
    thread_reply_budget: int = 20  # messages per agent per thread per day
    send_max_attempts: int = 8  # ignored since sends retry by time (send_retry_seconds)
    send_retry_seconds: int = 2 * 24 * 3600  # retry a send this long, as mail servers do
    send_delayed_after_seconds: int = 15 * 60  # then tell the agent: message.delayed
    send_backoff_max_seconds: int = 300  # retries of a send are at most this far apart
    send_concurrency: int = 4  # deliveries at once, per lane (local LMTP, external SMTP)
    smtp_timeout_seconds: int = 60  # each step of an external SMTP transaction
    trusted_authserv_ids: str = ""  # comma-separated; whose Authentication-Results to believe
    # Domain mode: the ARC sealers (d= of the newest ARC-Seal, comma-separated) whose recorded
    # authentication results are believed once the chain verifies; Cloudflare Email Routing's
    domain_arc_sealers: str = "email.cloudflare.net"
    # Reply-To on an agent's mail may name only the agent's own addresses (its local address and
    # its relay sub-address) unless the owner allows any address here.
    allow_foreign_reply_to: bool = False
    dns_nameservers: str = ""  # DKIM/DMARC key lookups: "ip[:port],..." (default: the system's)
    # `domain check NAME`: IANA's RDAP bootstrap file for DNS (RFC 9224), naming each TLD's
    # registry RDAP service (tests point it at a local fake registry)
    rdap_bootstrap_url: str = "https://data.iana.org/rdap/dns.json"
    # Domain mode, outbound path "direct" (to each recipient domain's MX): the port MX hosts
    # listen on (25; tests use a high one), whether their TLS must be offered and verified
    # (off: opportunistic STARTTLS, as MTAs do without DANE/MTA-STS), the EHLO name (default:
    # this machine's FQDN; give the name your PTR record has)
    domain_direct_port: int = 25
    domain_direct_require_tls: bool = False
    domain_direct_helo: str = ""
    relay_default_agent: str | None = None  # gets relay mail sub-addressed to an unknown tag
    relay_poll_seconds: int = 30  # polling interval when the relay's IMAP server lacks IDLE
    relay_backoff_seconds: int = 30  # first retry delay; doubles up to 10x (30 s .. 5 min)
    # an OAuth2 relay's access token is renewed this long before it expires
    relay_oauth_refresh_margin_seconds: int = 300
    message_time_budget_seconds: int = 30  # parse + assess of one inbound message; then too_complex
    # GET /metrics: "master_key" (the default) or "loopback" (open to callers on 127.0.0.1/::1)
    metrics_access: MetricsAccess = MetricsAccess.MASTER_KEY
    outbox_stuck_minutes: int = 15  # doctor: a queued send this far past its due time is stuck
    # Outgoing webhooks: a message is sent at once, then retried after each of these delays
    # (seconds, after each failure); how long one POST may take; how long an endpoint may fail
    # before it is disabled.
    webhook_retry_seconds: str = "5,300,1800,7200,18000,36000,36000"
    webhook_timeout_seconds: float = 15.0
    webhook_disable_after_seconds: float = 5 * 24 * 3600.0
    webhook_concurrency: int = 64  # POSTs in flight at once (one per endpoint at a time)
    # An agent key may register only public https URLs; the owner may allow plain http and
    # these networks (comma-separated CIDRs, e.g. "10.0.0.0/8,127.0.0.1/32") for agents too.
    webhook_agent_allow_http: bool = False
    webhook_agent_networks: str = ""
    # where recipients reach this daemon's API for one-click unsubscribes (RFC 8058), e.g. the
    # https address of a tunnel; default: api_url (reachable from this machine only)
    public_url: str | None = None
    # Domain mode's tunnel: the cloudflared binary (default: PATH, then <home>/bin/cloudflared),
    # where `agenticmail domain tunnel install` downloads releases from, which release (default:
    # the pinned one) and, for another release, its SHA-256; how the daemon restarts it (first
    # delay, doubling up to the cap, afresh once it stayed up healthy_after seconds) and how
    # long it waits after SIGTERM before SIGKILL.
    cloudflared_path: str | None = None
    cloudflared_download_url: str = "https://github.com/cloudflare/cloudflared/releases/download"
    cloudflared_version: str | None = None
    cloudflared_sha256: str | None = None
    tunnel_backoff_seconds: float = 1.0
    tunnel_max_backoff_seconds: float = 60.0
    tunnel_healthy_after_seconds: float = 60.0
    tunnel_stop_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        # the config strings ("local", "relay" ...) are accepted wherever Settings is built
        for name in _CHOICES:
            object.__setattr__(self, name, _choice(name, getattr(self, name)))

    # -- derived paths -------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def db_path(self) -> Path:
        return self.home / "agenticmail.db"

    @property
    def secret_key_path(self) -> Path:
        return self.home / "secret.key"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def deletions_dir(self) -> Path:
        return self.home / "deletions"

    @property
    def dovecot_dir(self) -> Path:
        return self.home / "dovecot"

    @property
    def stalwart_dir(self) -> Path:
        return self.home / "stalwart"

    @property
    def pid_path(self) -> Path:
        return self.home / "daemon.pid"

    @property
    def api_url(self) -> str:
        host = "127.0.0.1" if self.api_host in ("0.0.0.0", "") else self.api_host
        return f"http://{host}:{self.api_port}"

    @property
    def is_configured(self) -> bool:
        return self.config_path.exists() and self.master_key is not None


# Keys the config file and environment may set (everything but ``home``).
_FIELDS = {f.name: f for f in fields(Settings) if f.name != "home"}


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"setting {name!r} must be true or false, got {value!r}")


def _coerce(name: str, value: Any) -> Any:
    kind = _FIELDS[name].type
    if name in _CHOICES:
        return _choice(name, value)
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind in ("str", "str | None"):
            return None if value in (None, "") else str(value)
        if kind == "bool":
            return _boolean(name, value)
    except (TypeError, ValueError) as exc:
        what = "a number" if kind == "float" else "a whole number"
        raise ConfigError(f"setting {name!r} must be {what}, got {value!r}") from exc
    return value


def load_settings(
    home: Path | None = None, env: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Read settings for ``home`` (default: ``$AGENTICMAIL_HOME`` or ``~/.agenticmail``)."""
    env = os.environ if env is None else env
    home = (home or default_home(env)).expanduser().resolve()
    values: dict[str, Any] = {}
    path = home / CONFIG_FILE
    if path.exists():
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        for key, value in data.items():
            if key in _FIELDS:
                values[key] = _coerce(key, value)
    for name in _FIELDS:
        raw = env.get(f"AGENTICMAIL_{name.upper()}")
        if raw is not None:
            values[name] = _coerce(name, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(home=home, **values)


def ensure_home(settings: Settings) -> None:
    """Create the data dir (0700) and its sub-directories."""
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(settings.home, 0o700)
    for sub in (settings.logs_dir, settings.deletions_dir):
        sub.mkdir(exist_ok=True, mode=0o700)


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` atomically to ``path`` with ``mode`` (0600 unless told): a reader sees
    the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # the umask filtered the mode given to open
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_settings(settings: Settings) -> None:
    """Persist every non-default setting (and the master key) to ``config.toml`` (0600)."""
    ensure_home(settings)
    defaults = Settings(home=settings.home)
    data = {  # the enums are written as their strings
        name: getattr(settings, name)
        for name in _FIELDS
        if getattr(settings, name) is not None
        and (getattr(settings, name) != getattr(defaults, name) or name == "mail_host")
    }
    write_private(settings.config_path, tomli_w.dumps(data).encode())
