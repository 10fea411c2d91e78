"""The Cloudflare API, through the official ``cloudflare`` SDK: the only module that imports it.

:class:`CloudflareApi` wraps one SDK client (an API token; ``base_url`` points it at a fake in
tests, the production code path unchanged) and translates every SDK exception into
:class:`~agenticmail.errors.CloudflareError` (the API refused: its ``errors`` named) or
:class:`~agenticmail.errors.CloudflareUnavailable` (network, timeout, 5xx, 429).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, cast

import cloudflare

from ..errors import CloudflareError, CloudflareUnavailable

DEFAULT_TIMEOUT = 30.0

# the permissions domain setup needs, each with a harmless read that proves the token has it
PERMISSION_DNS = "Zone DNS edit"
PERMISSION_EMAIL_ROUTING = "Email Routing edit"
PERMISSION_WORKERS = "Workers edit"
PERMISSION_TUNNEL = "Tunnel edit"
RECORD_FIELDS = ("id", "type", "name", "content", "ttl", "proxied", "priority", "comment",
                 "data", "tags")
INGRESS_FIELDS = ("hostname", "path", "service")


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    account_id: str


def _plain(obj: Any) -> dict[str, Any]:
    """An SDK model (or a dict) as a plain dict."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    return dict(obj.to_dict())


def _record(obj: Any) -> dict[str, Any]:
    """A DNS record reduced to what setup compares, backs up and restores."""
    data = _plain(obj)
    record = {k: data.get(k) for k in RECORD_FIELDS}
    priority = record["priority"]
    record["priority"] = int(priority) if record["type"] == "MX" and priority is not None \
        else None
    return record


