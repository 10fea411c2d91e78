"""The agent's own sorting of a new INBOX message, between screening and its event: its
block/allow list (:func:`.contacts.screen_sender`, before the spam decision) and its rules
(:func:`sort`, on mail that stays out of Spam), both called from the one ingest pipeline
(:func:`.inbox.ingest`), so the ``message.new`` event says where the message ended and which
rules acted.

Rules act on the mailbox before the event commits: tags and ``mark_read`` first (so they travel
with a move), then one move or delete (the first one asked for; delete goes to Trash), then
forwards. A forward is a new message from the agent to another agent through the outbox (the
normal delivery path, rate limits included), with an idempotency key per rule and message so a
re-run never sends it twice. Forwards are bounded: each forwarded copy carries ``HOPS_HEADER``
one higher than the message it forwards, and a message already forwarded ``MAX_FORWARD_HOPS``
times is not forwarded again (rules that send mail back and forth stop there). A forged header
can only stop a forward, never cause one.

Limit: like the spam move, a rule's move happens before the event commits; should the daemon
die in between, the moved message is not announced (it is in its folder, and listed there).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import AgenticMailError
from ..mail.compose import forward_mail
from ..mail.imap import MailboxSession
from ..mail.mime import get_attachment
from ..models import Agent, ParsedMessage
from ..store import agents as agent_store
from ..store import rules as rule_store
from . import outbox, rule_spec
from .context import ServiceContext
from .protection import Assessment
from .sessions import open_session
from .tag_names import keyword_for

log = logging.getLogger(__name__)

HOPS_HEADER = "X-AgenticMail-Rule-Hops"
MAX_FORWARD_HOPS = 3


@dataclass
class Sorted:
    """Where the message ended (None: still where it arrived), its flags, and the rules that
    acted, each action with its ``result`` (``done``, ``skipped: …``, ``failed: …``)."""

    where: tuple[str, int, int] | None
    flags: tuple[str, ...]
    report: list[dict[str, Any]] = field(default_factory=list)


def hops(parsed: ParsedMessage) -> int:
    """How many rule forwards brought this message here (0 when none said)."""
    found = 0
    for name, value in parsed.headers.items():
        if name.lower() == HOPS_HEADER.lower():
            for part in str(value).split("\n"):
                part = part.strip()
                found = max(found, int(part) if part.isdigit() and len(part) < 6 else
                            MAX_FORWARD_HOPS)
    return found


def sort(ctx: ServiceContext, agent: Agent, folder: str, uidvalidity: int, uid: int,
         parsed: ParsedMessage, raw: bytes, assessment: Assessment) -> Sorted:
    """Run the agent's rules on one new message and carry out what they ask."""
    outcome = Sorted(None, parsed.flags)
    agent_rules = rule_store.list_rules(ctx.db, agent.id)
    if not agent_rules:
        return outcome
    matched = rule_spec.evaluate(agent_rules, parsed, assessment.text, assessment.security)
    if not matched:
        return outcome
    actions: list[tuple[str, dict[str, Any]]] = []
    report: list[dict[str, Any]] = []
    for m in matched:
        mine = [dict(a) for a in m.actions]  # each gets its "result"
        actions += [(m.rule.id, a) for a in mine]
        report.append({"id": m.rule.id, "name": m.rule.name, "actions": mine})
    outcome.report = report
    _on_mailbox(ctx, agent, folder, uid, actions, outcome)
    for rule_id, action in actions:
        if action["type"] == "forward":
            action["result"] = _forward(ctx, agent, rule_id, action["to"], (uidvalidity, uid),
                                        parsed, raw, assessment)
        elif action["type"] == "stop":
            action["result"] = "done"
    return outcome


def _on_mailbox(ctx: ServiceContext, agent: Agent, folder: str, uid: int,
                actions: list[tuple[str, dict[str, Any]]], outcome: Sorted) -> None:
    keywords = {id(a): keyword_for(a["tag"]) for _, a in actions if a["type"] == "tag"}
    seen = [a for _, a in actions if a["type"] == "mark_read"]
    moves = [a for _, a in actions if a["type"] in ("move", "delete")]
    for later in moves[1:]:
        later["result"] = "skipped: an earlier action already moved the message"
    mine = [a for _, a in actions if id(a) in keywords] + seen + moves[:1]
    if not mine:
        return
    try:
        with open_session(ctx, agent) as session:
            add = sorted(set(keywords.values())) + (["\\Seen"] if seen else [])
            if add:
                outcome.flags = session.set_flags(folder, [uid], add=add)[uid]
                for a in mine:
                    if a["type"] in ("tag", "mark_read"):
                        a["result"] = "done"
            if moves:
                _move(session, agent, folder, uid, moves[0], outcome)
    except AgenticMailError as exc:
        log.warning("rules of %s could not act on %s/%d: %s", agent.name, folder, uid, exc)
        for a in mine:
            a.setdefault("result", f"failed: {exc.message}")


def _move(session: MailboxSession, agent: Agent, folder: str, uid: int,
          action: dict[str, Any], outcome: Sorted) -> None:
    dest = session.special_folder("\\Trash") if action["type"] == "delete" \
        else action["folder"]
    if dest == folder:
        action["result"] = "skipped: the message is already there"
        return
    moved = session.move(folder, [uid], dest)
    if uid in moved:
        outcome.where = (dest, session.uidvalidity(dest), moved[uid])
        action["result"] = "done"
        if action["type"] == "delete":
            action["folder"] = dest
    else:  # moved, but the server did not say where: announced where it arrived
        action["result"] = "done (the server did not give its new UID)"
        log.warning("rule moved %s/%d for %s to %s without a new UID", folder, uid,
                    agent.name, dest)


def _forward(ctx: ServiceContext, agent: Agent, rule_id: str, to: str,
             at: tuple[int, int], parsed: ParsedMessage, raw: bytes,
             assessment: Assessment) -> str:
    count = hops(parsed)
    if count >= MAX_FORWARD_HOPS:
        return f"skipped: already forwarded {count} times by rules (the limit)"
    target = agent_store.find_agent(ctx.db, to)
    if target is None:
        return f"failed: no agent named {to!r} any more"
    sec = assessment.security.score
    note = (f"Forwarded by rule {rule_id} of {agent.name}. The original's security verdict: "
            f"score {sec.score}, category {sec.category or 'none'}.")
    try:
        mail = forward_mail(parsed, raw, to=[target.address], cc=(), text=note, html=None,
                            original_text=assessment.text, original_html=assessment.html,
                            attachments=[get_attachment(raw, a.index) for a in parsed.attachments])
        mail = replace(mail, headers=(*mail.headers, (HOPS_HEADER, str(count + 1))))
        key = _key(rule_id, at, parsed.message_id)
        accepted = outbox.submit(ctx, agent, mail, idempotency_key=key)
    except AgenticMailError as exc:
        log.warning("rule %s of %s could not forward to %s: %s", rule_id, agent.name, to, exc)
        return f"failed: {exc.message}"
    return f"done ({accepted.status} as {accepted.message_id})"


def _key(rule_id: str, at: tuple[int, int], message_id: str | None) -> str:
    digest = hashlib.sha256(f"{at[0]}:{at[1]}:{message_id}".encode()).hexdigest()[:24]
    return f"rule-{rule_id}-{digest}"
