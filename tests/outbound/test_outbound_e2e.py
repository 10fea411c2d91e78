"""The outbound path against a real SMTP route (aiosmtpd with a trustme TLS certificate)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from typing import Any

import pytest

from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.smtp_sink import SmtpSink
from agenticmail_testing.sse import EventStream

AWS_KEY = "AKIAZ7Q3XK2M4N6P8R1T"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8v3r9TjH"


@pytest.fixture(scope="module")
def outbound(sink: SmtpSink) -> Iterator[DaemonHandle]:
    handle = DaemonHandle(owner_email="boss@example.net").start()
    with handle.client() as owner:
        r = owner.put("/v1/route", json=sink.route())
        assert r.status_code == 200, r.text
        assert r.json()["route"]["has_password"] is True and "password" not in r.json()["route"]
    yield handle
    handle.close()


@pytest.fixture
def agent(outbound: DaemonHandle) -> dict[str, Any]:
    return outbound.create_agent(unique("ag"))


def _send(handle: DaemonHandle, key: str, headers: dict[str, str] | None = None,
          **body: Any) -> Any:
    with handle.client(key) as api:
        return api.post("/v1/mail/send", json={"text": "hello", "subject": "s", **body},
                        headers=headers or {})


def test_clean_external_mail_is_delivered_once(outbound: DaemonHandle, sink: SmtpSink,
                                               agent: dict[str, Any]) -> None:
    with EventStream(outbound.api_url, agent["api_key"]) as events:
        r = _send(outbound, agent["api_key"], to=["friend@example.org"], subject="clean one")
        assert r.status_code == 202 and r.json()["status"] == "queued", r.text
        mid = r.json()["message_id"]
        sent = events.next("message.sent")
    assert sent["data"]["message_id"] == mid
    got = sink.with_id(mid)
    assert len(got) == 1
    name = agent["agent"]["name"]
    assert got[0].mail_from == f"owner+{name}@example.com"
    assert got[0].rcpt_tos == ["friend@example.org"]
    assert f"owner+{name}@example.com" in got[0].message["From"]
    assert got[0].message["Auto-Submitted"] == "auto-generated"
    with outbound.client(agent["api_key"]) as api:
        row = api.get(f"/v1/mail/outbox/{r.json()['id']}").json()["outbox"]
        assert row["status"] == "sent" and row["attempts"] == 1
        sent_folder = api.get("/v1/mail/messages", params={"folder": "Sent"}).json()
    assert [m["subject"] for m in sent_folder["messages"]] == ["clean one"]


def test_secret_in_bcc_only_external_mail_is_held_until_the_owner_approves(
        outbound: DaemonHandle, sink: SmtpSink, agent: dict[str, Any]) -> None:
    peer = outbound.create_agent(unique("peer"))
    body = f"deploy creds: {AWS_KEY} / {AWS_SECRET}"
    r = _send(outbound, agent["api_key"], to=[peer["agent"]["address"]],
              bcc=["leak@example.org"], subject="creds", text=body)
    assert r.status_code == 202, r.text
    held = r.json()
    assert held["status"] == "held" and held["pending_id"].startswith("pm_")
    assert AWS_KEY not in r.text  # findings are masked
    pending_id, mid = held["pending_id"], held["message_id"]

    notification = sink.wait_for(lambda rs: any(r.rcpt_tos == ["boss@example.net"]
                                                and "creds" in str(r.message["Subject"])
                                                for r in rs))[-1]
    assert "approve" in notification.data.decode().lower()

    with outbound.client(agent["api_key"]) as api:
        mine = api.get("/v1/pending").json()["pending"]
        assert [p["id"] for p in mine] == [pending_id]
        denied = api.post(f"/v1/pending/{pending_id}/approve")
        assert denied.status_code == 403 and "owner" in denied.json()["error"]["hint"]
    with outbound.client(peer["api_key"]) as other:
        assert other.get(f"/v1/pending/{pending_id}").status_code == 404  # not theirs: unknown
    assert sink.with_id(mid) == []

    with EventStream(outbound.api_url, agent["api_key"]) as events, \
            outbound.client() as owner:
        approved = owner.post(f"/v1/pending/{pending_id}/approve")
        assert approved.status_code == 200 and approved.json()["pending"]["status"] == "approved"
        events.next("message.sent", where=lambda e: e["data"]["message_id"] == mid)
        again = owner.post(f"/v1/pending/{pending_id}/approve")
        assert again.status_code == 409
    delivered = sink.with_id(mid)
    assert len(delivered) == 1 and delivered[0].rcpt_tos == ["leak@example.org"]
    assert AWS_KEY in delivered[0].data.decode()
    assert "Bcc" not in delivered[0].message


def test_rejected_mail_never_leaves(outbound: DaemonHandle, sink: SmtpSink,
                                   agent: dict[str, Any]) -> None:
    r = _send(outbound, agent["api_key"], to=["x@example.org"], subject="reject me",
              text=f"key {AWS_KEY}")
    pending_id, mid = r.json()["pending_id"], r.json()["message_id"]
    with outbound.client() as owner:
        assert owner.post(f"/v1/pending/{pending_id}/reject").json()["pending"][
            "status"] == "rejected"
        assert owner.post(f"/v1/pending/{pending_id}/approve").status_code == 409
    # the rejection confirmation is queued after the decision; once it arrives, the held
    # message has had every chance to leave
    sink.wait_for(lambda rs: any("Rejected" in str(r.message["Subject"])
                                 and "reject me" in str(r.message["Subject"]) for r in rs))
    assert sink.with_id(mid) == []


def test_451_is_retried_then_delivered(outbound: DaemonHandle, sink: SmtpSink,
                                       agent: dict[str, Any]) -> None:
    seen: list[str] = []

    def once_451(message: Any) -> str | None:
        if message["Subject"] == "retry me" and not seen:
            seen.append("x")
            return "451 4.3.0 try again later"
        return None

    sink.set_script(once_451)
    try:
        with EventStream(outbound.api_url, agent["api_key"]) as events:
            r = _send(outbound, agent["api_key"], to=["y@example.org"], subject="retry me")
            events.next("message.sent", timeout=30)
    finally:
        sink.set_script(None)
    assert len(sink.with_id(r.json()["message_id"])) == 1
    with outbound.client(agent["api_key"]) as api:
        row = api.get(f"/v1/mail/outbox/{r.json()['id']}").json()["outbox"]
    assert row["status"] == "sent" and row["attempts"] == 2


def test_550_fails_with_the_reason_and_is_not_retried(outbound: DaemonHandle, sink: SmtpSink,
                                                      agent: dict[str, Any]) -> None:
    calls: list[str] = []

    def reject(message: Any) -> str | None:
        if message["Subject"] == "bounce me":
            calls.append("x")
            return "550 5.7.1 relaying denied for this sender"
        return None

    sink.set_script(reject)
    try:
        with EventStream(outbound.api_url, agent["api_key"]) as events:
            r = _send(outbound, agent["api_key"], to=["z@example.org"], subject="bounce me")
            failed = events.next("message.failed")
    finally:
        sink.set_script(None)
    assert "550 5.7.1 relaying denied" in failed["data"]["error"]
    with outbound.client(agent["api_key"]) as api:
        row = api.get(f"/v1/mail/outbox/{r.json()['id']}").json()["outbox"]
    assert row["status"] == "failed" and row["attempts"] == 1 and calls == ["x"]


def test_idempotency_key_sequential_and_concurrent(outbound: DaemonHandle, sink: SmtpSink,
                                                   agent: dict[str, Any]) -> None:
    key = unique("idem")
    first = _send(outbound, agent["api_key"], {"Idempotency-Key": key},
                  to=["i@example.org"], subject="once").json()
    second = _send(outbound, agent["api_key"], {"Idempotency-Key": key},
                   to=["i@example.org"], subject="once").json()
    assert second["id"] == first["id"] and second["duplicate"] is True

    key2 = unique("idem")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(
            lambda _: _send(outbound, agent["api_key"], to=["j@example.org"],
                            subject="racing", idempotency_key=key2).json(), range(8)))
    assert len({r["id"] for r in results}) == 1, results
    mid = results[0]["message_id"]
    sink.wait_for(lambda rs: any(r.message_id == mid for r in rs))
    with EventStream(outbound.api_url, agent["api_key"]) as events:
        # a later send proves the sender has moved past the raced one
        _send(outbound, agent["api_key"], to=["j@example.org"], subject="after")
        events.next("message.sent", where=lambda e: e["data"]["subject"] == "after")
    assert len(sink.with_id(mid)) == 1 and len(sink.with_id(first["message_id"])) == 1


def test_rate_limit_answers_429_with_retry_after(sink: SmtpSink) -> None:
    handle = DaemonHandle(rate_per_minute=3).start()
    try:
        a = handle.create_agent("limited")
        b = handle.create_agent("target")
        codes = [_send(handle, a["api_key"], to=[b["agent"]["address"]]).status_code
                 for _ in range(4)]
        assert codes == [202, 202, 202, 429]
        r = _send(handle, a["api_key"], to=[b["agent"]["address"]])
        assert r.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 61
    finally:
        handle.close()


def test_rate_limits_count_held_mail_and_survive_a_restart(sink: SmtpSink) -> None:
    """The limits are kept in memory: what an agent sent before a restart, held mail
    included, still counts after it."""
    handle = DaemonHandle(rate_per_minute=3, owner_email="boss@example.net").start()
    try:
        with handle.client() as owner:
            assert owner.put("/v1/route", json=sink.route()).status_code == 200
        a = handle.create_agent("remembers")
        held = _send(handle, a["api_key"], to=["friend@example.org"],
                     text=f"the key is {AWS_KEY} and {AWS_SECRET}")
        assert held.status_code == 202 and held.json()["status"] == "held", held.text
        assert _send(handle, a["api_key"], to=["friend@example.org"]).status_code == 202
        handle.stop()
        handle.start()
        codes = [_send(handle, a["api_key"], to=["friend@example.org"]).status_code
                 for _ in range(2)]
        assert codes == [202, 429]
    finally:
        handle.close()


def test_each_rate_window_is_counted_on_its_own(sink: SmtpSink) -> None:
    """The minute, hour and day windows are counted in one statement: each still applies."""
    handle = DaemonHandle(rate_per_minute=50, rate_per_hour=2, rate_per_day=50).start()
    try:
        a = handle.create_agent("hourly")
        b = handle.create_agent("target")
        codes = [_send(handle, a["api_key"], to=[b["agent"]["address"]]).status_code
                 for _ in range(3)]
        assert codes == [202, 202, 429]
        r = _send(handle, a["api_key"], to=[b["agent"]["address"]])
        assert r.json()["error"]["code"] == "rate_limited" and "per hour" in r.json()[
            "error"]["message"]
        assert 60 < int(r.headers["Retry-After"]) <= 3601
    finally:
        handle.close()


def test_scheduled_send_waits_until_due(outbound: DaemonHandle, agent: dict[str, Any]
                                        ) -> None:
    from datetime import UTC, datetime, timedelta

    peer = outbound.create_agent(unique("sch"))
    due = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    with EventStream(outbound.api_url, peer["api_key"]) as events:
        r = _send(outbound, agent["api_key"], to=[peer["agent"]["address"]],
                  subject="later", send_at=due)
        assert r.json()["status"] == "queued" and r.json()["send_at"]
        with outbound.client(agent["api_key"]) as api:
            assert api.get(f"/v1/mail/outbox/{r.json()['id']}").json()["outbox"][
                "status"] == "queued"
        event = events.next("message.new", timeout=20)
    arrived = datetime.fromisoformat(event["created_at"])
    assert arrived >= datetime.fromisoformat(due)


def test_loop_safety_headers_flag_and_thread_budget() -> None:
    handle = DaemonHandle(thread_reply_budget=3).start()
    try:
        a, b = handle.create_agent("ping"), handle.create_agent("pong")
        with EventStream(handle.api_url, b["api_key"]) as events:
            first = _send(handle, a["api_key"], to=["pong@localhost"], subject="loop").json()
            got = events.next("message.new")["data"]["message"]
        assert got["headers"]["Auto-Submitted"] == "auto-generated"
        assert got["automated"] == {"flag": True, "reason": "Auto-Submitted: auto-generated"}
        codes = []
        for _ in range(4):
            r = _send(handle, a["api_key"], to=["pong@localhost"], subject="Re: loop",
                      in_reply_to=first["message_id"], references=[first["message_id"]])
            codes.append(r.status_code)
        assert codes == [202, 202, 429, 429], codes
        assert "loop" in r.json()["error"]["message"]
        fresh = _send(handle, a["api_key"], to=["pong@localhost"], subject="new topic")
        assert fresh.status_code == 202
    finally:
        handle.close()


def test_outbox_lists_a_bcc_recipient_once(outbound: DaemonHandle, sink: SmtpSink,
                                           agent: dict[str, Any]) -> None:
    """Issue 17 #13: the routed recipients already hold the bcc; the listing showed it twice."""
    peer = outbound.create_agent(unique("peer"))
    r = _send(outbound, agent["api_key"], to=["friend@example.org"],
              bcc=["hidden@example.org", peer["agent"]["address"]], subject="bcc once")
    assert r.status_code == 202, r.text
    with outbound.client(agent["api_key"]) as api:
        row = api.get(f"/v1/mail/outbox/{r.json()['id']}").json()["outbox"]
        listed = api.get("/v1/mail/outbox").json()["outbox"]
    everyone = {"friend@example.org", "hidden@example.org", peer["agent"]["address"]}
    assert sorted(row["recipients"]) == sorted(everyone)  # each once
    assert sorted(row["bcc"]) == sorted(["hidden@example.org", peer["agent"]["address"]])
    [same] = [o for o in listed if o["id"] == r.json()["id"]]
    assert same["recipients"] == row["recipients"]


