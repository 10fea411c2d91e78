"""Authorisation matrix: every route, with no key, a wrong key, another agent's key."""

from __future__ import annotations

from typing import Any

import pytest

from agenticmail.api.app import create_app
from agenticmail_testing.daemon import DaemonHandle

OTHER = "{other}"
# (method, path, json body or None) for every agent-scoped route, acting on OTHER's mail.
AGENT_SCOPED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/agents/{other}", None),
    ("PATCH", "/v1/agents/{other}/metadata", {"metadata": {"x": 1}}),
    ("POST", "/v1/mail/send", {"agent": OTHER, "to": ["x@localhost"], "text": "x"}),
    ("GET", "/v1/mail/messages?agent={other}", None),
    ("GET", "/v1/mail/messages/1?agent={other}", None),
    ("GET", "/v1/mail/messages/1/attachments/0?agent={other}", None),
    ("GET", "/v1/mail/search?agent={other}&subject=x", None),
    ("POST", "/v1/mail/messages/1/move", {"agent": OTHER, "to": "Archive"}),
    ("POST", "/v1/mail/messages/1/flags", {"agent": OTHER, "add": ["seen"]}),
    ("DELETE", "/v1/mail/messages/1?agent={other}", None),
    ("POST", "/v1/mail/batch", {"agent": OTHER, "action": "read", "uids": [1]}),
    ("GET", "/v1/mail/folders?agent={other}", None),
    ("POST", "/v1/mail/folders", {"agent": OTHER, "name": "Projects"}),
    ("GET", "/v1/events?agent={other}", None),
    ("GET", "/v1/mail/outbox?agent={other}", None),
    ("GET", "/v1/pending?agent={other}", None),
    ("POST", "/v1/mail/messages/1/not-spam?agent={other}", None),
    ("GET", "/v1/mail/spam-log?agent={other}", None),
]
MASTER_ONLY: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/v1/agents", {"name": "intruder"}),
    ("DELETE", "/v1/agents/{other}", None),
    ("POST", "/v1/agents/{other}/rotate-key", None),
    ("GET", "/v1/route", None),
    ("PUT", "/v1/route", {"host": "smtp.example.com", "address": "o@example.com"}),
    ("DELETE", "/v1/route", None),
    ("GET", "/v1/audit", None),
    ("GET", "/v1/audit/verify", None),
    ("POST", "/v1/pending/pm_x/approve", None),
    ("POST", "/v1/pending/pm_x/reject", None),
    ("GET", "/v1/domain/dmarc", None),
    ("POST", "/v1/domain/dmarc", {"content": "PGZlZWRiYWNrLz4="}),
    ("GET", "/v1/domain/status", None),
    ("GET", "/v1/domain/check?name=example.com", None),
]
# Routes keyed by an id the caller owns; another agent's id answers 403 (tested elsewhere).
ID_SCOPED = {("GET", "/v1/mail/outbox/{outbox_id}"), ("GET", "/v1/pending/{pending_id}")}
PUBLIC = {("GET", "/v1/health"), ("GET", "/v1/openapi.json"), ("GET", "/v1/docs"),
          ("GET", "/v1/docs/oauth2-redirect")}


def _fill(value: Any, other: str) -> Any:
    if isinstance(value, str):
        return value.replace(OTHER, other)
    if isinstance(value, dict):
        return {k: _fill(v, other) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, other) for v in value]
    return value


def _call(daemon: DaemonHandle, key: str | None, route: tuple, other: str) -> Any:
    method, path, body = route
    with daemon.client(key) as client:
        return client.request(method, _fill(path, other), json=_fill(body, other))


def _template(path: str) -> str:
    import re

    path = path.split("?")[0].replace("{other}", "{name}")
    path = path.replace("/pm_x/", "/{pending_id}/")
    return re.sub(r"/\d+", lambda m: {"/1": "/{uid}", "/0": "/{index}"}[m.group(0)], path)


def test_the_matrix_covers_every_route(daemon: DaemonHandle) -> None:
    assert daemon.daemon is not None
    app = create_app(daemon.daemon.ctx)
    routes = {(m, r.path) for r in app.routes
              for m in set(getattr(r, "methods", None) or ()) - {"HEAD"}}
    covered = {(m, _template(p)) for m, p, _ in AGENT_SCOPED + MASTER_ONLY}
    assert routes - PUBLIC - covered - ID_SCOPED - {("GET", "/v1/agents")} == set()


@pytest.mark.parametrize("route", AGENT_SCOPED + MASTER_ONLY, ids=lambda r: f"{r[0]} {r[1]}")
def test_no_key_or_wrong_key_is_401(daemon: DaemonHandle, route: tuple) -> None:
    for key in (None, "ak_" + "0" * 48, "not-a-key"):
        response = _call(daemon, key, route, "nobody")
        assert response.status_code == 401, (key, response.text)
        assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("route", AGENT_SCOPED, ids=lambda r: f"{r[0]} {r[1]}")
def test_another_agents_key_is_403(daemon: DaemonHandle, agent_pair: tuple, route: tuple
                                   ) -> None:
    alice, bob = agent_pair
    response = _call(daemon, alice["api_key"], route, bob["agent"]["name"])
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("route", MASTER_ONLY, ids=lambda r: f"{r[0]} {r[1]}")
def test_agent_key_on_master_routes_is_403(daemon: DaemonHandle, agent_pair: tuple,
                                           route: tuple) -> None:
    alice, _ = agent_pair
    # even on its own name, an agent cannot delete itself or rotate its own key
    response = _call(daemon, alice["api_key"], route, alice["agent"]["name"])
    assert response.status_code == 403, response.text


def test_agent_key_sees_only_itself(daemon: DaemonHandle, agent_pair: tuple) -> None:
    alice, _ = agent_pair
    with daemon.client(alice["api_key"]) as api:
        listed = api.get("/v1/agents").json()["agents"]
        own = api.get(f"/v1/agents/{alice['agent']['name']}")
    assert [a["name"] for a in listed] == [alice["agent"]["name"]]
    assert own.status_code == 200


def test_health_needs_no_key(daemon: DaemonHandle) -> None:
    with daemon.client(None) as anon:
        body = anon.get("/v1/health").json()
    assert body["status"] == "ok" and "mail_host" not in body  # details need a key
