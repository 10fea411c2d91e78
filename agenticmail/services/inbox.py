"""The ingest pipeline: a message seen in an agent's folder becomes an index row and an event.

The index row, the watcher checkpoint and the ``message.new`` event commit together, so a
restart resumes exactly after the last message reported: nothing missed, nothing twice.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from ..errors import AgenticMailError
from ..events import MESSAGE_EXPUNGED, MESSAGE_FLAGS, MESSAGE_NEW, MESSAGE_SPAM
from ..mail.compose import normalize_subject
from ..mail.mime import parse_message
from ..models import Agent, ParsedMessage, SearchQuery
from ..security.mime_view import InboundMessage, read
from ..store import messages as index
from ..store import outbox as outbound
from ..store import spam as spam_store
from ..store import verdicts
from . import bounces, contacts, policies, search, sorting, threads
from .context import ServiceContext, transaction
from .payload import message_payload
from .protection import Assessment
from .screening import Deadline, screen
from .sessions import open_session

log = logging.getLogger(__name__)

NOT_JUNK = "$NotJunk"  # set on a message the agent marked not-spam: never moved again
FILTERED = "$agenticmail-spam"  # set on mail the filter moves to Spam (see recover_spam)


def read_inbound(ctx: ServiceContext, raw: bytes | InboundMessage, *, uid: int, folder: str,
                 flags: tuple[str, ...], deadline: Deadline | None = None,
                 known_domains: frozenset[str] | None = None
                 ) -> tuple[ParsedMessage, Assessment]:
    """Parse ``raw`` ONCE (within the parsing bounds) and give what the index and the events
    read and its assessment (sanitised bodies, security verdict), both from that parse
    (``raw`` may be that parse already).
    ``known_domains``: the receiving agent's correspondents (phishing rules)."""
    message = read(raw, bounded=True)
    assert message.raw is not None
    parsed = parse_message(message.raw, uid=uid, folder=folder, flags=flags,
                           message=None if message.failed else message.message)
    return parsed, screen(ctx, message, deadline=deadline, known_domains=known_domains)


def ingest(ctx: ServiceContext, agent: Agent, folder: str, uidvalidity: int, uid: int,
           raw: bytes, flags: tuple[str, ...]) -> str:
    """Assess, index and announce one new message: ``"new"``, ``"spam"`` (moved out to Spam),
    ``"moved"`` (a rule moved it out) or ``"seen"`` (already indexed). The index row, the
    checkpoint and the event commit together, so a restart resumes right after the last
    message reported."""
    deadline = Deadline.for_message(ctx)  # one budget for parse and assessment
    # the agent's correspondents: none yet (a new agent) says nothing about a sender
    book = contacts.known_domains(ctx, agent)
    known = book | {ctx.settings.domain.lower()} if book else None
    message = read(raw, bounded=True)
    parsed, assessment = read_inbound(ctx, message, uid=uid, folder=folder, flags=flags,
                                      deadline=deadline, known_domains=known)
    if folder == "INBOX":  # before the spam decision: the agent's block/allow list, then the
        # owner's per-sender policy for the agent (which has the last word)
        assessment = contacts.screen_sender(ctx, agent, parsed.from_, assessment)
        assessment, decision = policies.apply(ctx, agent, parsed, raw, assessment)
        if decision.action in ("drop", "bounce"):
            trash = _move(ctx, agent, folder, uid, "\\Trash")
            if _record(ctx, agent, parsed, raw, assessment, trash or (folder, uidvalidity, uid),
                       spam=False, checkpoint=(folder, uidvalidity, uid), announce=False) \
                    and decision.action == "bounce":
                policies.bounce(ctx, agent, parsed, raw, decision)  # once: not on a re-read
            return "moved" if trash else "seen"  # moved out: its expunge is not news
    spam = assessment.spam and folder == "INBOX" and NOT_JUNK not in flags
    # Where the message now is: spam is indexed and announced under its UID in Spam, so an
    # agent acting on the event reads that message (the INBOX UID names nothing there).
    where = _move_to_spam(ctx, agent, folder, uid) if spam else None
    acted: list[dict[str, Any]] = []
    if folder == "INBOX" and not spam:  # the agent's rules, before the event
        done = sorting.sort(ctx, agent, folder, uidvalidity, uid, parsed, raw, assessment)
        where, acted = done.where, done.report
        parsed = dataclasses.replace(parsed, flags=done.flags)
    if not _record(ctx, agent, parsed, raw, assessment, where or (folder, uidvalidity, uid),
                   spam, checkpoint=(folder, uidvalidity, uid), rules=acted,
                   inbound=message if folder == "INBOX" else None):
        return "seen"
    if spam:
        return "spam" if where else "new"
    return "moved" if where else "new"


