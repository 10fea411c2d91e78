"""Agent lifecycle through the API: events, key rotation, deletion with an archive."""

from __future__ import annotations

import base64
import json
import os
import signal
from pathlib import Path

from agenticmail_testing.daemon import DaemonHandle, unique
from agenticmail_testing.sse import EventStream


def test_create_rotate_delete_with_archive(daemon: DaemonHandle) -> None:
    name, peer = unique("life"), unique("peer")
    with EventStream(daemon.api_url, daemon.master_key, {"types": "agent.created,agent.deleted"}
                     ) as owner_events:
        agent = daemon.create_agent(name, role="researcher", metadata={"team": "x"})
        other = daemon.create_agent(peer)
        created = owner_events.next("agent.created", where=lambda e: e["agent"] == name)
        assert created["data"]["address"] == f"{name}@localhost"
        assert agent["agent"]["role"] == "researcher"
        assert agent["agent"]["metadata"]["team"] == "x"

        with EventStream(daemon.api_url, agent["api_key"]) as inbox, \
                daemon.client(other["api_key"]) as api:
            for i in range(3):
                api.post("/v1/mail/send", json={
                    "to": agent["agent"]["address"], "subject": f"note {i}", "text": "t",
                    "attachments": [{"filename": "data.csv", "content_type": "text/csv",
                                     "content_base64": base64.b64encode(b"a,b\n1,2\n").decode()}],
                }).raise_for_status()
            uids = [inbox.next("message.new")["data"]["uid"] for _ in range(3)]

        with daemon.client(agent["api_key"]) as api:
            msg = api.get(f"/v1/mail/messages/{uids[0]}").json()["message"]
            assert msg["attachments"][0]["filename"] == "data.csv"
            blob = api.get(f"/v1/mail/messages/{uids[0]}/attachments/0")
            assert blob.content == b"a,b\n1,2\n" and "data.csv" in blob.headers[
                "content-disposition"]
            assert api.get(f"/v1/mail/messages/{uids[0]}/attachments/5").status_code == 404
            r = api.post("/v1/mail/batch", json={"action": "read", "uids": uids[:2]})
            assert r.json()["count"] == 2
            unseen = api.get("/v1/mail/search", params={"seen": "false"}).json()["uids"]
            assert unseen == [uids[2]]
            assert api.post("/v1/mail/folders", json={"name": "Projects"}).status_code == 201
            assert api.post("/v1/mail/batch", json={"action": "move", "uids": [uids[2]],
                                                    "to": "Projects"}).status_code == 200
            assert api.get("/v1/mail/messages", params={"folder": "Projects"}).json()[
                "total"] == 1

        old_key = agent["api_key"]
        with daemon.client() as owner:
            rotated = owner.post(f"/v1/agents/{name}/rotate-key").json()
        new_key = rotated["api_key"]
        assert new_key != old_key and rotated["agent"]["key_prefix"] == new_key[:11]
        with daemon.client(old_key) as stale, daemon.client(new_key) as fresh:
            assert stale.get("/v1/mail/messages").status_code == 401
            assert fresh.get("/v1/mail/messages").status_code == 200

        with daemon.client() as owner:
            deleted = owner.delete(f"/v1/agents/{name}").json()
            assert owner.get(f"/v1/agents/{name}").status_code == 404
        owner_events.next("agent.deleted", where=lambda e: e["agent"] == name)

    report = deleted["report"]
    assert report["message_count"] == 3
    assert report["folders"]["INBOX"] == 2 and report["folders"]["Projects"] == 1
    assert report["top_correspondents"][0][0] == other["agent"]["address"]
    assert report["first_date"] <= report["last_date"]
    archive = Path(deleted["archive"])
    assert archive.parent == daemon.settings.deletions_dir
    assert archive.stat().st_mode & 0o777 == 0o600
    saved = json.loads(archive.read_text())
    raw = base64.b64decode(saved["folders"]["INBOX"][0]["raw_base64"])
    assert b"Subject: note" in raw
    assert daemon.daemon is not None
    assert not daemon.daemon.ctx.host.account_exists(f"{name}@localhost")


def test_last_agent_cannot_be_deleted() -> None:
    handle = DaemonHandle().start()
    try:
        handle.create_agent("only")
        with handle.client() as owner:
            r = owner.delete("/v1/agents/only")
            assert r.status_code == 409 and "last" in r.json()["error"]["message"]
            assert owner.get("/v1/agents/only").status_code == 200
    finally:
        handle.close()


def test_mail_host_crash_is_survived() -> None:
    """Dovecot dies: the supervisor restarts it, watchers reconnect, mail flows again."""
    handle = DaemonHandle().start()
    try:
        a, b = handle.create_agent("sender"), handle.create_agent("receiver")
        with EventStream(handle.api_url, b["api_key"]) as stream, \
                handle.client(a["api_key"]) as api:
            api.post("/v1/mail/send", json={"to": "receiver@localhost", "subject": "one",
                                            "text": "x"}).raise_for_status()
            stream.next("message.new")
            assert handle.daemon is not None
            host = handle.daemon.ctx.host
            os.killpg(host.pid, signal.SIGKILL)  # type: ignore[attr-defined]
            # accepted while the host is down: durable in the outbox, delivered on recovery
            r = api.post("/v1/mail/send", json={"to": "receiver@localhost", "subject": "two",
                                                "text": "x"})
            assert r.status_code == 202
            event = stream.next("message.new", timeout=45)
            assert event["data"]["message"]["subject"] == "two"
            with handle.client() as owner:
                health = owner.get("/v1/health").json()
            assert health["host_restarts"] >= 1 and health["status"] == "ok"
    finally:
        handle.close()