def test_denied_approval_hint_says_whether_the_owner_was_emailed(
        outbound: DaemonHandle, sink: SmtpSink, agent: dict[str, Any]) -> None:
    """Issue 17 #13: with no owner email nobody was notified, and the hint must not say so."""
    body = f"creds: {AWS_KEY} / {AWS_SECRET}"
    held = _send(outbound, agent["api_key"], to=["x@example.org"], text=body).json()
    assert held["status"] == "held"
    with outbound.client(agent["api_key"]) as api:
        wait_until(lambda: api.get(f"/v1/pending/{held['pending_id']}").json()["pending"][
            "owner_notified"], timeout=15, what="the owner's notification")
        denied = api.post(f"/v1/pending/{held['pending_id']}/approve").json()["error"]
    assert "notified by email" in denied["hint"]

    lone = DaemonHandle().start()  # no owner email
    try:
        with lone.client() as owner:
            assert owner.put("/v1/route", json=sink.route()).status_code == 200
        solo = lone.create_agent(unique("solo"))
        with lone.client(solo["api_key"]) as api:
            held = api.post("/v1/mail/send", json={"to": ["x@example.org"], "subject": "s",
                                                   "text": body}).json()
            assert held["status"] == "held", held
            denied = api.post(f"/v1/pending/{held['pending_id']}/reject").json()["error"]
        assert denied["code"] == "forbidden"
        assert "notified by email" not in denied["hint"]
        assert "no owner email is set" in denied["hint"]
    finally:
        lone.close()


