"""First-run setup (idempotent): data dir, config (0600), keys, database, system checks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..config import Settings, ensure_home, save_settings
from ..errors import ConfigError, DependencyMissing
from ..mail.addresses import validate_address
from ..security.keys import generate_master_key, hash_key, key_prefix
from ..store import agents as agent_store
from ..store.db import Database
from ..store.migrations import migrate
from ..store.secret_key import load_or_create
from .checks import Check, dovecot_check, python_check


@dataclass(frozen=True)
class SetupResult:
    settings: Settings
    master_key: str | None  # the raw key, only when newly generated
    created: bool
    checks: list[Check]

    def to_dict(self) -> dict[str, Any]:
        return {
            "home": str(self.settings.home), "config": str(self.settings.config_path),
            "mail_host": self.settings.mail_host, "domain": self.settings.domain,
            "api_url": self.settings.api_url, "owner_email": self.settings.owner_email,
            "created": self.created, "master_key": self.master_key,
            "checks": [c.to_dict() for c in self.checks],
        }


def run_setup(settings: Settings, *, mail_host: str = "local", api_port: int | None = None,
              owner_email: str | None = None) -> SetupResult:
    if mail_host != "local":
        raise ConfigError(f"the {mail_host!r} mail host is not available in this version",
                          hint="use --mail-host local")
    if owner_email:
        owner_email = validate_address(owner_email)
    if api_port is not None and not 1 <= api_port <= 65535:
        raise ConfigError(f"invalid API port {api_port}")
    changes: dict[str, Any] = {"mail_host": mail_host}
    if api_port is not None:
        changes["api_port"] = api_port
    if owner_email:
        changes["owner_email"] = owner_email
    settings = replace(settings, **changes)

    checks = [python_check(), dovecot_check()]
    for check in checks:
        if not check.ok:
            raise DependencyMissing(f"{check.detail}", hint=check.hint)

    ensure_home(settings)
    load_or_create(settings.secret_key_path)
    db = Database(settings.db_path)
    try:
        migrate(db)
        raw_key: str | None = None
        existing = settings.master_key
        if existing and agent_store.key_by_hash(db, hash_key(existing)) is not None:
            key = existing
        else:
            key = existing or generate_master_key()
            raw_key = None if existing else key
            with db.write() as conn:
                agent_store.revoke_keys(conn, kind="master")
                agent_store.insert_key(conn, kind="master", key_hash=hash_key(key),
                                       prefix=key_prefix(key))
        created = not settings.config_path.exists()
        settings = replace(settings, master_key=key)
        save_settings(settings)
    finally:
        db.close()
    return SetupResult(settings, raw_key, created, checks)
