"""The sender worker: claims due outbox rows with a lease and delivers them.

Each row records its progress (local delivery, external delivery, Sent copy) as it goes, so
a retry after a crash or a transient failure never repeats a delivery a server already
accepted. 4xx and network errors retry with exponential backoff and jitter up to
``send_max_attempts``; 5xx fails the row with the server's reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import functools
import logging
import random
import time
from collections.abc import Callable
from email import policy
from email.headerregistry import Address

from ..errors import AgenticMailError, PermanentDeliveryError, TransientDeliveryError
from ..events import MESSAGE_FAILED, MESSAGE_SENT
from ..mail import smtp
from ..mail.delivery import deliver_lmtp
from ..services import approvals, identity, origin
from ..services.context import ServiceContext, transaction
from ..services.mailbox import open_session
from ..services.routes import external_sender, get_route
from ..store import agents as agent_store
from ..store import outbound as store
from .component import Scope, in_thread

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0
BASE_DELAY = 2.0
MAX_DELAY = 600.0
IDLE_POLL = 1.0  # scheduled sends come due without a wake-up


def backoff(attempt: int) -> float:
    """Seconds before retry ``attempt`` (1-based): exponential with full jitter."""
    return random.uniform(0.5, 1.0) * min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1))


def _external_variant(raw: bytes, display_name: str, sender: str,
                      reply_to_ok: Callable[[list[str]], bool]) -> bytes:
    """The message as it leaves for the internet: From rewritten to the route's sub-address,
    no ``Sender``, no origin stamp, and a ``Reply-To`` only if ``reply_to_ok`` allows it
    (submission refuses a foreign one already; this is defence in depth)."""
    message = email.message_from_bytes(origin.strip(raw), policy=policy.SMTP)
    del message["From"]
    message["From"] = Address(display_name, addr_spec=sender)
    del message["Sender"]
    reply_to = [str(v) for v in message.get_all("Reply-To", [])]
    if reply_to and not reply_to_ok(reply_to):
        del message["Reply-To"]
    return message.as_bytes()


class SenderWorker:
    """A supervised component: one claiming loop plus up to ``concurrency`` deliveries."""

    name = "sender"

    def __init__(self, ctx: ServiceContext, concurrency: int = 4) -> None:
        self.ctx = ctx
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._recovered = False

    async def start(self, stack: Scope) -> None:
        if not self._recovered:  # leases left by a previous process (a restart in this one
            await in_thread(self._release_leases)  # waits for its deliveries instead)
            self._recovered = True
        self._loop = asyncio.get_running_loop()
        self.ctx.sender_wakeups.append(self.wake)
        stack.callback(self._unwake)
        stack.push_async_callback(self._drain)
        stack.spawn(self._run(), "claim")

    def _release_leases(self) -> None:
        with self.ctx.db.write() as conn:
            released, in_doubt = store.release_leases(conn)
        if released:
            log.warning("resuming %d sends interrupted by a crash (%d in doubt: their SMTP "
                        "transaction was cut off, so a recipient may get them twice)",
                        released, in_doubt)

    def wake(self) -> None:
        """Thread-safe: rows may be due now."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def _unwake(self) -> None:
        with contextlib.suppress(ValueError):
            self.ctx.sender_wakeups.remove(self.wake)

    async def _drain(self) -> None:
        """Let deliveries in flight finish (their rows stay leased if they do not)."""
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=30)

    async def _run(self) -> None:
        while True:
            free = self.concurrency - len(self._inflight)
            rows = await asyncio.to_thread(self._claim, free) if free > 0 else []
            for row in rows:
                task = asyncio.create_task(self._deliver(row))
                self._inflight.add(task)
                task.add_done_callback(self._done)
            if rows and len(rows) == free:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_POLL)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("sender task crashed", exc_info=task.exception())

    def _claim(self, limit: int) -> list[store.OutboxRow]:
        with self.ctx.db.write() as conn:
            return store.claim_due(conn, time.time(), LEASE_SECONDS, limit)

    async def _deliver(self, row: store.OutboxRow) -> None:
        try:
            await self._deliver_parts(row)
        except TransientDeliveryError as exc:
            await asyncio.to_thread(self._retry_or_fail, row, str(exc))
        except AgenticMailError as exc:
            await asyncio.to_thread(self._fail, row, str(exc))
        except Exception as exc:  # a bug must not leave the row leased forever
            log.exception("sending %s failed unexpectedly", row.id)
            await asyncio.to_thread(self._retry_or_fail, row, f"internal error: {exc}")

    async def _deliver_parts(self, row: store.OutboxRow) -> None:
        ctx = self.ctx
        if row.local_rcpts and not row.delivered_local:
            endpoints = ctx.host.endpoints()
            local_copy = await asyncio.to_thread(self._stamped, row, row.raw)
            await asyncio.to_thread(deliver_lmtp, endpoints.delivery_host,
                                    endpoints.delivery_port, row.envelope_from,
                                    row.local_rcpts, local_copy)
            await asyncio.to_thread(self._progress, row.id, delivered_local=True)
        if row.external_rcpts and not row.delivered_external:
            route = await asyncio.to_thread(get_route, ctx)
            if route is None:
                raise PermanentDeliveryError("no outbound route is configured any more")
            agent = await asyncio.to_thread(agent_store.find_agent, ctx.db, row.agent)
            if agent is not None:
                sender = external_sender(route, agent.name)
                raw = await asyncio.to_thread(
                    _external_variant, row.raw, agent.display_name, sender,
                    functools.partial(identity.reply_to_allowed, ctx, agent))
            else:  # system mail (owner notifications) goes out as the route's own address
                sender, raw = row.envelope_from, origin.strip(approvals.sealed_raw(ctx, row))
            await asyncio.to_thread(self._external_started, row.id)
            await smtp.send(route, sender, row.external_rcpts, raw)
            await asyncio.to_thread(self._progress, row.id, delivered_external=True)
        if not row.filed:
            await asyncio.to_thread(self._file_sent_copy, row)
        await asyncio.to_thread(self._sent, row)

    def _progress(self, outbox_id: str, **flags: bool) -> None:
        with self.ctx.db.write() as conn:
            store.mark_progress(conn, outbox_id, **flags)

    def _external_started(self, outbox_id: str) -> None:
        with self.ctx.db.write() as conn:
            store.mark_external_started(conn, outbox_id)

    def _stamped(self, row: store.OutboxRow, raw: bytes) -> bytes:
        """``raw`` as it goes into local mailboxes: with the origin stamp when an agent
        submitted it (authenticated, From checked), without any stamp otherwise."""
        agent = (agent_store.find_agent_by_id(self.ctx.db, row.agent_id)
                 if row.agent_id is not None else None)
        if agent is not None and agent.address.lower() == row.envelope_from.lower():
            return origin.stamp(self.ctx, raw, row.envelope_from)
        return origin.strip(raw)

    def _file_sent_copy(self, row: store.OutboxRow) -> None:
        agent = agent_store.find_agent_by_id(self.ctx.db, row.agent_id)
        if agent is not None:
            copy = row.raw
            if row.bcc:
                message = email.message_from_bytes(row.raw, policy=policy.SMTP)
                message["Bcc"] = ", ".join(row.bcc)
                copy = message.as_bytes()
            copy = self._stamped(row, copy)
            with open_session(self.ctx, agent) as session:
                session.append(session.special_folder("\\Sent"), copy, flags=("\\Seen",))
        self._progress(row.id, filed=True)

    def _sent(self, row: store.OutboxRow) -> None:
        with transaction(self.ctx) as tx:
            store.mark_sent(tx.conn, row.id)
            store.remember_sent(tx.conn, row.message_id, row.agent, row.thread_id,
                                agent_id=row.agent_id)
            tx.emit(MESSAGE_SENT, row.agent, {
                "id": row.id, "agent": row.agent, "message_id": row.message_id,
                "subject": row.subject, "recipients": row.local_rcpts + row.external_rcpts},
                agent_id=row.agent_id)

    def _retry_or_fail(self, row: store.OutboxRow, error: str) -> None:
        if row.attempts >= self.ctx.settings.send_max_attempts:
            self._fail(row, f"gave up after {row.attempts} attempts: {error}")
            return
        with self.ctx.db.write() as conn:
            store.mark_retry(conn, row.id, time.time() + backoff(row.attempts), error)
        log.info("outbox %s deferred (attempt %d): %s", row.id, row.attempts, error)

    def _fail(self, row: store.OutboxRow, error: str) -> None:
        with transaction(self.ctx) as tx:
            store.mark_failed(tx.conn, row.id, error)
            tx.emit(MESSAGE_FAILED, row.agent, {"id": row.id, "agent": row.agent,
                                                "message_id": row.message_id,
                                                "subject": row.subject, "error": error},
                    agent_id=row.agent_id)
        log.warning("outbox %s failed: %s", row.id, error)
