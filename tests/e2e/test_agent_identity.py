"""An agent's name given again starts empty: agent ids are never reused, and what a deleted
agent owned (its events with bodies, outbox, held mail with the secret) is archived and gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agenticmail_testing.daemon import DaemonHandle, unique
from agenticmail_testing.smtp_sink import SmtpSink
from agenticmail_testing.sse import EventStream

AWS_KEY = "AKIAZ7Q3XK2M4N6P8R1T"
PRIVATE = "for the old agent's eyes only"


@pytest.fixture(scope="module")
def routed() -> Iterator[DaemonHandle]:
    """A daemon with an outbound route (a TLS sink), so external mail can be held."""
    sink = SmtpSink().start()
    handle = DaemonHandle(owner_email="boss@example.net").start()
    try:
        with handle.client() as owner:
            assert owner.put("/v1/route", json=sink.route()).status_code == 200
        yield handle
    finally:
        handle.close()
        sink.stop()


def _send(handle: DaemonHandle, key: str, **body: Any) -> dict[str, Any]:
    with handle.client(key) as api:
        r = api.post("/v1/mail/send", json=body)
    assert r.status_code == 202, r.text
    data: dict[str, Any] = r.json()
    return data


def test_a_recreated_name_inherits_nothing(routed: DaemonHandle) -> None:
    peer = routed.create_agent(unique("peer"))
    name = unique("x")
    old = routed.create_agent(name)  # the newest agent: SQLite alone would reuse its id
    address = old["agent"]["address"]

    with EventStream(routed.api_url, old["api_key"]) as events:
        _send(routed, peer["api_key"], to=address, subject="private note", text=PRIVATE)
        received = events.next("message.new")
        sent = _send(routed, old["api_key"], to=peer["agent"]["address"], subject="reply",
                     text="noted")
        events.next("message.sent", where=lambda e: e["data"]["id"] == sent["id"])
        held = _send(routed, old["api_key"], to="friend@example.org", subject="creds",
                     text=f"deploy key {AWS_KEY}")
        events.next("message.held")
    assert PRIVATE in received["data"]["message"]["text"]
    assert held["status"] == "held"

    with routed.client() as owner:
        deleted = owner.delete(f"/v1/agents/{name}")
        assert deleted.status_code == 200, deleted.text
    new = routed.create_agent(name)
    assert new["agent"]["id"] != old["agent"]["id"]
    assert new["agent"]["id"] > old["agent"]["id"]

    seen: list[dict[str, Any]] = []
    with EventStream(routed.api_url, new["api_key"], last_event_id=0) as replay:
        _send(routed, peer["api_key"], to=address, subject="marker", text="hello, new agent")
        while not (seen and seen[-1]["type"] == "message.new"
                   and seen[-1]["data"]["message"]["subject"] == "marker"):
            seen.append(replay.next())  # every event, in order, up to the marker
    shown = json.dumps(seen)
    assert PRIVATE not in shown and sent["id"] not in shown and held["pending_id"] not in shown
    assert [e["type"] for e in seen] == ["agent.created", "message.new"]

    with routed.client(new["api_key"]) as api:
        assert api.get("/v1/mail/outbox").json()["outbox"] == []
        assert api.get("/v1/pending").json()["pending"] == []
        assert api.get(f"/v1/mail/outbox/{sent['id']}").status_code in (403, 404)
        assert api.get(f"/v1/pending/{held['pending_id']}").status_code in (403, 404)
    with routed.client() as owner:  # removed from the live tables, not merely hidden
        assert owner.get(f"/v1/mail/outbox/{sent['id']}").status_code == 404
        assert owner.get(f"/v1/pending/{held['pending_id']}").status_code == 404

    archive = Path(deleted.json()["archive"])
    assert archive.stat().st_mode & 0o777 == 0o600
    rows = json.loads(archive.read_text())["rows"]
    replayed_ids = {e["id"] for e in seen}
    assert replayed_ids.isdisjoint(e["id"] for e in rows["events"])
    assert any(PRIVATE in e["data"] for e in rows["events"] if e["type"] == "message.new")
    assert [r["id"] for r in rows["outbox"]] == [sent["id"]]
    [pending] = rows["pending_outbound"]
    assert pending["id"] == held["pending_id"] and AWS_KEY in pending["request"]
    assert "code_enc" not in pending
    assert {r["agent_id"] for t in rows.values() for r in t} == {old["agent"]["id"]}


def test_agent_ids_are_never_reused(daemon: DaemonHandle) -> None:
    daemon.create_agent(unique("keep"))
    newest = daemon.create_agent(unique("gone"))
    with daemon.client() as owner:
        assert owner.delete(f"/v1/agents/{newest['agent']['name']}").status_code == 200
    following = daemon.create_agent(unique("next"))
    assert following["agent"]["id"] > newest["agent"]["id"]
