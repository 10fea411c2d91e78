"""Stopping the daemon while an outside SMTP server hangs mid-delivery (issue 16: a stop is
prompt and clean, and loses nothing).

The sender waits a few seconds for deliveries in flight, then cuts off those that hang. A
transaction cut before the message went out is safe to repeat: the row goes back to the
queue and the next start delivers it exactly once. One cut after the final dot may have been
accepted (RFC 5321 §6.1): it is sent again and flagged in doubt. The sink stalls on an event
(``SmtpSink.hold``), the route's SMTP timeout is the default 60 s per step. And a claim of due
rows cut off by a stop gives them back at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
import subprocess
import threading
from typing import Any

from agenticmail.config import load_settings
from agenticmail.hosts import build_host
from agenticmail.services import delivery
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.frames import some_thread_in
from agenticmail_testing.process import DaemonProcess
from agenticmail_testing.smtp_sink import SmtpSink
from tests.e2e.test_lifecycle import _assert_cleaned_up, _dovecot_pids, _listening

STOPPED_WITHIN = 15.0  # seconds: well under the harness's 20, with room for a loaded machine


def _send_out(client: Any, key: str) -> dict[str, Any]:
    with client(key) as api:
        r = api.post("/v1/mail/send", json={"to": ["far@example.org"],
                                            "subject": unique("cut off"), "text": "x"})
        assert r.status_code == 202, r.text
        sent: dict[str, Any] = r.json()
        return sent


def _row(client: Any, outbox_id: str) -> dict[str, Any]:
    with client() as owner:
        rows = owner.get("/v1/mail/outbox", params={"limit": 1000}).json()["outbox"]
    return next(r for r in rows if r["id"] == outbox_id)


def test_sigterm_while_the_smtp_server_stalls_before_data(sink: SmtpSink) -> None:
    """A real daemon process, SIGTERMed: it exits promptly, leaves nothing running, and the
    message leaves exactly once after the restart (nothing of it had gone out)."""
    daemon = DaemonProcess()
    try:
        daemon.start()
        settings = load_settings(daemon.home, env=daemon.env)
        config = build_host(settings).config_path  # type: ignore[attr-defined]
        with daemon.client() as owner:
            assert owner.put("/v1/route", json=sink.route()).status_code == 200
            key = owner.post("/v1/agents", json={"name": "leaver"}).json()["api_key"]
        sink.hold("rcpt")
        queued = _send_out(daemon.client, key)
        sink.wait_held()
        assert daemon.proc is not None
        daemon.proc.send_signal(signal.SIGTERM)
        try:
            code = daemon.proc.wait(STOPPED_WITHIN)
        except subprocess.TimeoutExpired:
            raise AssertionError("the daemon waited for the stalled SMTP server") from None
        daemon.proc = None
        assert code == 0
        assert not settings.pid_path.exists()
        assert _dovecot_pids(config) == []
        assert not _listening(settings.imap_port) and not _listening(settings.api_port)
        sink.release()
        assert sink.with_id(queued["message_id"]) == []

        daemon.start()
        wait_until(lambda: _row(daemon.client, queued["id"])["status"] == "sent", 60,
                   interval=0.2, what="the message sent after the restart")
        assert len(sink.with_id(queued["message_id"])) == 1
        assert _row(daemon.client, queued["id"])["in_doubt"] is False
    finally:
        sink.release()
        daemon.close()


def test_a_stop_after_the_final_dot_is_prompt_and_the_resend_is_in_doubt(
        sink: SmtpSink) -> None:
    """The server has the whole message and has not answered: the stop does not wait for it;
    the row is in doubt and sent again at the next start (at least once, flagged)."""
    handle = DaemonHandle()
    config = build_host(handle.settings).config_path  # type: ignore[attr-defined]
    try:
        handle.start()
        with handle.client() as owner:
            assert owner.put("/v1/route", json=sink.route()).status_code == 200
        agent = handle.create_agent("doubter")
        sink.hold("dot")
        queued = _send_out(handle.client, agent["api_key"])
        sink.wait_held()
        handle.stop(timeout=STOPPED_WITHIN)  # raises "daemon did not stop" when it waits
        _assert_cleaned_up(handle, config)
        sink.release()
        assert len(sink.with_id(queued["message_id"])) == 1

        handle.start()
        wait_until(lambda: _row(handle.client, queued["id"])["status"] == "sent", 60,
                   interval=0.2, what="the message sent again after the restart")
        row = _row(handle.client, queued["id"])
        assert row["in_doubt"] is True
        assert len(sink.with_id(queued["message_id"])) == 2
    finally:
        sink.release()
        handle.close()


def test_a_claim_cut_off_by_a_stop_gives_its_rows_back(daemon: DaemonHandle,
                                                       agent_pair: tuple[dict, dict]) -> None:
    """The sender is halted while its claim waits for the database's writer lock (held here,
    as a long write of another part does); the claim commits all the same, and its row must
    not stay leased: the sender started again in this process delivers it at once."""
    alice, bob = agent_pair
    running = daemon.daemon
    assert running is not None and running.loop is not None
    loop, supervisor, ctx = running.loop, running.supervisor, running.ctx

    def on_loop(coro: Any) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, loop)

    async def claim_cancelled() -> bool:
        return all(t.cancelling() for t in asyncio.all_tasks() if t.get_name() == "sender:claim")

    on_loop(supervisor.halt("sender")).result(20)
    release, holding = threading.Event(), threading.Event()

    def hold_the_writer_lock() -> None:
        with ctx.db.exclusive():
            holding.set()
            release.wait(60)

    holder = threading.Thread(target=hold_the_writer_lock)
    try:
        with daemon.client(alice["api_key"]) as api:
            r = api.post("/v1/mail/send", json={"to": [bob["agent"]["address"]],
                                                "subject": unique("claimed"), "text": "x"})
            assert r.status_code == 202, r.text
            queued = r.json()
        holder.start()
        assert holding.wait(10)
        on_loop(supervisor.resume("sender")).result(20)
        wait_until(lambda: some_thread_in(delivery.claim_due, lambda args: args["ctx"] is ctx), 10,
                   what="the sender's claim to wait for the database")
        halted = on_loop(supervisor.halt("sender"))
        wait_until(lambda: on_loop(claim_cancelled()).result(10), 10,
                   what="the claim to be cut off")
    finally:
        release.set()
        holder.join()
    halted.result(20)
    on_loop(supervisor.resume("sender")).result(20)
    wait_until(lambda: _row(daemon.client, queued["id"])["status"] == "sent", 30,
               interval=0.2, what="the claimed message delivered by the sender started again")