def _errors_text(body: Any) -> str:
    """``code: message`` of each entry in a v4 error body's ``errors`` list."""
    if not isinstance(body, dict):
        return ""
    parts = []
    for item in body.get("errors") or []:
        if isinstance(item, dict):
            code = item.get("code")
            message = str(item.get("message") or "").strip()
            parts.append(f"{code}: {message}" if code is not None else message)
    return "; ".join(p for p in parts if p)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run one SDK call (``what`` says which, for the message), translating its errors."""
    try:
        yield
    except cloudflare.APIStatusError as exc:
        detail = _errors_text(exc.body) or exc.message
        error = (CloudflareUnavailable if exc.status_code >= 500 or exc.status_code == 429
                 else CloudflareError)
        raise error(f"Cloudflare refused {what} (HTTP {exc.status_code}): {detail}") from None
    except cloudflare.APITimeoutError:
        raise CloudflareUnavailable(f"Cloudflare did not answer {what} in time") from None
    except cloudflare.APIConnectionError as exc:
        raise CloudflareUnavailable(f"cannot reach Cloudflare for {what}: {exc}") from None
    except cloudflare.CloudflareError as exc:  # the SDK's own checks (a missing id)
        raise CloudflareError(f"Cloudflare {what}: {exc}") from None


class CloudflareApi:
    """One API token's view of Cloudflare."""

    def __init__(self, token: str, *, base_url: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, max_retries: int = 2) -> None:
        self._client = cloudflare.Cloudflare(api_token=token, base_url=base_url,
                                             timeout=timeout, max_retries=max_retries)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CloudflareApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- email sending (domain mode's outbound path "cloudflare") ------------------------------

    def send_raw(self, account_id: str, sender: str, recipients: Sequence[str],
                 raw: bytes) -> None:
        """Send one RFC 5322 message through Cloudflare's email sending (envelope given)."""
        with translated("sending a message"):
            self._client.email_sending.send_raw(
                account_id=account_id, from_=sender, recipients=list(recipients),
                mime_message=raw.decode("utf-8", "surrogateescape"))

    # -- the token, its account and zone ------------------------------------------------------

    def verify_token(self) -> str:
        """The token's status: ``active`` when usable, ``invalid`` when Cloudflare does not
        know it (``expired``, ``disabled`` as Cloudflare says)."""
        with translated("verifying the API token"):
            try:
                answer = self._client.user.tokens.verify()
            except (cloudflare.BadRequestError, cloudflare.AuthenticationError,
                    cloudflare.PermissionDeniedError):
                return "invalid"  # 1000 Invalid API Token
        return str(getattr(answer, "status", "") or "")

    def find_zone(self, name: str) -> Zone | None:
        """The zone called ``name`` that this token can see, or None."""
        with translated(f"looking up the zone {name}"):
            for zone in self._client.zones.list(name=name):
                if zone.name == name:
                    return Zone(zone.id, zone.name, zone.account.id or "")
        return None

    def missing_permissions(self, zone_id: str, account_id: str) -> list[str]:
        """The permissions among the four domain setup needs that this token lacks, found by
        one harmless read each (the API answers 403 for a permission the token lacks)."""
        probes = (
            (PERMISSION_DNS, lambda: self._client.dns.records.list(zone_id=zone_id, per_page=5)),
            (PERMISSION_EMAIL_ROUTING, lambda: self._client.email_routing.get(zone_id=zone_id)),
            (PERMISSION_WORKERS,
             lambda: self._client.workers.scripts.list(account_id=account_id)),
            (PERMISSION_TUNNEL, lambda: self._client.zero_trust.tunnels.cloudflared.list(
                account_id=account_id, per_page=5)),
        )
        missing = []
        for permission, probe in probes:
            with translated(f"checking the token's {permission} permission"):
                try:
                    probe()
                except (cloudflare.PermissionDeniedError, cloudflare.AuthenticationError):
                    missing.append(permission)
        return missing

    # -- DNS records --------------------------------------------------------------------------

    def dns_records(self, zone_id: str, *, per_page: int = 100) -> list[dict[str, Any]]:
        """Every DNS record of the zone (all pages), as plain dicts (``RECORD_FIELDS``)."""
        with translated("listing the DNS records"):
            return [_record(r) for r in
                    self._client.dns.records.list(zone_id=zone_id, per_page=per_page)]

    def create_record(self, zone_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Create one record from a dict with ``RECORD_FIELDS`` (``id`` ignored)."""
        fields: dict[str, Any] = {"type": record["type"], "name": record["name"],
                                  "content": record["content"], "ttl": record.get("ttl") or 1}
        if record.get("proxied"):
            fields["proxied"] = True
        if record.get("priority") is not None:
            fields["priority"] = record["priority"]
        for name in ("comment", "data", "tags"):  # data: SRV, CAA... (a restored record)
            if record.get(name):
                fields[name] = record[name]
        with translated(f"creating the {record['type']} record {record['name']}"):
            return _record(cast(Any, self._client.dns.records).create(zone_id=zone_id,
                                                                        **fields))

    def delete_record(self, zone_id: str, record_id: str) -> bool:
        """Delete one record; False when it was gone already."""
        with translated("deleting a DNS record"):
            try:
                self._client.dns.records.delete(record_id, zone_id=zone_id)
            except cloudflare.NotFoundError:
                return False
        return True

    # -- Email Routing ------------------------------------------------------------------------

    def email_routing_enabled(self, zone_id: str) -> bool:
        with translated("reading the Email Routing settings"):
            settings = self._client.email_routing.get(zone_id=zone_id)
        return bool(settings is not None and settings.enabled)

    def enable_email_routing(self, zone_id: str, domain: str) -> None:
        """Turn Email Routing on: Cloudflare adds (and locks) its MX records and SPF."""
        with translated("enabling Email Routing"):
            self._client.email_routing.dns.create(zone_id=zone_id, name=domain)

    def disable_email_routing(self, zone_id: str) -> None:
        """Turn Email Routing off: Cloudflare removes the records it added."""
        with translated("disabling Email Routing"), suppress(cloudflare.NotFoundError):
            self._client.email_routing.dns.delete(zone_id=zone_id)

    def catch_all(self, zone_id: str) -> dict[str, Any]:
        """The catch-all rule: ``enabled``, ``matchers``, ``actions``."""
        with translated("reading the catch-all Email Routing rule"):
            rule = _plain(self._client.email_routing.rules.catch_alls.get(zone_id=zone_id))
        return {k: rule.get(k) for k in ("enabled", "matchers", "actions", "name")}

    def set_catch_all(self, zone_id: str, *, actions: list[dict[str, Any]],
                      enabled: bool, name: str = "") -> None:
        with translated("setting the catch-all Email Routing rule"):
            self._client.email_routing.rules.catch_alls.update(
                zone_id=zone_id, actions=cast(Any, actions), matchers=[{"type": "all"}],
                enabled=enabled, name=name)

    # -- Workers ------------------------------------------------------------------------------

    def worker_names(self, account_id: str) -> list[str]:
        with translated("listing the Workers"):
            return [s.id for s in self._client.workers.scripts.list(account_id=account_id)
                    if s.id]

    def upload_worker(self, account_id: str, name: str, *, module_name: str, source: str,
                      bindings: list[dict[str, Any]],
                      compatibility_date: str = "2025-01-01") -> None:
        """Upload (create or replace) a Worker made of one ES module, with its bindings."""
        metadata = {"main_module": module_name, "bindings": bindings,
                    "compatibility_date": compatibility_date}
        with translated(f"uploading the Worker {name}"):
            self._client.workers.scripts.update(
                name, account_id=account_id, metadata=cast(Any, metadata),
                files=[(module_name, source.encode(), "application/javascript+module")])

    def delete_worker(self, account_id: str, name: str) -> bool:
        with translated(f"deleting the Worker {name}"):
            try:
                self._client.workers.scripts.delete(name, account_id=account_id)
            except cloudflare.NotFoundError:
                return False
        return True

    # -- Tunnels ------------------------------------------------------------------------------

    def find_tunnel(self, account_id: str, name: str) -> str | None:
        """The id of the (not deleted) tunnel called ``name``, or None."""
        with translated(f"looking up the tunnel {name}"):
            for tunnel in self._client.zero_trust.tunnels.cloudflared.list(
                    account_id=account_id, name=name, is_deleted=False):
                if tunnel.name == name and not tunnel.deleted_at and tunnel.id:
                    return tunnel.id
        return None

    def create_tunnel(self, account_id: str, name: str) -> str:
        """A new remotely-managed tunnel (its ingress set through the API); its id."""
        with translated(f"creating the tunnel {name}"):
            tunnel = self._client.zero_trust.tunnels.cloudflared.create(
                account_id=account_id, name=name, config_src="cloudflare")
        if not tunnel.id:
            raise CloudflareError(f"Cloudflare created the tunnel {name} without an id")
        return tunnel.id

    def tunnel_token(self, account_id: str, tunnel_id: str) -> str:
        """The token ``cloudflared tunnel run`` needs."""
        with translated("reading the tunnel's token"):
            return str(self._client.zero_trust.tunnels.cloudflared.token.get(
                tunnel_id, account_id=account_id))

    def tunnel_ingress(self, account_id: str, tunnel_id: str) -> list[dict[str, Any]]:
        """The tunnel's ingress rules (empty when none were set)."""
        with translated("reading the tunnel's configuration"):
            answer = self._client.zero_trust.tunnels.cloudflared.configurations.get(
                tunnel_id, account_id=account_id)
        config = _plain(answer).get("config") or {}
        return [{k: rule[k] for k in INGRESS_FIELDS if rule.get(k)}
                for rule in config.get("ingress") or []]

    def set_tunnel_ingress(self, account_id: str, tunnel_id: str,
                           ingress: list[dict[str, Any]]) -> None:
        with translated("setting the tunnel's ingress rules"):
            self._client.zero_trust.tunnels.cloudflared.configurations.update(
                tunnel_id, account_id=account_id, config=cast(Any, {"ingress": ingress}))

    def delete_tunnel(self, account_id: str, tunnel_id: str) -> bool:
        with translated("deleting the tunnel"):
            try:
                self._client.zero_trust.tunnels.cloudflared.delete(tunnel_id,
                                                                   account_id=account_id)
            except cloudflare.NotFoundError:
                return False
        return True
