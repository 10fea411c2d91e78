"""Delivering one outbox row: local recipients over LMTP, external ones through the route
(with the From rewritten to the route's sub-address) or, in domain mode, by the domain's path
(From ``agent@domain``: services/domain_outbound), the Sent copy (with Bcc), then the row
marked sent and announced. ``daemon/sender.py`` only schedules: it claims rows per lane and
hands each to :func:`deliver`.

Each step records its progress, so a retry never repeats what a server already accepted:

* **Exactly once to local recipients.** A retry of a row whose LMTP delivery may have
  happened (an earlier attempt was cut off by a crash or a dead mail host) first looks for
  the Message-ID in each recipient's index and mailbox and skips those who have it; the Sent
  copy is looked for the same way before it is appended again.
* **Delivered is sent.** Once every recipient has the message the row is ``sent``; a Sent copy
  that cannot be saved (the mail host is down) is retried on its own, never failing the row.
* **Retry by time.** Transient failures retry with a capped, jittered backoff for
  ``send_retry_seconds`` (2 days); ``message.delayed`` is announced once after
  ``send_delayed_after_seconds``; then ``message.failed``.
* **In doubt.** An SMTP transaction cut off after the final dot (crash, timeout, a stop) may
  have been accepted: the row is flagged ``in_doubt`` and sent again.
* **Cut off by a stop.** A stop cancels an SMTP transaction that hangs: the row goes back to
  the queue at once (in doubt only if the final dot had been sent) and leaves at the next
  start.
"""

from __future__ import annotations

import asyncio
import email
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from email import policy
from email.headerregistry import Address

from ..errors import (
    AgenticMailError,
    DeliveryInDoubt,
    PermanentDeliveryError,
    SignInRequired,
    StorageUnavailable,
    TransientDeliveryError,
)
from ..events import MESSAGE_DELAYED, MESSAGE_FAILED, MESSAGE_SENT
from ..mail import smtp
from ..mail.delivery import deliver_lmtp
from ..mail.imap import MailboxSession
from ..mail.mime import normalize_message_id
from ..models import Agent, SearchQuery
from ..store import agents as agent_store
from ..store import outbox as store
from . import approvals, domain_outbound, identity, origin, search
from .context import ServiceContext, transaction
from .domain_config import external_address
from .mailbox import open_session
from .routes import external_sender, get_route
from .sessions import SessionPool

log = logging.getLogger(__name__)

LANES = ("local", "external")
BASE_DELAY = 2.0


def claim_due(ctx: ServiceContext, lane: str, limit: int, lease: float
              ) -> list[store.OutboxRow]:
    """Lease up to ``limit`` due rows of ``lane`` for ``lease`` seconds (one transaction)."""
    with transaction(ctx) as tx:
        return store.claim_due(tx.conn, time.time(), lease, limit, lane)


def give_back(ctx: ServiceContext, rows: list[store.OutboxRow]) -> None:
    """Release at once the leases of rows claimed but not worked on (the sender stopped)."""
    with transaction(ctx) as tx:
        for row in rows:
            store.release(tx.conn, row.id)


def release_leases(ctx: ServiceContext) -> tuple[int, int]:
    """Give back the leases a previous process left: (rows released, of which in doubt)."""
    with transaction(ctx) as tx:
        return store.release_leases(tx.conn)


def backoff(attempt: int, cap: float) -> float:
    """Seconds before retry ``attempt`` (1-based): exponential up to ``cap``, full jitter."""
    return random.uniform(0.5, 1.0) * min(cap, BASE_DELAY * 2 ** min(attempt - 1, 30))


# the headers kept are written as they came: refolding a long one (a List-Unsubscribe URL)
# would turn it into RFC 2047 encoded words that no mail client reads as a URL
_AS_WRITTEN = policy.SMTP.clone(refold_source="none")


