"""Failed IMAP logins by another local process never slow the daemon's own IMAP sessions.

Dovecot delays every login from an address that recently failed one (anvil's per-IP auth
penalty, 4..15 s). The daemon logs in over a unix socket that only its own user may open, so
the penalty that a local password guesser earns on 127.0.0.1 stays with the guesser.
"""

from __future__ import annotations

import imaplib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.dovecot import IMAPFrom

GUESSES = 20
PENALTY_FLOOR = 3.5  # seconds: Dovecot's smallest penalty after a failure is 4 s


def _guess(port: int, address: str, password: str) -> bool:
    """One wrong LOGIN from 127.0.0.1, where the daemon's sessions used to come from."""
    client = IMAPFrom(port, src="127.0.0.1")
    try:
        client.login(address, password)
    except imaplib.IMAP4.error:
        return True
    finally:
        client.shutdown()
    return False


def test_failed_local_logins_do_not_delay_the_daemon() -> None:
    handle = DaemonHandle().start()  # its own Dovecot: the penalty stays out of other tests
    try:
        alice, bob = handle.create_agent(unique("a")), handle.create_agent(unique("b"))
        bob_addr, port = bob["agent"]["address"], handle.settings.imap_port
        with handle.client(alice["api_key"]) as api:
            sent = api.post("/v1/mail/send", json={"to": bob_addr, "subject": "held up?",
                                                   "text": "x"})
            assert sent.status_code == 202, sent.text
        with handle.client(bob["api_key"]) as api:
            def listed() -> list[dict]:
                return list(api.get("/v1/mail/messages").json()["messages"])

            uid = wait_until(listed, 15, what="the message in bob's inbox")[0]["uid"]

            with ThreadPoolExecutor(GUESSES) as pool:
                refused = pool.map(lambda i: _guess(port, bob_addr, f"guess-{i}"), range(GUESSES))
                assert all(refused)

            # the guesser tries again (the right password, even): Dovecot holds it back ...
            guesser = IMAPFrom(port, src="127.0.0.1")
            outcome: dict[str, object] = {}

            def login() -> None:
                started = time.monotonic()
                outcome["reply"] = guesser.login(bob_addr, bob["mail"]["password"])[0]
                outcome["waited"] = time.monotonic() - started

            attempt = threading.Thread(target=login)
            attempt.start()
            try:
                # ... while the daemon, logging in for bob meanwhile, answers at once
                read = api.get(f"/v1/mail/messages/{uid}")
                assert read.status_code == 200, read.text
                assert read.json()["message"]["subject"] == "held up?"
                assert attempt.is_alive(), "the daemon's read waited out the guesser's penalty"
            finally:
                attempt.join(30)
                guesser.shutdown()
        assert outcome["reply"] == "OK"
        assert isinstance(outcome["waited"], float) and outcome["waited"] >= PENALTY_FLOOR
    finally:
        handle.close()
