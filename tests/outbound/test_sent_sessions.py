"""The sender files Sent copies on IMAP sessions it keeps between deliveries (a login costs
more than the APPEND it is for), and a kept session the mail host dropped is replaced without
filing a copy twice. Real daemon, real Dovecot."""

from __future__ import annotations

import functools
from typing import Any

from agenticmail.mail.imap import MailboxSession
from agenticmail.models import SearchQuery
from agenticmail.services import agents as agent_service
from agenticmail.services.sessions import SessionPool
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from tests.outbound.test_reliability import _copies, _send


def _pool(daemon: DaemonHandle) -> SessionPool:
    assert daemon.daemon is not None and daemon.daemon.sender.sessions is not None
    return daemon.daemon.sender.sessions


def _is_sent(daemon: DaemonHandle, outbox_id: str) -> bool:
    return daemon.outbox_row(outbox_id)["status"] == "sent"


def test_one_login_files_the_sent_copies_of_many_sends(
        daemon: DaemonHandle, agent_pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    alice, bob = agent_pair
    pool = _pool(daemon)
    logins = pool.logins
    sent = []
    for _ in range(5):  # one after another: each finds the session the last one gave back
        queued = _send(daemon, alice["api_key"], to=[bob["agent"]["address"]])
        # "sent" is recorded once the Sent copy's work has given its session back
        wait_until(functools.partial(_is_sent, daemon, queued["id"]), timeout=20,
                   what="the send recorded")
        sent.append(queued["message_id"])
    assert pool.logins - logins == 1
    assert [_copies(alice, "Sent", mid) for mid in sent] == [1] * 5
    assert [_copies(bob, "INBOX", mid) for mid in sent] == [1] * 5


def test_a_dropped_session_is_replaced_and_the_work_not_done_twice(
        daemon: DaemonHandle) -> None:
    created = daemon.create_agent(unique("pool"))
    assert daemon.daemon is not None
    ctx = daemon.daemon.ctx
    agent = agent_service.get_agent(ctx, created["agent"]["name"])
    pool = SessionPool(ctx)
    runs: list[tuple[MailboxSession, bool]] = []

    def append_once(session: MailboxSession, again: bool) -> int:
        runs.append((session, again))
        folder = session.special_folder("\\Sent")
        if again and session.search(folder, SearchQuery(message_id="kept@pool.test")):
            return 0  # the first run got that far: nothing to do twice
        session.append(folder, b"Message-ID: <kept@pool.test>\r\nSubject: kept\r\n\r\nx\r\n")
        return 1

    try:
        assert pool.run(agent, lambda session, again: len(session.list_folders())) > 0
        kept = pool.logins
        # the mail host drops the kept connection (as after a restart or its idle timeout)
        pool._waiting[agent.id][0][1]._client.shutdown()
        assert pool.run(agent, append_once) == 1
        assert [again for _, again in runs] == [False, True]  # the dead one, then a new one
        assert pool.logins == kept + 1
        assert _copies(created, "Sent", "<kept@pool.test>") == 1
    finally:
        pool.close()