def test_external_mail_has_no_sender_no_stamp_and_only_the_agents_own_reply_to(
        outbound: DaemonHandle, sink: SmtpSink, agent: dict[str, Any]) -> None:
    """Issue 18 #12: what leaves for the internet speaks only as the agent's sub-address."""
    import smtplib

    peer = outbound.create_agent(unique("peer"))
    name, address = agent["agent"]["name"], agent["agent"]["address"]
    own_external = f"owner+{name}@example.com"
    mid = f"<{unique('ext')}@localhost>"
    raw = (f"From: {address}\r\nSender: {address}\r\nReply-To: {own_external}\r\n"
           f"To: friend@example.org, {peer['agent']['address']}\r\nSubject: leaves\r\n"
           f"Message-ID: {mid}\r\nX-AgenticMail-Origin: v=1; e={address}; s=forged\r\n"
           "\r\nhello\r\n").encode()
    creds = agent["mail"]
    with EventStream(outbound.api_url, peer["api_key"]) as events:
        with smtplib.SMTP(creds["smtp_host"], creds["smtp_port"], timeout=10) as smtp:
            smtp.login(creds["username"], creds["password"])
            smtp.sendmail(address, ["friend@example.org", peer["agent"]["address"]], raw)
        sink.wait_for(lambda rs: any(r.message_id == mid for r in rs))
        [out] = sink.with_id(mid)
        assert out.message["Sender"] is None
        assert out.message["X-AgenticMail-Origin"] is None
        assert out.message["Reply-To"] == own_external
        assert own_external in out.message["From"]
        local = events.next("message.new", where=lambda e: e["data"]["message"]["subject"]
                            == "leaves")
    assert local["data"]["message"]["security"]["internal"] is True  # the daemon's own stamp

    foreign = _send(outbound, agent["api_key"], to=["friend@example.org"],
                    reply_to="collector@evil-exfil.example")
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "reply_to_not_allowed"


def test_the_way_out_strips_sender_stamp_and_a_foreign_reply_to() -> None:
    """Defence in depth: whatever reached the outbox, the external copy is cleaned."""
    from agenticmail.services.delivery import external_variant as _external_variant

    raw = (b"From: bob@localhost\r\nSender: alice@localhost\r\nReply-To: x@evil.example\r\n"
           b"X-AgenticMail-Origin: v=1; e=bob@localhost; s=abc\r\nSubject: s\r\n\r\nbody\r\n")
    out = _external_variant(raw, "Bob", "owner+bob@example.com", lambda values: False)
    assert b"Sender:" not in out and b"Reply-To:" not in out
    assert b"X-AgenticMail-Origin" not in out and b"owner+bob@example.com" in out
    kept = _external_variant(raw, "Bob", "owner+bob@example.com", lambda values: True)
    assert b"Reply-To: x@evil.example" in kept and b"Sender:" not in kept
