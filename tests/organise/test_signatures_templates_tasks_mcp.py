"""The organising MCP tools (``agenticmail mcp`` as a subprocess, the SDK's stdio client, a
real daemon): a task assigned, claimed and completed by two agents' MCP servers; a template
send with a missing variable is a tool error naming it; a scheduled send cancelled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from agenticmail_testing.daemon import DaemonHandle
from tests.agents.test_mcp_e2e import _call, _text, mcp_session


async def test_tasks_templates_and_scheduled_over_mcp(daemon: DaemonHandle,
                                                      agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    with daemon.client(alice["api_key"]) as api:
        assert api.post("/v1/templates", json={"name": "hi", "subject": "Hi {{ who }}",
                                               "text": "Hello {{ who }}"}).status_code == 201
    async with mcp_session(daemon, alice["api_key"]) as a, \
            mcp_session(daemon, bob["api_key"]) as b:
        names = {t.name for t in (await a.list_tools()).tools}
        assert {"assign_task", "list_tasks", "claim_task", "finish_task", "list_templates",
                "send_from_template", "list_scheduled", "cancel_scheduled"} <= names

        task = json.loads(await _call(a, "assign_task", assignee=bob["agent"]["name"],
                                      type="summarise", payload={"uid": 3}))
        listed = json.loads(await _call(b, "list_tasks"))
        assert [t["id"] for t in listed] == [task["id"]]
        claimed = json.loads(await _call(b, "claim_task", task_id=task["id"]))
        assert claimed["status"] == "claimed"
        again = await b.call_tool("claim_task", {"task_id": task["id"]})
        assert again.isError and "task_already_claimed" in _text(again)
        done = json.loads(await _call(b, "finish_task", task_id=task["id"], ok=True,
                                      result={"summary": "short"}))
        assert (done["status"], done["result"]) == ("completed", {"summary": "short"})
        unknown = await b.call_tool("claim_task", {"task_id": "task_nope"})
        assert unknown.isError and "task_not_found" in _text(unknown)

        assert "who" in await _call(a, "list_templates")
        missing = await a.call_tool("send_from_template", {
            "to": [bob["agent"]["address"]], "template": "hi"})
        assert missing.isError and "template_variable_missing" in _text(missing)
        assert "who" in _text(missing)
        sent = json.loads(await _call(a, "send_from_template", to=[bob["agent"]["address"]],
                                      template="hi", variables={"who": "Bob"}))
        assert sent["status"] == "queued"

        with daemon.client(alice["api_key"]) as api:
            later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
            queued = api.post("/v1/mail/send", json={"to": [bob["agent"]["address"]],
                                                     "subject": "later", "text": "x",
                                                     "send_at": later}).json()
        assert queued["id"] in await _call(a, "list_scheduled")
        cancelled = json.loads(await _call(a, "cancel_scheduled", outbox_id=queued["id"]))
        assert cancelled["status"] == "cancelled"
