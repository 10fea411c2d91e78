"""The Python client's organising methods against a real daemon (sync and async clients are
generated from one template): typed answers, and the error classes chosen by code/status."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from agenticmail import AsyncClient, Client, errors
from agenticmail_testing.daemon import DaemonHandle, wait_until


def test_client_methods(daemon: DaemonHandle, agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    b_addr = bob["agent"]["address"]
    with Client(api_key=alice["api_key"], base_url=daemon.api_url) as a, \
            Client(api_key=bob["api_key"], base_url=daemon.api_url) as b:
        assert a.create_signature("main", text="-- A").default is True
        assert a.update_signature("main", html="<i>A</i>").html == "<i>A</i>"
        assert [s.name for s in a.list_signatures()] == ["main"]
        made = a.create_template("t", subject="S {{ x }}", text="T {{ x }}")
        assert made.variables == ["x"]
        assert a.render_template("t", {"x": 1}).text == "T 1"
        with pytest.raises(errors.InvalidRequest) as caught:
            a.send(b_addr, template="t")
        assert caught.value.code == "template_variable_missing"
        sent = a.send(b_addr, template="t", variables={"x": "y"}, signature=False)
        assert sent.status == "queued"

        task = a.assign_task(bob["agent"]["name"], "job", [1, 2])
        assert b.get_task(task.id).payload == [1, 2]
        assert b.claim_task(task.id).status == "claimed"
        with pytest.raises(errors.Conflict):
            b.claim_task(task.id)
        with pytest.raises(errors.NotFound):
            b.claim_task("task_missing")
        assert b.fail_task(task.id, {"why": "x"}).status == "failed"
        assert [t.id for t in a.list_tasks(role="assigner", status="failed")] == [task.id]

        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        queued = a.send(b_addr, "later", "x", send_at=later)
        assert [e.id for e in a.list_scheduled()] == [queued.id]
        assert a.cancel_send(queued.id).status == "cancelled"

        wait_until(lambda: b.list_messages().total >= 1, timeout=20)
        page = b.export_page()
        assert page.done and page.messages
        raw = base64.b64decode(page.messages[0].raw_base64)
        assert b.import_message(raw).status == "duplicate"  # bob has it already
        a.delete_template("t")
        a.delete_signature("main")
        assert a.list_templates() == [] and a.list_signatures() == []


async def test_async_client_claims(daemon: DaemonHandle,
                                   agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    async with AsyncClient(api_key=alice["api_key"], base_url=daemon.api_url) as a, \
            AsyncClient(api_key=bob["api_key"], base_url=daemon.api_url) as b:
        task = await a.assign_task(bob["agent"]["name"], "async-job")
        assert (await b.claim_task(task.id)).status == "claimed"
        done = await b.complete_task(task.id, "ok")
        assert (done.status, done.result) == ("completed", "ok")
