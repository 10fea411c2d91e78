"""The outbound route for mail to the internet: one SMTP account (password encrypted at rest)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest
from ..mail.addresses import plus_address, validate_address
from ..mail.smtp import TLS_MODES, SmtpRoute
from ..store import kv
from . import relay_oauth
from .context import ServiceContext, transaction

ROUTE_KEY = "route.smtp"


@dataclass(frozen=True)
class RouteInput:
    host: str
    port: int
    tls: str
    address: str
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    oauth: bool = False  # the relay's OAuth2 grant signs in (XOAUTH2), no password stored


def set_route(ctx: ServiceContext, route: RouteInput) -> SmtpRoute:
    if route.tls not in TLS_MODES:
        raise InvalidRequest(f"tls must be one of {', '.join(TLS_MODES)}")
    if not route.host or not 0 < route.port < 65536:
        raise InvalidRequest("the route needs a host and a port between 1 and 65535")
    address = validate_address(route.address)
    stored: dict[str, Any] = {
        "host": route.host, "port": route.port, "tls": route.tls, "address": address,
        "username": route.username, "ca_file": route.ca_file, "oauth": route.oauth,
        "password_enc": ctx.secrets.encrypt(route.password) if route.password else None,
    }
    with transaction(ctx) as tx:
        kv.put(tx.conn, ROUTE_KEY, json.dumps(stored))
    result = get_route(ctx)
    assert result is not None
    return result


def clear_route(ctx: ServiceContext) -> None:
    with transaction(ctx) as tx:
        tx.conn.execute("DELETE FROM config WHERE key = ?", (ROUTE_KEY,))


def route_address(ctx: ServiceContext) -> str | None:
    """The route's own address, or None without a route (no password decrypted: for the
    checks made on every send)."""
    raw = kv.get(ctx.db, ROUTE_KEY)
    return None if raw is None else str(json.loads(raw)["address"])


def get_route(ctx: ServiceContext) -> SmtpRoute | None:
    raw = kv.get(ctx.db, ROUTE_KEY)
    if raw is None:
        return None
    data = json.loads(raw)
    oauth = bool(data.get("oauth"))
    if oauth:  # a fresh access token (renewed before it expires); SignInRequired if revoked
        password: str | None = relay_oauth.access_token(ctx, data["address"])[0]
    else:
        password = ctx.secrets.decrypt(data["password_enc"]) if data.get("password_enc") \
            else None
    return SmtpRoute(host=data["host"], port=int(data["port"]), tls=data["tls"],
                     username=data.get("username"), password=password, address=data["address"],
                     ca_file=data.get("ca_file"), oauth=oauth)


def route_summary(route: SmtpRoute | None) -> dict[str, Any] | None:
    if route is None:
        return None
    return {"host": route.host, "port": route.port, "tls": route.tls, "address": route.address,
            "username": route.username,
            "has_password": route.password is not None and not route.oauth,
            **({"auth": "oauth2"} if route.oauth else {})}


def external_sender(route: SmtpRoute, agent_name: str) -> str:
    """The address an agent's external mail comes from: ``owner+agent@domain``."""
    return plus_address(route.address, agent_name)
