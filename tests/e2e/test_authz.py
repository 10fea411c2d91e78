"""Authorisation matrix: every route the app serves, with no key, a wrong key, another agent's
key; ids another agent owns; routes that carry their own proof instead of a key."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import Match

from agenticmail.api.app import create_app
from agenticmail.api.routing import serving_routes
from agenticmail.services.arrivals import PUSH_PATH
from agenticmail.services.domain_config import INBOUND_PATH
from agenticmail_testing.daemon import DaemonHandle, unique
from agenticmail_testing.ports import free_ports
from agenticmail_testing.sse import EventStream

Route = tuple[str, str, dict[str, Any] | None]
OTHER = "{other}"
A_MESSAGE = base64.b64encode(b"From: x@example.org\r\nSubject: x\r\n\r\nx\r\n").decode()

# (method, path, json body) for every route that acts on a named agent, acting on OTHER: an
# agent key naming another agent is 403 ``forbidden`` before anything is looked up. Bodies are
# valid, so each call reaches the authorisation check.
AGENT_SCOPED: list[Route] = [
    ("GET", "/v1/agents/{other}", None),
    ("PATCH", "/v1/agents/{other}/metadata", {"metadata": {"x": 1}}),
    ("POST", "/v1/mail/send", {"agent": OTHER, "to": ["x@localhost"], "text": "x"}),
    ("GET", "/v1/mail/outbox?agent={other}", None),
    ("GET", "/v1/mail/scheduled?agent={other}", None),
    ("GET", "/v1/mail/messages?agent={other}", None),
    ("GET", "/v1/mail/messages/1?agent={other}", None),
    ("POST", "/v1/mail/messages/1/reply", {"agent": OTHER, "text": "x"}),
    ("POST", "/v1/mail/messages/1/forward", {"agent": OTHER, "to": ["x@localhost"]}),
    ("GET", "/v1/mail/messages/1/attachments/0?agent={other}", None),
    ("GET", "/v1/mail/search?agent={other}&subject=x", None),
    ("POST", "/v1/mail/messages/1/move", {"agent": OTHER, "to": "Archive"}),
    ("POST", "/v1/mail/messages/1/flags", {"agent": OTHER, "add": ["seen"]}),
    ("DELETE", "/v1/mail/messages/1?agent={other}", None),
    ("POST", "/v1/mail/batch", {"agent": OTHER, "action": "read", "uids": [1]}),
    ("GET", "/v1/mail/folders?agent={other}", None),
    ("POST", "/v1/mail/folders", {"agent": OTHER, "name": "Projects"}),
    ("POST", "/v1/mail/messages/1/not-spam?agent={other}", None),
    ("GET", "/v1/mail/spam-log?agent={other}", None),
    ("GET", "/v1/mail/threads?agent={other}", None),
    ("GET", "/v1/mail/threads/t_x?agent={other}", None),
    ("GET", "/v1/mail/wait?agent={other}&timeout=0", None),
    ("GET", "/v1/mail/export?agent={other}", None),
    ("POST", "/v1/mail/import", {"agent": OTHER, "raw_base64": A_MESSAGE}),
    ("POST", "/v1/mail/drafts", {"agent": OTHER, "subject": "x"}),
    ("GET", "/v1/mail/drafts?agent={other}", None),
    ("GET", "/v1/mail/drafts/dr_x?agent={other}", None),
    ("PATCH", "/v1/mail/drafts/dr_x", {"agent": OTHER, "subject": "y"}),
    ("POST", "/v1/mail/drafts/dr_x/send", {"agent": OTHER}),
    ("DELETE", "/v1/mail/drafts/dr_x?agent={other}", None),
    ("GET", "/v1/events?agent={other}", None),
    ("GET", "/v1/pending?agent={other}", None),
    ("GET", "/v1/tags?agent={other}", None),
    ("POST", "/v1/tags", {"agent": OTHER, "name": "x"}),
    ("DELETE", "/v1/tags/x?agent={other}", None),
    ("GET", "/v1/tags/x/messages?agent={other}", None),
    ("POST", "/v1/tags/x/messages", {"agent": OTHER, "uids": [1]}),
    ("DELETE", "/v1/tags/x/messages/1?agent={other}", None),
    ("GET", "/v1/rules?agent={other}", None),
    ("POST", "/v1/rules", {"agent": OTHER, "name": "r"}),
    ("POST", "/v1/rules/test", {"agent": OTHER}),
    ("GET", "/v1/rules/r?agent={other}", None),
    ("PATCH", "/v1/rules/r", {"agent": OTHER, "enabled": False}),
    ("DELETE", "/v1/rules/r?agent={other}", None),
    ("GET", "/v1/contacts?agent={other}", None),
    ("POST", "/v1/contacts", {"agent": OTHER, "address": "x@example.org"}),
    ("GET", "/v1/contacts/x@example.org?agent={other}", None),
    ("PATCH", "/v1/contacts/x@example.org", {"agent": OTHER, "name": "x"}),
    ("DELETE", "/v1/contacts/x@example.org?agent={other}", None),
    ("POST", "/v1/signatures", {"agent": OTHER, "name": "s", "text": "x"}),
    ("GET", "/v1/signatures?agent={other}", None),
    ("GET", "/v1/signatures/s?agent={other}", None),
    ("PATCH", "/v1/signatures/s", {"agent": OTHER, "text": "y"}),
    ("DELETE", "/v1/signatures/s?agent={other}", None),
    ("POST", "/v1/templates", {"agent": OTHER, "name": "t", "text": "x"}),
    ("GET", "/v1/templates?agent={other}", None),
    ("GET", "/v1/templates/t?agent={other}", None),
    ("PATCH", "/v1/templates/t", {"agent": OTHER, "text": "y"}),
    ("POST", "/v1/templates/t/render", {"agent": OTHER}),
    ("DELETE", "/v1/templates/t?agent={other}", None),
    ("POST", "/v1/tasks", {"agent": OTHER, "assignee": OTHER, "type": "x"}),
    ("GET", "/v1/tasks?agent={other}", None),
    ("GET", "/v1/tasks/task_x?agent={other}", None),
    ("POST", "/v1/tasks/task_x/claim", {"agent": OTHER}),
    ("POST", "/v1/tasks/task_x/complete", {"agent": OTHER}),
    ("POST", "/v1/tasks/task_x/fail", {"agent": OTHER}),
    ("POST", "/v1/webhooks", {"url": "https://example.org/hook", "agent": OTHER}),
    ("GET", "/v1/webhooks?agent={other}", None),
    ("GET", "/v1/suppressions?agent={other}", None),
    ("POST", "/v1/suppressions", {"agent": OTHER, "address": "x@example.org"}),
    ("DELETE", "/v1/suppressions/x@example.org?agent={other}", None),
]
# The owner's alone: an agent key is 403 even on its own name.
MASTER_ONLY: list[Route] = [
    ("POST", "/v1/agents", {"name": "intruder"}),
    ("DELETE", "/v1/agents/{other}", None),
    ("POST", "/v1/agents/{other}/rotate-key", None),
    ("POST", "/v1/agents/{other}/rotate-password", None),
    ("GET", "/v1/agents/{other}/keys", None),
    ("POST", "/v1/agents/{other}/keys", {"name": "tool"}),
    ("DELETE", "/v1/agents/{other}/keys/tool", None),
    ("GET", "/v1/route", None),
    ("PUT", "/v1/route", {"host": "smtp.example.com", "address": "o@example.com"}),
    ("DELETE", "/v1/route", None),
    ("GET", "/v1/relay", None),
    ("GET", "/v1/relay/presets", None),
    ("PUT", "/v1/relay", {"provider": "gmail", "address": "o@example.com", "password": "x"}),
    ("DELETE", "/v1/relay", None),
    ("GET", "/v1/policies/{other}", None),
    ("PUT", "/v1/policies/{other}", {"policy": ""}),
    ("DELETE", "/v1/policies/{other}", None),
    ("POST", "/v1/policies/{other}/test", {"message": "Subject: x\r\n\r\nx\r\n"}),
    ("GET", "/v1/domain/outbound", None),
    ("PUT", "/v1/domain/outbound", {"path": "direct"}),
    ("GET", "/v1/audit", None),
    ("GET", "/v1/audit/verify", None),
    ("POST", "/v1/pending/pm_x/approve", None),
    ("POST", "/v1/pending/pm_x/reject", None),
    ("GET", "/v1/domain/dmarc", None),
    ("POST", "/v1/domain/dmarc", {"content": "PGZlZWRiYWNrLz4="}),
    ("GET", "/v1/domain/status", None),
    ("GET", "/v1/domain/check?name=example.com", None),
    ("GET", "/v1/domain", None),
    ("POST", "/v1/domain/setup", {"domain": "example.com", "token": "x"}),
    ("POST", "/v1/domain/teardown", {}),
    ("GET", "/metrics", None),  # Settings.metrics_access: the master key by default
]
# Routes keyed by an id (of an outbox entry, a held message, a draft, a task, a webhook
# endpoint): an agent key on another agent's id reads and changes nothing, and the answer is
# that of an id that does not exist (404; docs/security.md).
ID_SCOPED: list[Route] = [
    ("GET", "/v1/mail/outbox/{outbox}", None),
    ("POST", "/v1/mail/outbox/{outbox}/cancel", None),
    ("GET", "/v1/pending/{pending}", None),
    ("GET", "/v1/mail/drafts/{draft}", None),
    ("PATCH", "/v1/mail/drafts/{draft}", {"subject": "hijacked"}),
    ("POST", "/v1/mail/drafts/{draft}/send", {}),
    ("DELETE", "/v1/mail/drafts/{draft}", None),
    ("GET", "/v1/tasks/{task}", None),
    ("POST", "/v1/tasks/{task}/claim", {}),
    ("POST", "/v1/tasks/{task}/complete", {"result": "hijacked"}),
    ("POST", "/v1/tasks/{task}/fail", {"result": "hijacked"}),
    ("GET", "/v1/webhooks/{webhook}", None),
    ("PATCH", "/v1/webhooks/{webhook}", {"enabled": True}),
    ("DELETE", "/v1/webhooks/{webhook}", None),
    ("POST", "/v1/webhooks/{webhook}/rotate-secret", None),
    ("POST", "/v1/webhooks/{webhook}/test", None),
    ("POST", "/v1/webhooks/{webhook}/replay", {"since": "2020-01-01T00:00:00Z"}),
    ("GET", "/v1/webhooks/{webhook}/deliveries", None),
]
ID_ANSWER = {"outbox": (404, "not_found"), "pending": (404, "not_found"),
             "draft": (404, "not_found"), "task": (404, "task_not_found"),
             "webhook": (404, "not_found")}
NO_SUCH_ID = {"{outbox}": "ob_x", "{pending}": "pm_x", "{draft}": "dr_x", "{task}": "task_x",
              "{webhook}": "wh_x"}
# Public, but proven by something other than a key (tested below: a forged or absent proof
# is refused and changes nothing).
OWN_PROOF: list[Route] = [
    ("POST", PUSH_PATH, None),  # the mail host's push secret
    ("POST", "/v1/unsubscribe/tok", None),  # the one-click HMAC token
    ("GET", "/v1/unsubscribe/tok", None),  # the page that makes that POST
    # domain mode's Email Worker: its Standard Webhooks signature (tests/domain/)
    ("POST", INBOUND_PATH, None),
]
PUBLIC = {("GET", "/v1/health"), ("GET", "/v1/openapi.json"), ("GET", "/v1/docs"),
          ("GET", "/v1/docs/oauth2-redirect"),
          ("*", "/v1/docs/assets")}  # a mount: the docs page's static files
SELF_ONLY = {("GET", "/v1/agents")}  # an agent key lists itself (test below)


def _fill(value: Any, other: str) -> Any:
    if isinstance(value, str):
        return value.replace(OTHER, other)
    if isinstance(value, dict):
        return {k: _fill(v, other) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, other) for v in value]
    return value


def _call(daemon: DaemonHandle, key: str | None, route: Route, other: str) -> Any:
    method, path, body = route
    with daemon.client(key) as client:
        return client.request(method, _fill(path, other), json=_fill(body, other))


def _with_ids(path: str, ids: dict[str, str]) -> str:
    for placeholder, value in ids.items():
        path = path.replace(placeholder, value)
    return path


def _served(app: FastAPI) -> set[tuple[str, str]]:
    """(method, template) of everything served; ``*`` for a mount (any method, any path
    below it)."""
    return {(m, str(getattr(route, "path", ""))) for route in serving_routes(app.routes)
            for m in set(getattr(route, "methods", None) or {"*"}) - {"HEAD"}}


def _template(app: FastAPI, method: str, path: str) -> str:
    """The template of the route that serves this call (the router's own matching)."""
    scope = {"type": "http", "method": method, "path": path.split("?")[0], "root_path": ""}
    for route in serving_routes(app.routes):
        if route.matches(scope)[0] == Match.FULL:
            return str(getattr(route, "path", ""))
    raise AssertionError(f"no route serves {method} {path}")


def test_the_matrix_covers_every_route(daemon: DaemonHandle) -> None:
    assert daemon.daemon is not None
    app = create_app(daemon.daemon.ctx)
    served = _served(app)
    assert len(served) > 100, sorted(served)  # the routers' routes, not just the app's own
    calls = [(m, _fill(p, "nobody")) for m, p, _ in AGENT_SCOPED + MASTER_ONLY + OWN_PROOF]
    calls += [(m, _with_ids(p, NO_SUCH_ID)) for m, p, _ in ID_SCOPED]
    covered = {(m, _template(app, m, p)) for m, p in calls} | PUBLIC | SELF_ONLY
    assert served - covered == set()
    assert covered - served == set()


@pytest.mark.parametrize("route", AGENT_SCOPED + MASTER_ONLY + ID_SCOPED,
                         ids=lambda r: f"{r[0]} {r[1]}")
def test_no_key_or_wrong_key_is_401(daemon: DaemonHandle, route: Route) -> None:
    method, path, body = route
    for key in (None, "ak_" + "0" * 48, "mk_" + "0" * 48, "not-a-key"):
        response = _call(daemon, key, (method, _with_ids(path, NO_SUCH_ID), body), "nobody")
        assert response.status_code == 401, (key, response.text)
        assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("route", AGENT_SCOPED, ids=lambda r: f"{r[0]} {r[1]}")
def test_another_agents_key_is_403(daemon: DaemonHandle, agent_pair: tuple, route: Route
                                   ) -> None:
    alice, bob = agent_pair
    response = _call(daemon, alice["api_key"], route, bob["agent"]["name"])
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("route", AGENT_SCOPED, ids=lambda r: f"{r[0]} {r[1]}")
def test_naming_no_agent_is_the_same_403(daemon: DaemonHandle, agent_pair: tuple,
                                         route: Route) -> None:
    """Whether the other agent exists is not told either."""
    alice, _ = agent_pair
    response = _call(daemon, alice["api_key"], route, unique("ghost"))
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("route", MASTER_ONLY, ids=lambda r: f"{r[0]} {r[1]}")
def test_agent_key_on_master_routes_is_403(daemon: DaemonHandle, agent_pair: tuple,
                                           route: Route) -> None:
    alice, _ = agent_pair
    # even on its own name, an agent cannot delete itself or rotate its own key
    response = _call(daemon, alice["api_key"], route, alice["agent"]["name"])
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


def _later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data


@pytest.fixture
def bobs_things(daemon: DaemonHandle, agent_pair: tuple) -> Iterator[dict[str, str]]:
    """One of each id-keyed thing that is bob's (or, for a task, bob's and carol's)."""
    _, bob = agent_pair
    carol = daemon.create_agent(unique("c"))
    bob_name = bob["agent"]["name"]
    with daemon.client(bob["api_key"]) as b, daemon.client() as owner:
        outbox = _ok(b.post("/v1/mail/send", json={
            "to": [carol["agent"]["address"]], "subject": "later", "text": "x",
            "send_at": _later(7 * 86400)}), 202)["id"]
        sink_port = free_ports(1)[0]  # nothing listens: the held message never leaves
        _ok(owner.put("/v1/route", json={"host": "127.0.0.1", "port": sink_port,
                                         "address": "owner@example.org"}))
        try:
            held = _ok(b.post("/v1/mail/send", json={
                "to": ["friend@example.org"], "subject": "creds",
                "text": "deploy key AKIAZ7Q3XK2M4N6P8R1T"}), 202)
        finally:
            _ok(owner.delete("/v1/route"))
        assert held["status"] == "held", held
        draft = _ok(b.post("/v1/mail/drafts", json={"to": [carol["agent"]["address"]],
                                                     "subject": "bob's draft", "text": "x"}),
                    201)["draft"]["id"]
        task = _ok(b.post("/v1/tasks", json={"assignee": carol["agent"]["name"],
                                             "type": "review"}), 201)["task"]["id"]
        webhook = _ok(owner.post("/v1/webhooks", json={
            "url": f"http://127.0.0.1:{sink_port}/hook", "agent": bob_name}), 201)["webhook"]["id"]
        everyone = _ok(owner.post("/v1/webhooks", json={
            "url": f"http://127.0.0.1:{sink_port}/all"}), 201)["webhook"]["id"]
        for endpoint in (webhook, everyone):
            _ok(owner.patch(f"/v1/webhooks/{endpoint}", json={"enabled": False}))
        try:
            yield {"outbox": outbox, "pending": held["pending_id"], "draft": draft,
                   "task": task, "webhook": webhook, "owners_webhook": everyone,
                   "carol": carol["api_key"]}
        finally:
            owner.delete(f"/v1/webhooks/{everyone}")
            owner.post(f"/v1/pending/{held['pending_id']}/reject")
            owner.post(f"/v1/mail/outbox/{outbox}/cancel")
            owner.delete(f"/v1/webhooks/{webhook}")


def _state(daemon: DaemonHandle, bob: dict[str, Any], things: dict[str, str]
           ) -> dict[str, Any]:
    """What the owner and bob see of bob's things (each call refused must leave it so)."""
    with daemon.client() as owner, daemon.client(bob["api_key"]) as b:
        outbox = _ok(owner.get(f"/v1/mail/outbox/{things['outbox']}"))["outbox"]
        pending = _ok(owner.get(f"/v1/pending/{things['pending']}"))["pending"]
        return {
            "outbox": outbox,
            "pending": pending,
            "draft": _ok(b.get(f"/v1/mail/drafts/{things['draft']}"))["draft"],
            "task": _ok(owner.get(f"/v1/tasks/{things['task']}"))["task"],
            "webhook": _ok(owner.get(f"/v1/webhooks/{things['webhook']}"))["webhook"],
            "deliveries": _ok(owner.get(f"/v1/webhooks/{things['webhook']}/deliveries")),
            "owners_webhook": _ok(owner.get(f"/v1/webhooks/{things['owners_webhook']}")),
        }


@pytest.mark.parametrize("route", ID_SCOPED, ids=lambda r: f"{r[0]} {r[1]}")
def test_another_agents_id_is_neither_read_nor_changed(
        daemon: DaemonHandle, agent_pair: tuple, bobs_things: dict[str, str], route: Route
) -> None:
    alice, bob = agent_pair
    method, path, body = route
    kind = path.split("{")[1].split("}")[0]
    before = _state(daemon, bob, bobs_things)
    # a webhook endpoint: bob's, and the owner's for every agent's events
    targets = [bobs_things[kind]] + ([bobs_things["owners_webhook"]] if kind == "webhook"
                                     else [])
    for target in targets:
        response = _call(daemon, alice["api_key"],
                         (method, path.replace(f"{{{kind}}}", target), body), "-")
        status, code = ID_ANSWER[kind]
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        assert bob["agent"]["name"] not in response.text  # nothing of the row in the answer
    if status == 404:  # as unknown as an id that does not exist
        ghost = _call(daemon, alice["api_key"], (method, _with_ids(path, NO_SUCH_ID), body), "-")
        assert (ghost.status_code, ghost.json()["error"]["code"]) == (status, code)
    assert _state(daemon, bob, bobs_things) == before


def test_only_the_assignee_acts_on_a_task_and_no_one_else_sees_it(
        daemon: DaemonHandle, agent_pair: tuple, bobs_things: dict[str, str]) -> None:
    """Bob assigned carol a task: bob (the assigner) sees it but may not claim, complete or
    fail it; alice (unrelated) neither sees nor finds it; carol alone claims and finishes."""
    alice, bob = agent_pair
    task = bobs_things["task"]
    with daemon.client(alice["api_key"]) as a, daemon.client(bob["api_key"]) as b, \
            daemon.client(bobs_things["carol"]) as c:
        for role in ("assignee", "assigner"):
            listed = _ok(a.get("/v1/tasks", params={"role": role}))["tasks"]
            assert task not in [t["id"] for t in listed]
        assert [t["id"] for t in _ok(b.get("/v1/tasks", params={"role": "assigner"}))["tasks"]
                ] == [task]
        assert _ok(b.get(f"/v1/tasks/{task}"))["task"]["status"] == "assigned"
        for verb in ("claim", "complete", "fail"):
            refused = b.post(f"/v1/tasks/{task}/{verb}", json={})
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "not_assignee"
        assert _ok(c.post(f"/v1/tasks/{task}/claim", json={}))["task"]["status"] == "claimed"
        for verb in ("complete", "fail"):
            assert a.post(f"/v1/tasks/{task}/{verb}", json={}).status_code == 404
            assert b.post(f"/v1/tasks/{task}/{verb}", json={}).status_code == 403
        done = _ok(c.post(f"/v1/tasks/{task}/complete", json={"result": {"ok": True}}))
        assert done["task"]["status"] == "completed"
        assert done["task"]["result"] == {"ok": True}
        marker = _ok(b.post("/v1/tasks", json={"assignee": alice["agent"]["name"],
                                               "type": "marker"}), 201)["task"]["id"]
    # every event alice may see, from the first, up to her own task: none of carol's
    with EventStream(daemon.api_url, alice["api_key"], last_event_id=0) as replay:
        seen = [replay.next()]
        while seen[-1]["data"].get("task_id") != marker:
            seen.append(replay.next())
    assert task not in json.dumps(seen)


def test_a_push_without_the_mail_hosts_secret_is_refused(daemon: DaemonHandle,
                                                         agent_pair: tuple) -> None:
    alice, _ = agent_pair
    assert daemon.daemon is not None
    secret = daemon.daemon.ctx.host.push_secret
    user = {"X-Mailbox-User": alice["agent"]["address"]}
    for key in (None, "wrong", daemon.master_key, alice["api_key"]):
        with daemon.client(key) as client:
            refused = client.post(PUSH_PATH, headers=user)
        assert refused.status_code == 401, (key, refused.text)
        assert refused.json()["error"]["code"] == "unauthorized"
    if secret:  # the host pushes: its own secret is accepted
        with daemon.client(secret) as host:
            assert host.post(PUSH_PATH, headers=user).status_code == 204


def test_a_forged_unsubscribe_token_is_refused_and_suppresses_nothing(
        daemon: DaemonHandle, agent_pair: tuple) -> None:
    from agenticmail.services.suppressions import unsubscribe_token

    alice, bob = agent_pair
    assert daemon.daemon is not None
    ctx = daemon.daemon.ctx
    genuine = unsubscribe_token(ctx, _agent(daemon, bob), "reader@example.org")
    body, _, mac = genuine.partition(".")
    theirs = unsubscribe_token(ctx, _agent(daemon, alice), "reader@example.org")
    forged = [
        "", "x", body, f"{body}.", f"{body}.{'0' * 32}",  # no token, no or a made-up MAC
        f"{theirs.partition('.')[0]}.{mac}",  # bob's MAC on alice's agent
        f"{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{mac}",  # altered body
    ]
    with daemon.client(None) as anon:
        for token in forged:
            for method in ("GET", "POST"):
                refused = anon.request(method, f"/v1/unsubscribe/{token}")
                assert refused.status_code in (400, 404, 405), (token, refused.text)
                if refused.status_code == 400:
                    assert refused.json()["error"]["code"] == "invalid_unsubscribe_token"
        assert anon.get(f"/v1/unsubscribe/{genuine}").status_code == 200  # a page, no more
    for who in (alice, bob):
        with daemon.client(who["api_key"]) as api:
            assert _ok(api.get("/v1/suppressions"))["suppressions"] == []
    with daemon.client(None) as anon:  # the genuine token works: the refusals were the proof
        _ok(anon.post(f"/v1/unsubscribe/{genuine}"))
    with daemon.client(bob["api_key"]) as api:
        listed = _ok(api.get("/v1/suppressions"))["suppressions"]
    assert [s["address"] for s in listed] == ["reader@example.org"]


def _agent(daemon: DaemonHandle, created: dict[str, Any]) -> Any:
    from agenticmail.services.agents import get_agent

    assert daemon.daemon is not None
    return get_agent(daemon.daemon.ctx, created["agent"]["name"])


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