def recover_spam(ctx: ServiceContext, agent: Agent) -> int:
    """Announce spam the filter moved whose event never committed (the daemon died between
    the MOVE and the commit): messages in Spam that carry ``FILTERED`` and are not indexed.
    Returns how many; a mailbox that cannot be read is logged and left for the next time."""
    try:
        with open_session(ctx, agent) as session:
            junk = session.special_folder("\\Junk")
            validity = session.uidvalidity(junk)
            marked = session.search(junk, SearchQuery(keyword=FILTERED))
            known = index.known_uids(ctx.db, agent.id, junk, validity, marked)
            missed = [(uid, *session.fetch_raw(junk, uid))
                      for uid in sorted(set(marked) - known)]
    except AgenticMailError as exc:
        log.warning("could not look for unannounced spam of %s: %s", agent.name, exc)
        return 0
    for uid, raw, flags in missed:
        parsed, assessment = read_inbound(ctx, raw, uid=uid, folder=junk, flags=flags,
                                          deadline=Deadline.for_message(ctx))
        _record(ctx, agent, parsed, raw, assessment, (junk, validity, uid), spam=True)
    return len(missed)


def _record(ctx: ServiceContext, agent: Agent, parsed: ParsedMessage, raw: bytes,
            assessment: Assessment, at: tuple[str, int, int], spam: bool,
            checkpoint: tuple[str, int, int] | None = None,
            rules: list[dict[str, Any]] | None = None, announce: bool = True,
            inbound: InboundMessage | None = None) -> bool:
    """Index the message where it is (``at``: folder, UIDVALIDITY, UID), store its verdict
    (keyed by its bytes), log spam, count its sender in the agent's contacts, save the watcher
    checkpoint, act on a bounce, complaint or unsubscribe it carries (``inbound``:
    :mod:`.bounces`) and emit the event (naming the ``rules`` that acted; none when not to
    ``announce`` it: mail the agent's policy dropped), all in one transaction; False if
    already indexed."""
    folder, uidvalidity, uid = at
    thread = threads.assign(ctx, agent.id, parsed)
    entry = index.IndexEntry(
        agent_id=agent.id, folder=folder, uidvalidity=uidvalidity, uid=uid,
        message_id=parsed.message_id, thread_id=thread, from_addr=parsed.from_,
        to_addrs=parsed.to, subject=parsed.subject, date=parsed.date, flags=parsed.flags,
        subject_norm=normalize_subject(parsed.subject) or None,
        snippet=threads.snippet(assessment.text or parsed.text or ""),
    )
    with transaction(ctx) as tx:
        new = index.upsert(tx.conn, entry)
        search.index_parsed(tx.conn, agent, folder, uidvalidity, uid, parsed,
                            assessment.text or parsed.text)
        verdicts.save(tx.conn, agent.id, raw, assessment.security)
        if checkpoint is not None:
            index.save_checkpoint(tx.conn, agent.id, *checkpoint)
        if not new:
            return False
        contacts.saw_inbound(tx.conn, agent, parsed.from_)
        if not announce:
            log.info("%s: mail from %s dropped by its policy (%s)", agent.name, parsed.from_,
                     assessment.security.policy.reason if assessment.security.policy else "")
            return True
        if not spam and _second_copy(ctx, tx.conn, agent, folder, parsed.message_id):
            log.warning("%s got a second copy of %s in %s (a delivery retried after a crash); "
                        "indexed, not announced again", agent.name, parsed.message_id, folder)
            return True
        if inbound is not None:
            bounces.consider(ctx, tx, agent, inbound, parsed.subject)
        payload = {"agent": agent.name, "folder": folder, "uid": uid,
                   "thread_id": thread, "message": message_payload(parsed, assessment),
                   "rules": rules or []}
        if spam:
            sec = assessment.security.score
            spam_store.log_spam(tx.conn, agent=agent.name, agent_id=agent.id,
                                message_id=parsed.message_id,
                                from_addr=parsed.from_, subject=parsed.subject,
                                score=sec.score, category=sec.category,
                                rules=[r.to_dict() for r in sec.rules])
            tx.emit(MESSAGE_SPAM, agent.name, payload, agent_id=agent.id)
        else:
            tx.emit(MESSAGE_NEW, agent.name, payload, agent_id=agent.id)
    search.notify_indexed()
    return True


