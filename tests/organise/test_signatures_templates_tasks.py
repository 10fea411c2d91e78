"""Signatures, templates, agent tasks and scheduled sends over the REST API on a real daemon
(issue 12): the signature under send/reply/forward/draft, templates in the sandbox (a missing
variable and an escape attempt are 400s), tasks with events to both agents only and exactly
one winner of racing claims, and cancelling a scheduled send."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.sse import EventStream


def _wait(api: httpx.Client, **params: Any) -> dict[str, Any]:
    r = api.get("/v1/mail/wait", params={"timeout": 20, "since": 0, **params}, timeout=30)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    assert data["timed_out"] is False, data
    return data


def _read(api: httpx.Client, uid: int) -> dict[str, Any]:
    r = api.get(f"/v1/mail/messages/{uid}")
    assert r.status_code == 200, r.text
    message: dict[str, Any] = r.json()["message"]
    return message


def _error(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    return str(error["message"])


def _later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_default_signature_is_appended_to_send_reply_and_forward(
        daemon: DaemonHandle, agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    b_addr = bob["agent"]["address"]
    with daemon.client(alice["api_key"]) as a, daemon.client(bob["api_key"]) as b:
        r = a.post("/v1/signatures", json={"name": "work", "text": "Alice\nOps team",
                                           "html": "<b>Alice</b>"})
        assert r.status_code == 201, r.text
        assert r.json()["signature"]["default"] is True  # the first one
        _error(a.post("/v1/signatures", json={"name": "work", "text": "x"}), 409,
               "signature_exists")
        _error(a.post("/v1/signatures", json={"name": "empty"}), 400, "signature_empty")
        _error(a.get("/v1/signatures/nope"), 404, "signature_not_found")

        assert a.post("/v1/mail/send", json={"to": [b_addr], "subject": "signed",
                                             "text": "Hello."}).status_code == 202
        got = _read(b, _wait(b, subject="signed")["uid"])
        assert got["text"].startswith("Hello.\n\n-- \nAlice\nOps team")
        assert a.post("/v1/mail/send", json={"to": [b_addr], "subject": "unsigned",
                                             "text": "Hello.", "signature": False}
                      ).status_code == 202
        assert "Ops team" not in _read(b, _wait(b, subject="unsigned")["uid"])["text"]
        r = a.post("/v1/mail/send", json={"to": [b_addr], "subject": "html", "text": "t",
                                          "html": "<p>Hi</p>"})
        assert r.status_code == 202
        assert "<b>Alice</b>" in (_read(b, _wait(b, subject="html")["uid"])["html"] or "")

        # a reply: the signature under the new text, above the quote
        assert b.post("/v1/mail/send", json={"to": [alice["agent"]["address"]],
                                             "subject": "question", "text": "Why?"}
                      ).status_code == 202
        uid = _wait(a, subject="question")["uid"]
        assert a.post(f"/v1/mail/messages/{uid}/reply", json={"text": "Because."}
                      ).status_code == 202
        text = _read(b, _wait(b, subject="Re: question")["uid"])["text"]
        assert text.index("Because.") < text.index("-- \nAlice") < text.index("> Why?")
        assert a.post(f"/v1/mail/messages/{uid}/forward", json={"to": [b_addr], "text": "fyi"}
                      ).status_code == 202
        text = _read(b, _wait(b, subject="Fwd: question")["uid"])["text"]
        assert text.index("fyi") < text.index("-- \nAlice") < text.index("Forwarded message")
        draft = a.post("/v1/mail/drafts", json={"to": [b_addr], "subject": "drafted",
                                                "text": "From a draft."}).json()["draft"]
        assert a.post(f"/v1/mail/drafts/{draft['id']}/send", json={}).status_code == 202
        assert "-- \nAlice" in _read(b, _wait(b, subject="drafted")["uid"])["text"]

        # another default; deleting it leaves none: nothing is appended
        r = a.post("/v1/signatures", json={"name": "short", "text": "A.", "default": True})
        assert r.json()["signature"]["default"] is True
        listed = {s["name"]: s["default"] for s in a.get("/v1/signatures").json()["signatures"]}
        assert listed == {"short": True, "work": False}
        assert a.delete("/v1/signatures/short").status_code == 200
        assert a.post("/v1/mail/send", json={"to": [b_addr], "subject": "none left",
                                             "text": "Plain."}).status_code == 202
        assert "-- " not in _read(b, _wait(b, subject="none left")["uid"])["text"]


def test_templates_render_in_the_sandbox(daemon: DaemonHandle,
                                         agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    b_addr = bob["agent"]["address"]
    with daemon.client(alice["api_key"]) as a, daemon.client(bob["api_key"]) as b:
        r = a.post("/v1/templates", json={
            "name": "welcome", "subject": "Welcome {{ name }}",
            "text": "Hi {{ name|upper }}, order {{ order.id }}.{% if vip %} VIP{% endif %}",
            "html": "<p>Hi {{ name }}</p>"})
        assert r.status_code == 201, r.text
        assert r.json()["template"]["variables"] == ["name", "order", "vip"]
        r = a.post("/v1/mail/send", json={
            "to": [b_addr], "template": "welcome", "signature": False,
            "variables": {"name": "<script>bob</script>", "order": {"id": 42}, "vip": True}})
        assert r.status_code == 202, r.text
        got = _read(b, _wait(b, subject="Welcome <script>bob</script>")["uid"])
        assert got["text"].rstrip() == "Hi <SCRIPT>BOB</SCRIPT>, order 42. VIP"
        rendered = a.post("/v1/templates/welcome/render", json={
            "variables": {"name": "<i>x</i>", "order": {"id": 1}, "vip": False}}).json()
        assert rendered["rendered"]["html"] == "<p>Hi &lt;i&gt;x&lt;/i&gt;</p>"  # escaped

        # a missing variable is a 400 that names it, never an empty string
        message = _error(a.post("/v1/mail/send", json={
            "to": [b_addr], "template": "welcome", "variables": {"name": "x"}}), 400,
            "template_variable_missing")
        assert "order" in message and "vip" in message
        assert a.post("/v1/templates", json={"name": "optional",
                                             "text": "Dear {{ title|default('friend') }}"}
                      ).status_code == 201  # a fallback makes a variable optional
        assert a.post("/v1/templates/optional/render", json={}).json()["rendered"]["text"] \
            == "Dear friend"
        assert a.delete("/v1/templates/optional").status_code == 200
        _error(a.post("/v1/mail/send", json={"to": [b_addr], "template": "welcome",
                                             "text": "both", "variables": {}}),
               400, "template_and_body")
        _error(a.post("/v1/mail/send", json={"to": [b_addr], "template": "nope"}), 404,
               "template_not_found")

        # no Python object is reachable, nothing runs
        assert a.post("/v1/templates", json={"name": "escape",
                                             "text": "{{ ''.__class__.__mro__ }}"}
                      ).status_code == 201
        _error(a.post("/v1/templates/escape/render", json={}), 400, "template_unsafe")
        for source in ("{{ name.upper() }}", "{% for i in range(9) %}x{% endfor %}",
                       "{{ 9 ** 999999 }}", "{{ name|attr('__class__') }}"):
            _error(a.post("/v1/templates", json={"name": unique("t"), "text": source}), 400,
                   "template_unsupported")
        _error(a.post("/v1/templates", json={"name": "broken", "text": "{{ name"}), 400,
               "template_syntax")
        _error(a.post("/v1/templates/escape/render",
                      json={"variables": {"x": "y" * 70_000}}), 413, "payload_too_large")
        assert [t["name"] for t in a.get("/v1/templates").json()["templates"]] == \
            ["escape", "welcome"]
        assert a.delete("/v1/templates/escape").status_code == 200
        _error(b.get("/v1/templates/welcome"), 404, "template_not_found")  # alice's own


def test_tasks_flow_with_events_to_both_agents_only(daemon: DaemonHandle,
                                                    agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    carol = daemon.create_agent(unique("c"))
    bob_name, carol_name = bob["agent"]["name"], carol["agent"]["name"]
    with daemon.client(alice["api_key"]) as a, daemon.client(bob["api_key"]) as b, \
            daemon.client(carol["api_key"]) as c, \
            EventStream(daemon.api_url, alice["api_key"], {"types": "task.assigned,task.claimed,"
                        "task.completed,task.failed"}) as a_events, \
            EventStream(daemon.api_url, bob["api_key"]) as b_events, \
            EventStream(daemon.api_url, carol["api_key"]) as c_events:
        r = a.post("/v1/tasks", json={"assignee": bob_name, "type": "crm.lookup",
                                      "payload": {"customer": "ACME"},
                                      "deadline": _later(3600)})
        assert r.status_code == 201, r.text
        task = r.json()["task"]
        assert (task["status"], task["assignee"], task["expired"]) == ("assigned", bob_name,
                                                                         False)
        tid = task["id"]
        for stream in (a_events, b_events):
            event = stream.next("task.assigned", where=lambda e: e["data"]["task_id"] == tid)
            assert event["data"]["task_type"] == "crm.lookup"

        assert [t["id"] for t in b.get("/v1/tasks").json()["tasks"]] == [tid]
        assert [t["id"] for t in a.get("/v1/tasks", params={"role": "assigner"}
                                        ).json()["tasks"]] == [tid]
        _error(c.get(f"/v1/tasks/{tid}"), 404, "task_not_found")  # not carol's business
        _error(a.post(f"/v1/tasks/{tid}/claim", json={}), 403, "not_assignee")
        _error(c.post(f"/v1/tasks/{tid}/claim", json={}), 404, "task_not_found")
        _error(b.post(f"/v1/tasks/{tid}/complete", json={"result": 1}), 409,
               "task_not_claimed")
        _error(b.post("/v1/tasks/task_doesnotexist/claim", json={}), 404, "task_not_found")

        assert b.post(f"/v1/tasks/{tid}/claim", json={}).json()["task"]["status"] == "claimed"
        _error(b.post(f"/v1/tasks/{tid}/claim", json={}), 409, "task_already_claimed")
        r = b.post(f"/v1/tasks/{tid}/complete", json={"result": {"found": True}})
        assert r.json()["task"]["status"] == "completed", r.text
        _error(b.post(f"/v1/tasks/{tid}/fail", json={}), 409, "task_finished")
        for stream in (a_events, b_events):
            stream.next("task.claimed", where=lambda e: e["data"]["task_id"] == tid)
            done = stream.next("task.completed", where=lambda e: e["data"]["task_id"] == tid)
            assert done["data"]["result"] == {"found": True}

        r = a.post("/v1/tasks", json={"assignee": bob_name, "type": "summarise"})
        failed_id = r.json()["task"]["id"]
        b.post(f"/v1/tasks/{failed_id}/claim", json={})
        r = b.post(f"/v1/tasks/{failed_id}/fail", json={"result": "no access"})
        assert r.json()["task"]["status"] == "failed"
        a_events.next("task.failed", where=lambda e: e["data"]["task_id"] == failed_id)

        # carol's stream: only her own task (a sentinel assigned to her last), none of theirs
        r = b.post("/v1/tasks", json={"assignee": carol_name, "type": "ping"})
        mine = r.json()["task"]["id"]
        c_events.next("task.assigned", where=lambda e: e["data"]["task_id"] == mine)
        assert [e for e in c_events.drain() if e["type"].startswith("task.")] == []

        # bad input: unknown assignee, bad type, past deadline, oversized payload
        _error(a.post("/v1/tasks", json={"assignee": "nobody", "type": "x"}), 404,
               "unknown_assignee")
        _error(a.post("/v1/tasks", json={"assignee": bob_name, "type": "no spaces"}), 400,
               "invalid_task_type")
        _error(a.post("/v1/tasks", json={"assignee": bob_name, "type": "x",
                                         "deadline": "2000-01-01T00:00:00Z"}), 400,
               "deadline_passed")
        _error(a.post("/v1/tasks", json={"assignee": bob_name, "type": "x",
                                         "deadline": "soon"}), 400, "invalid_request")
        _error(a.post("/v1/tasks", json={"assignee": bob_name, "type": "x",
                                         "payload": "p" * 70_000}), 413,
               "task_payload_too_large")


def test_a_task_past_its_deadline_is_expired(daemon: DaemonHandle,
                                             agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    with daemon.client(alice["api_key"]) as a, daemon.client(bob["api_key"]) as b:
        r = a.post("/v1/tasks", json={"assignee": bob["agent"]["name"], "type": "quick",
                                      "deadline": _later(1.5)})
        tid = r.json()["task"]["id"]
        wait_until(lambda: b.get(f"/v1/tasks/{tid}").json()["task"]["expired"], timeout=10)
        _error(b.post(f"/v1/tasks/{tid}/claim", json={}), 409, "task_expired")
        expired = b.get("/v1/tasks", params={"status": "expired"}).json()["tasks"]
        assert [t["id"] for t in expired] == [tid]
        _error(b.get("/v1/tasks", params={"status": "bogus"}), 400, "invalid_request")


def _race(daemon: DaemonHandle, keys: list[str], task_id: str) -> list[httpx.Response]:
    """POST .../claim with each key at once (threads released together by a barrier)."""
    barrier = threading.Barrier(len(keys))
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def claim(key: str) -> None:
        with daemon.client(key) as api:
            barrier.wait()
            r = api.post(f"/v1/tasks/{task_id}/claim", json={})
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=claim, args=(key,)) for key in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


def test_concurrent_claims_exactly_one_wins(daemon: DaemonHandle,
                                            agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    extra = daemon.client().post(f"/v1/agents/{bob['agent']['name']}/keys",
                                 json={"name": "second-worker"}).json()["api_key"]
    racers = 8
    with daemon.client(alice["api_key"]) as a:
        for _ in range(3):
            tid = a.post("/v1/tasks", json={"assignee": bob["agent"]["name"],
                                            "type": "race"}).json()["task"]["id"]
            answers = _race(daemon, [bob["api_key"] if i % 2 else extra
                                     for i in range(racers)], tid)
            codes = sorted(r.status_code for r in answers)
            assert codes == [200] + [409] * (racers - 1), [r.text for r in answers]
            assert {r.json()["error"]["code"] for r in answers if r.status_code == 409} == \
                {"task_already_claimed"}


def test_a_cancelled_scheduled_send_never_leaves(daemon: DaemonHandle,
                                                 agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    b_addr = bob["agent"]["address"]
    carol = daemon.create_agent(unique("c"))
    with daemon.client(alice["api_key"]) as a, daemon.client(bob["api_key"]) as b, \
            daemon.client(carol["api_key"]) as c:
        r = a.post("/v1/mail/send", json={"to": [b_addr], "subject": "cancel me",
                                          "text": "x", "send_at": _later(1)})
        assert r.status_code == 202, r.text
        cancel_id = r.json()["id"]
        far = a.post("/v1/mail/send", json={"to": [b_addr], "subject": "next week",
                                            "text": "x", "send_at": _later(7 * 86400)})
        listed = [e["id"] for e in a.get("/v1/mail/scheduled").json()["scheduled"]]
        assert listed == [cancel_id, far.json()["id"]]  # soonest first
        assert c.get("/v1/mail/scheduled").json()["scheduled"] == []  # alice's alone
        _error(c.post(f"/v1/mail/outbox/{cancel_id}/cancel"), 404, "not_found")  # not hers: unknown

        r = a.post(f"/v1/mail/outbox/{cancel_id}/cancel")
        assert r.status_code == 200, r.text
        assert r.json()["outbox"]["status"] == "cancelled"
        again = a.post(f"/v1/mail/outbox/{cancel_id}/cancel")  # idempotent
        assert again.json()["outbox"]["status"] == "cancelled"
        assert [e["id"] for e in a.get("/v1/mail/scheduled").json()["scheduled"]] == \
            [far.json()["id"]]

        # a message due after the cancelled one's time arrives; the cancelled one never does
        assert a.post("/v1/mail/send", json={"to": [b_addr], "subject": "after it",
                                             "text": "x", "send_at": _later(2)}
                      ).status_code == 202
        _wait(b, subject="after it")
        subjects = [m["subject"] for m in b.get("/v1/mail/messages").json()["messages"]]
        assert "cancel me" not in subjects
        assert a.get(f"/v1/mail/outbox/{cancel_id}").json()["outbox"]["status"] == "cancelled"

        # one already sent: a clear 409
        sent = a.post("/v1/mail/send", json={"to": [b_addr], "subject": "gone", "text": "x"})
        sent_id = sent.json()["id"]
        wait_until(lambda: a.get(f"/v1/mail/outbox/{sent_id}").json()["outbox"]["status"]
                   == "sent", timeout=20)
        _error(a.post(f"/v1/mail/outbox/{sent_id}/cancel"), 409, "already_sent")
        _error(a.post("/v1/mail/outbox/ob_nothing/cancel"), 404, "not_found")


def test_a_deleted_agents_signatures_and_templates_go_to_its_archive(
        daemon: DaemonHandle) -> None:
    agent = daemon.create_agent(unique("d"))
    other = daemon.create_agent(unique("o"))
    with daemon.client(agent["api_key"]) as api:
        assert api.post("/v1/signatures", json={"name": "s", "text": "sig"}).status_code == 201
        assert api.post("/v1/templates", json={"name": "t", "text": "{{ x }}"}
                        ).status_code == 201
        given = api.post("/v1/tasks", json={"assignee": other["agent"]["name"],
                                            "type": "keep"}).json()["task"]["id"]
    with daemon.client() as owner:
        r = owner.delete(f"/v1/agents/{agent['agent']['name']}")
        assert r.status_code == 200, r.text
    archived = json.loads(Path(r.json()["archive"]).read_text())["rows"]
    assert [row["name"] for row in archived["signatures"]] == ["s"]
    assert [row["text"] for row in archived["templates"]] == ["{{ x }}"]
    with daemon.client(other["api_key"]) as api:  # a task it gave stays with its assignee
        task = api.get(f"/v1/tasks/{given}").json()["task"]
        assert (task["assigner"], task["status"]) == (agent["agent"]["name"], "assigned")


def test_export_pages_through_a_folder(daemon: DaemonHandle,
                                       agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    with daemon.client(alice["api_key"]) as a, daemon.client(bob["api_key"]) as b:
        for n in range(4):
            assert a.post("/v1/mail/send", json={"to": [bob["agent"]["address"]],
                                                 "subject": f"page {n}", "text": "x",
                                                 "signature": False}).status_code == 202
        wait_until(lambda: b.get("/v1/mail/messages").json()["total"] == 4, timeout=20)
        uids = sorted(m["uid"] for m in b.get("/v1/mail/messages").json()["messages"])
        assert b.delete(f"/v1/mail/messages/{uids[1]}").status_code == 200  # a gap
        seen, after, pages = [], 0, 0
        while True:
            page = b.get("/v1/mail/export", params={"after_uid": after, "limit": 2}).json()
            assert page["total"] == 3
            seen += [m["uid"] for m in page["messages"]]
            pages += 1
            if page["done"]:
                break
            after = page["next_after"]
        assert seen == [uids[0], uids[2], uids[3]] and pages == 2
        _error(b.get("/v1/mail/export", params={"limit": 0}), 400, "invalid_request")
        _error(b.get("/v1/mail/export", params={"folder": "Nope"}), 404, "not_found")
        _error(b.post("/v1/mail/import", json={"raw_base64": "%%%"}), 400, "invalid_request")
        _error(b.post("/v1/mail/import", json={"raw_base64": "eA==", "flags": ["$NotJunk"]}),
               400, "invalid_flag")