def external_variant(raw: bytes, display_name: str, sender: str,
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
    return message.as_bytes(policy=_AS_WRITTEN)


def _stamped(ctx: ServiceContext, row: store.OutboxRow, raw: bytes) -> bytes:
    """``raw`` as it goes into local mailboxes: with the origin stamp when an agent submitted
    it (authenticated, From checked), without any stamp otherwise."""
    agent = (agent_store.find_agent_by_id(ctx.db, row.agent_id)
             if row.agent_id is not None else None)
    if agent is not None and agent.address.lower() == row.envelope_from.lower():
        return origin.stamp(ctx, raw, row.envelope_from)
    return origin.strip(raw)


async def deliver(ctx: ServiceContext, row: store.OutboxRow, sessions: SessionPool) -> None:
    """Do the next part of ``row``'s work and record the outcome (never raises for a
    delivery problem: the row is sent, retried, delayed or failed). The Sent copy is filed
    through ``sessions`` (the sender's pool of logged-in sessions)."""
    try:
        if row.status == "sent":  # only its Sent copy is left
            await asyncio.to_thread(_file_later, ctx, row, sessions)
            return
        await _deliver_parts(ctx, row, sessions)
    except StorageUnavailable as exc:  # nothing can be recorded now; the retry after the
        # lease runs out looks for what was delivered before it delivers again
        log.warning("outbox %s: cannot record its progress: %s (retried when its lease "
                    "runs out)", row.id, exc)
    except DeliveryInDoubt as exc:
        log.warning("outbox %s is in doubt: %s; sending it again (the recipient may get it "
                    "twice)", row.id, exc)
        await asyncio.to_thread(_retry_or_fail, ctx, row, str(exc), in_doubt=True)
    except TransientDeliveryError as exc:
        await asyncio.to_thread(_retry_or_fail, ctx, row, str(exc))
    except AgenticMailError as exc:
        await asyncio.to_thread(_fail, ctx, row, str(exc))
    except Exception as exc:  # a bug must not leave the row leased forever
        log.exception("sending %s failed unexpectedly", row.id)
        await asyncio.to_thread(_retry_or_fail, ctx, row, f"internal error: {exc}")


async def _deliver_parts(ctx: ServiceContext, row: store.OutboxRow,
                         sessions: SessionPool) -> None:
    if row.local_rcpts and not row.delivered_local:
        await asyncio.to_thread(_deliver_local, ctx, row)
        if row.external_rcpts and not row.delivered_external:
            # the external part runs in its own lane: hand the row over at once
            await asyncio.to_thread(_requeue, ctx, row)
            return
    if row.external_rcpts and not row.delivered_external:
        await _deliver_external(ctx, row)
    await asyncio.to_thread(_finish, ctx, row, sessions)


def _deliver_local(ctx: ServiceContext, row: store.OutboxRow) -> None:
    rcpts = row.local_rcpts
    if row.attempts > 1:  # an earlier attempt may have delivered to some of them
        try:
            rcpts = [r for r in rcpts if not _recipient_has(ctx, r, row.message_id)]
        except AgenticMailError as exc:  # the mail host is (re)starting: ask again later
            raise TransientDeliveryError(f"cannot tell yet whether the recipients have it: "
                                         f"{exc}") from exc
        if len(rcpts) < len(row.local_rcpts):
            log.info("outbox %s: %d local recipient(s) already have it; not delivered again",
                     row.id, len(row.local_rcpts) - len(rcpts))
    if rcpts:
        endpoints = ctx.host.endpoints()
        refused = deliver_lmtp(endpoints.delivery_host, endpoints.delivery_port,
                               row.envelope_from, rcpts, _stamped(ctx, row, row.raw))
        ctx.mail_arrived([r for r in rcpts if r not in refused])  # watchers look at once
    _progress(ctx, row.id, delivered_local=True)


def _recipient_has(ctx: ServiceContext, address: str, message_id: str) -> bool:
    """Whether the agent at ``address`` already has a message with ``message_id`` (its index,
    then its Inbox and Spam). A mailbox that cannot be searched raises (retry later)."""
    agent = agent_store.find_agent_by_address(ctx.db, address)
    if agent is None:
        return False
    return agent_has(ctx, agent, message_id)


def agent_has(ctx: ServiceContext, agent: Agent, message_id: str,
              session: MailboxSession | None = None) -> bool:
    """Whether ``agent`` already has a message with ``message_id`` (its index, then its Inbox
    and Spam; through ``session`` when given). A mailbox that cannot be searched raises."""
    if _indexed(ctx, agent, message_id):
        return True
    if session is not None:
        return _session_has(session, message_id, ("INBOX", "\\Junk"))
    return _in_mailbox(ctx, agent, message_id, ("INBOX", "\\Junk"))


def _indexed(ctx: ServiceContext, agent: Agent, message_id: str) -> bool:
    wanted = {message_id, normalize_message_id(message_id) or message_id}
    return any(ctx.db.one("SELECT 1 FROM messages WHERE agent_id = ? AND message_id = ? "
                          "LIMIT 1", (agent.id, mid)) is not None for mid in wanted)


def _in_mailbox(ctx: ServiceContext, agent: Agent, message_id: str,
                folders: tuple[str, ...]) -> bool:
    with open_session(ctx, agent) as session:
        return _session_has(session, message_id, folders)


def _session_has(session: MailboxSession, message_id: str, folders: tuple[str, ...]) -> bool:
    query = SearchQuery(message_id=message_id.strip().strip("<>"))
    for folder in folders:
        name = session.special_folder(folder) if folder.startswith("\\") else folder
        if session.search(name, query):
            return True
    return False


async def _deliver_external(ctx: ServiceContext, row: store.OutboxRow) -> None:
    if await _deliver_by_domain(ctx, row):
        return
    try:
        route = await asyncio.to_thread(get_route, ctx)
    except SignInRequired as exc:  # kept: it leaves once the owner signs in again
        raise TransientDeliveryError(f"the relay needs a new sign-in: {exc}") from exc
    if route is None:
        raise PermanentDeliveryError("no outbound route is configured any more")
    agent = await asyncio.to_thread(agent_store.find_agent_by_id, ctx.db, row.agent_id)
    if agent is not None:
        sender = external_sender(route, agent.name)
        raw = await asyncio.to_thread(
            external_variant, row.raw, agent.display_name, sender,
            functools.partial(identity.reply_to_allowed, ctx, agent))
    else:  # system mail (owner notifications) goes out as the route's own address
        sender, raw = row.envelope_from, origin.strip(approvals.sealed_raw(ctx, row))
    await asyncio.to_thread(_external_started, ctx, row.id)
    attempt = smtp.Attempt()
    await _unless_cut_off(ctx, row, attempt, smtp.send(
        route, sender, row.external_rcpts, raw, timeout=ctx.settings.smtp_timeout_seconds,
        attempt=attempt))
    await asyncio.to_thread(_progress, ctx, row.id, delivered_external=True)


async def _unless_cut_off(ctx: ServiceContext, row: store.OutboxRow, attempt: smtp.Attempt,
                          sending: Awaitable[None]) -> None:
    """Await ``sending`` (``row``'s external transaction, recording its progress in
    ``attempt``); cut off by a stop, the row goes back to the queue first."""
    try:
        await sending
    except asyncio.CancelledError:  # the daemon is stopping
        await asyncio.to_thread(_cut_off, ctx, row, attempt.body_sent)
        raise


async def _deliver_by_domain(ctx: ServiceContext, row: store.OutboxRow) -> bool:
    """An agent's external part in domain mode: From ``agent@domain``, by the domain's path.
    False when it is not for domain mode (domain mode off, or system mail: the route's)."""
    config = await asyncio.to_thread(domain_outbound.active, ctx)
    if config is None:
        return False
    agent = await asyncio.to_thread(agent_store.find_agent_by_id, ctx.db, row.agent_id)
    if agent is None:
        return False
    sender = external_address(config, agent.name)
    raw = await asyncio.to_thread(
        external_variant, row.raw, agent.display_name, sender,
        functools.partial(identity.reply_to_allowed, ctx, agent))
    await asyncio.to_thread(_external_started, ctx, row.id)
    attempt = smtp.Attempt()
    await _unless_cut_off(ctx, row, attempt, domain_outbound.send(
        ctx, config, row.id, sender, row.external_rcpts, raw, attempt))
    await asyncio.to_thread(_progress, ctx, row.id, delivered_external=True)
    return True


def _finish(ctx: ServiceContext, row: store.OutboxRow, sessions: SessionPool) -> None:
    """Every recipient has it: file the Sent copy if that works now, then mark it sent.
    A Sent copy that fails is retried on its own (the row is sent all the same)."""
    filing_error = None
    if not row.filed:
        try:
            _file_sent_copy(ctx, row, sessions, look_first=row.attempts > 1)
        except AgenticMailError as exc:
            filing_error = str(exc)
    with transaction(ctx) as tx:
        store.mark_sent(tx.conn, row.id)
        if not row.filed and filing_error is None:
            store.mark_filed(tx.conn, row.id)
        if filing_error is not None:
            store.mark_filing_retry(tx.conn, row.id, time.time() + _delay(ctx, 1),
                                    f"the Sent copy is not saved yet: {filing_error}")
        store.remember_sent(tx.conn, row.message_id, row.agent, row.thread_id,
                            agent_id=row.agent_id)
        tx.emit(MESSAGE_SENT, row.agent, {
            "id": row.id, "agent": row.agent, "message_id": row.message_id,
            "subject": row.subject, "recipients": row.local_rcpts + row.external_rcpts},
            agent_id=row.agent_id)
    if filing_error is not None:
        log.warning("outbox %s was delivered; its Sent copy will be retried: %s",
                    row.id, filing_error)


def _file_sent_copy(ctx: ServiceContext, row: store.OutboxRow, sessions: SessionPool, *,
                    look_first: bool) -> None:
    """Save the Sent copy (with Bcc); ``look_first``: unless an earlier attempt did."""
    agent = agent_store.find_agent_by_id(ctx.db, row.agent_id)
    if agent is None:
        return
    copy = row.raw
    if row.bcc:
        message = email.message_from_bytes(row.raw, policy=policy.SMTP)
        message["Bcc"] = ", ".join(row.bcc)
        copy = message.as_bytes()
    copy = _stamped(ctx, row, copy)

    def file(session: MailboxSession, again: bool) -> None:
        sent = session.special_folder("\\Sent")
        query = SearchQuery(message_id=row.message_id.strip().strip("<>"))
        if not ((look_first or again) and session.search(sent, query)):
            uid = session.append(sent, copy, flags=("\\Seen",))
            if uid is not None:
                _index_sent_copy(ctx, session, agent, sent, uid, copy)

    sessions.run(agent, file)


def _index_sent_copy(ctx: ServiceContext, session: MailboxSession, agent: Agent, sent: str,
                     uid: int, copy: bytes) -> None:
    """Index the Sent copy just filed; a failure is logged (the copy is filed all the same,
    and ``agenticmail index rebuild`` or a repair indexes it)."""
    try:
        search.index_raw(ctx, agent, sent, session.uidvalidity(sent), uid, copy, ("\\Seen",))
    except AgenticMailError as exc:
        log.warning("could not index the Sent copy %s/%d of %s: %s", sent, uid, agent.name, exc)


def _file_later(ctx: ServiceContext, row: store.OutboxRow, sessions: SessionPool) -> None:
    """Retry the Sent copy of a sent message until the retry budget runs out."""
    try:
        _file_sent_copy(ctx, row, sessions, look_first=True)
    except AgenticMailError as exc:
        with ctx.db.write() as conn:
            if time.time() - row.due >= ctx.settings.send_retry_seconds:
                store.mark_filing_failed(conn, row.id, f"the Sent copy was given up: {exc}")
                log.warning("outbox %s: gave up its Sent copy: %s", row.id, exc)
            else:
                store.mark_filing_retry(conn, row.id, time.time() + _delay(ctx, row.attempts),
                                        f"the Sent copy is not saved yet: {exc}")
        return
    with ctx.db.write() as conn:
        store.mark_filed(conn, row.id)


def _delay(ctx: ServiceContext, attempt: int) -> float:
    return backoff(attempt, ctx.settings.send_backoff_max_seconds)


def _progress(ctx: ServiceContext, outbox_id: str, **flags: bool) -> None:
    with ctx.db.write() as conn:
        store.mark_progress(conn, outbox_id, **flags)


def _external_started(ctx: ServiceContext, outbox_id: str) -> None:
    with ctx.db.write() as conn:
        store.mark_external_started(conn, outbox_id)


def _cut_off(ctx: ServiceContext, row: store.OutboxRow, body_sent: bool) -> None:
    with ctx.db.write() as conn:
        store.release(conn, row.id, in_doubt=body_sent)
    if body_sent:
        log.warning("outbox %s: its SMTP transaction was cut off by the stop after the final "
                    "dot; it is in doubt and sent again at the next start (the recipient may "
                    "get it twice)", row.id)
    else:
        log.info("outbox %s: its SMTP transaction was cut off by the stop before the message "
                 "went out; sent at the next start", row.id)


def _requeue(ctx: ServiceContext, row: store.OutboxRow) -> None:
    with ctx.db.write() as conn:
        store.mark_retry(conn, row.id, time.time(), None)
    ctx.wake_sender()


def _retry_or_fail(ctx: ServiceContext, row: store.OutboxRow, error: str,
                   in_doubt: bool = False) -> None:
    waited = time.time() - row.due
    if waited >= ctx.settings.send_retry_seconds:
        _fail(ctx, row, f"gave up after {_duration(waited)} ({row.attempts} attempts): {error}")
        return
    with transaction(ctx) as tx:
        store.mark_retry(tx.conn, row.id, time.time() + _delay(ctx, row.attempts), error)
        if in_doubt:
            store.mark_in_doubt(tx.conn, row.id)
        if waited >= ctx.settings.send_delayed_after_seconds and store.mark_delayed(
                tx.conn, row.id):
            tx.emit(MESSAGE_DELAYED, row.agent, {
                "id": row.id, "agent": row.agent, "message_id": row.message_id,
                "subject": row.subject, "error": error, "attempts": row.attempts,
                "retrying_until": store.iso(row.due + ctx.settings.send_retry_seconds)},
                agent_id=row.agent_id)
    log.info("outbox %s deferred (attempt %d): %s", row.id, row.attempts, error)


def _duration(seconds: float) -> str:
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"


def _fail(ctx: ServiceContext, row: store.OutboxRow, error: str) -> None:
    with transaction(ctx) as tx:
        store.mark_failed(tx.conn, row.id, error)
        tx.emit(MESSAGE_FAILED, row.agent, {"id": row.id, "agent": row.agent,
                                            "message_id": row.message_id,
                                            "subject": row.subject, "error": error},
                agent_id=row.agent_id)
    log.warning("outbox %s failed: %s", row.id, error)