def _second_copy(ctx: ServiceContext, conn: Any, agent: Agent, folder: str,
                 message_id: str | None) -> bool:
    """Whether ``message_id`` was already announced to ``agent`` in ``folder`` and the daemon
    itself delivered it (a local delivery retried across a crash): never announce it twice.
    Mail from elsewhere may reuse a Message-ID and is announced as it comes."""
    return bool(message_id) and index.copies(conn, agent.id, folder, message_id or "") > 1 \
        and outbound.queued_by_us(ctx.db, message_id or "")


def _move(ctx: ServiceContext, agent: Agent, folder: str, uid: int, special: str
          ) -> tuple[str, int, int] | None:
    """Move one message to the agent's special-use folder ``special`` (``\\Trash``); its new
    ``(folder, uidvalidity, uid)``, or None when it stays where it is (the move failed)."""
    try:
        with open_session(ctx, agent) as session:
            target = session.special_folder(special)
            moved = session.move(folder, [uid], target)
            return (target, session.uidvalidity(target), moved[uid]) if uid in moved else None
    except AgenticMailError as exc:
        log.warning("could not move %s/%d for %s to %s: %s", folder, uid, agent.name, special,
                    exc)
        return None


def _move_to_spam(ctx: ServiceContext, agent: Agent, folder: str, uid: int
                  ) -> tuple[str, int, int] | None:
    """Mark one message ``FILTERED`` and move it to the agent's Junk folder; its new
    ``(folder, uidvalidity, uid)``, or None when it stays where it is (the move failed; it is
    still reported as spam). The move precedes the commit of the event: should the daemon die
    in between, :func:`recover_spam` finds the marked message and announces it."""
    try:
        with open_session(ctx, agent) as session:
            junk = session.special_folder("\\Junk")
            session.set_flags(folder, [uid], add=[FILTERED])
            moved = session.move(folder, [uid], junk)
            if uid in moved:
                return junk, session.uidvalidity(junk), moved[uid]
            log.warning("moved spam %s/%d for %s, but the server did not say its new UID",
                        folder, uid, agent.name)
            return None
    except AgenticMailError as exc:
        log.warning("could not move spam %s/%d for %s: %s", folder, uid, agent.name, exc)
        return None


def flags_changed(ctx: ServiceContext, agent: Agent, folder: str,
                  changes: dict[int, tuple[str, ...]]) -> None:
    with transaction(ctx) as tx:
        search.flags_changed(tx.conn, agent, folder, changes)
        for uid, flags in sorted(changes.items()):
            index.set_flags(tx.conn, agent.id, folder, uid, flags)
            tx.emit(MESSAGE_FLAGS, agent.name,
                    {"agent": agent.name, "folder": folder, "uid": uid, "flags": list(flags)},
                    agent_id=agent.id)


def expunged(ctx: ServiceContext, agent: Agent, folder: str, uids: list[int]) -> None:
    with transaction(ctx) as tx:
        index.remove(tx.conn, agent.id, folder, uids)
        search.removed(tx.conn, agent, folder, uids)
        for uid in sorted(uids):
            tx.emit(MESSAGE_EXPUNGED, agent.name, {"agent": agent.name, "folder": folder,
                                                   "uid": uid}, agent_id=agent.id)


def spam_log(ctx: ServiceContext, agent: Agent | None, limit: int = 100) -> list[dict[str, Any]]:
    """Why messages were moved to Spam (all agents' entries when ``agent`` is None)."""
    return spam_store.list_spam(ctx.db, agent.id if agent else None, limit)
