"""Changes made through the API are audited with an action, a target and an outcome (issue 17
#10): a failed create no longer looks like a successful one, and the chain still verifies."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.middleware.base import BaseHTTPMiddleware

from agenticmail.api.app import create_app
from agenticmail_testing.daemon import DaemonHandle, unique


def entries_since(owner: httpx.Client, newest_id: int) -> list[dict[str, Any]]:
    page = owner.get("/v1/audit", params={"limit": 100}).json()
    return [e for e in reversed(page["entries"]) if e["id"] > newest_id]


def newest(owner: httpx.Client) -> int:
    entry_id: int = owner.get("/v1/audit", params={"limit": 1}).json()["entries"][0]["id"]
    return entry_id


def test_agent_create_is_audited_with_its_outcome(daemon: DaemonHandle) -> None:
    name = unique("aud")
    with daemon.client() as owner:
        # another agent, so the one created here is not the last one (which cannot be deleted)
        assert owner.post("/v1/agents", json={"name": unique("keep")}).status_code == 201
        start = newest(owner)
        assert owner.post("/v1/agents", json={"name": name}).status_code == 201
        again = owner.post("/v1/agents", json={"name": name})
        assert again.status_code == 409
        bad = owner.post("/v1/agents", json={"name": "Not A Name!"})
        assert bad.status_code == 400
        assert owner.delete(f"/v1/agents/{name}").status_code == 200
        assert owner.delete(f"/v1/agents/{name}").status_code == 404
        found = [e for e in entries_since(owner, start) if e["action"] != "key.master"]
        assert [(e["actor"], e["action"], e["subject"], e["detail"]["outcome"])
                for e in found] == [
            ("owner", "agent.create", name, "ok"),
            ("owner", "agent.create", name, "conflict"),
            ("owner", "agent.create", "Not A Name!", "invalid_request"),
            ("owner", "agent.delete", name, "ok"),
            ("owner", "agent.delete", name, "not_found"),
        ]
        assert found[0]["detail"] == {"request": "POST /v1/agents", "status": 201,
                                      "outcome": "ok"}
        assert found[-1]["detail"]["request"] == "DELETE /v1/agents/{name}"
        report = owner.get("/v1/audit/verify").json()
        assert report["ok"] is True, report["problems"]


def test_an_agent_key_change_is_not_an_owner_entry(daemon: DaemonHandle) -> None:
    """Only the master key's changes are recorded here (agents' sends are audited by the
    services), and reads of owner-only routes keep the plain key.master record."""
    name = unique("aud")
    with daemon.client() as owner:
        created = owner.post("/v1/agents", json={"name": name}).json()
        start = newest(owner)
        with daemon.client(created["api_key"]) as agent:
            denied = agent.delete(f"/v1/agents/{name}")
            assert denied.status_code == 403
            agent.patch(f"/v1/agents/{name}/metadata", json={"metadata": {"k": "v"}})
        owner.get("/v1/route")
        found = entries_since(owner, start)
        assert [(e["action"], e["subject"]) for e in found] == [
            ("key.master", "GET /v1/route"), ("key.master", "GET /v1/audit")]


def test_the_audit_trail_costs_other_requests_no_extra_task(daemon: DaemonHandle) -> None:
    """The audit trail is a pure ASGI middleware: Starlette's BaseHTTPMiddleware (what
    ``@app.middleware("http")`` installs) runs every request, an agent's send included, in an
    extra task with memory streams."""
    assert daemon.daemon is not None
    app = create_app(daemon.daemon.ctx)
    assert not [m for m in app.user_middleware if m.cls is BaseHTTPMiddleware]
