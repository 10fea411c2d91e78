"""Each agent's per-sender policy (:mod:`agenticmail.security.sender_policy`): where it is kept,
how it is (re)loaded, and what it does to a message at ingest.

A policy is a TOML file, ``<home>/policies/<agent>.toml`` (0600), written by the owner with
``agenticmail policy edit``/``set``, through ``PUT /v1/policies/{agent}``, or with any editor.
It is reloaded when it changes, without a restart: the :class:`PolicyBook` looks at the
file's size and mtime before every use, and the daemon's policy watcher (``watchfiles``)
reloads it as soon as it is saved so that a broken file is reported at once. A file that
cannot be used keeps the last good policy in force; ``status``, ``doctor`` and the log say
why. An empty file is one of those (an editor that truncates before it writes must not open
the policy for a moment): an agent with no file has the open policy (every sender delivered,
every capability).

At ingest (:func:`apply`), after scoring: ``deliver`` leaves the message where the score
puts it, ``quarantine`` files it in Spam, ``drop`` moves it to Trash unannounced, and
``bounce`` does the same after answering the sender with a delivery status notification
(through the outbox and the route like any mail the agent sends, never to the agent itself).
The decision, with the capabilities the agent may use, is in the message's ``security``
block (``policy``).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from ..config import write_private
from ..errors import AgenticMailError, InvalidRequest, NotFound
from ..models import Agent, ParsedMessage
from ..security.mime_view import read
from ..security.sender_policy import OPEN, Decision, Policy, PolicyError, decide, parse
from ..store import messages as index
from . import outbox
from .context import ServiceContext
from .protection import Assessment
from .screening import screen

log = logging.getLogger(__name__)

POLICY_DIR = "policies"
TEMPLATE = """\
# Per-sender policy for {agent} (docs/filters.md, "Per-sender policy").
# Rules are tried in order; the first whose match names the sender decides.
default = "deliver"            # deliver | quarantine | bounce | drop
capabilities = ["reply", "forward", "attachments", "links", "tools"]

# [[sender]]
# match = "billing@partner.example"  # an address, a domain, "*.domain" or "re:<regex>"
# require = ["dkim", "dmarc"]        # dkim | spf | dmarc: all must pass to be trusted
# action = "deliver"
# on_fail = "quarantine"
# capabilities = ["reply"]
# per_hour = 20
# per_day = 100
"""


@dataclass(frozen=True)
class Loaded:
    """One agent's policy as in force: ``policy`` (the last good one), the file it came from,
    and ``error`` when the file as it is now cannot be used."""

    agent: str
    path: Path
    policy: Policy
    text: str | None
    error: str | None = None
    stamp: tuple[int, int] | None = None  # (mtime_ns, size) of the file last read


class PolicyBook:
    """The policies of one home, cached by file stamp; safe to use from any thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._loaded: dict[str, Loaded] = {}

    def path(self, agent: str) -> Path:
        return self.directory / f"{agent}.toml"

    def get(self, agent: str) -> Loaded:
        """The policy in force for ``agent``, read again if its file changed."""
        path = self.path(agent)
        try:
            st = path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            known = self._loaded.get(agent)
            if known is not None and known.stamp == stamp:
                return known
            fresh = self._read(agent, path, stamp, known)
            self._loaded[agent] = fresh
            return fresh

    def _read(self, agent: str, path: Path, stamp: tuple[int, int] | None,
              known: Loaded | None) -> Loaded:
        if stamp is None:
            if known is not None and known.text is not None:
                log.info("policy of %s removed: the open policy applies", agent)
            return Loaded(agent, path, OPEN, None)
        last_good = known.policy if known is not None else OPEN
        try:
            text = path.read_text("utf-8")
            if not text.strip():  # an editor between truncating and writing, or emptied:
                raise PolicyError("the file is empty (remove it for the open policy)")
            policy = parse(text)
        except (OSError, UnicodeDecodeError, PolicyError) as error:
            reason = f"{path}: {error}"
            log.warning("policy of %s not loaded, the last good one stays in force: %s",
                        agent, reason)
            return Loaded(agent, path, last_good, known.text if known else None, reason, stamp)
        if known is not None and known.stamp is not None:
            log.info("policy of %s reloaded (%d sender rules)", agent, len(policy.rules))
        return Loaded(agent, path, policy, text, None, stamp)

    def reload(self) -> list[Loaded]:
        """Look at every policy file now (the watcher calls this when the directory
        changes); returns the policies in force."""
        names = {p.stem for p in self.directory.glob("*.toml")} | set(self._loaded)
        return [self.get(name) for name in sorted(names)]

    def problems(self) -> list[Loaded]:
        return [entry for entry in self.reload() if entry.error]


_BOOKS: dict[Path, PolicyBook] = {}
_BOOKS_LOCK = threading.Lock()


def book(ctx: ServiceContext) -> PolicyBook:
    directory = ctx.settings.home / POLICY_DIR
    with _BOOKS_LOCK:
        found = _BOOKS.get(directory)
        if found is None:
            found = _BOOKS[directory] = PolicyBook(directory)
        return found


def show(ctx: ServiceContext, agent: Agent) -> Loaded:
    return book(ctx).get(agent.name)


def save(ctx: ServiceContext, agent: Agent, text: str) -> Loaded:
    """Check ``text`` and make it ``agent``'s policy (0600); a text that is not a valid
    policy raises :class:`PolicyError` and changes nothing."""
    parse(text)
    directory = book(ctx).directory
    directory.mkdir(mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    write_private(book(ctx).path(agent.name), text.encode("utf-8"))
    loaded = book(ctx).get(agent.name)
    log.info("policy of %s saved (%d sender rules)", agent.name, len(loaded.policy.rules))
    return loaded


def remove(ctx: ServiceContext, agent: Agent) -> None:
    path = book(ctx).path(agent.name)
    if not path.exists():
        raise NotFound(f"{agent.name} has no policy file", code="policy_not_found")
    path.unlink()
    book(ctx).get(agent.name)


def template(agent_name: str) -> str:
    """A commented starting policy for ``policy edit`` when the agent has none."""
    return TEMPLATE.format(agent=agent_name)


def _recent(ctx: ServiceContext, agent: Agent, sender: str) -> tuple[int, int]:
    now = datetime.now(UTC)
    hour = (now - timedelta(hours=1)).isoformat(timespec="milliseconds")
    day = (now - timedelta(days=1)).isoformat(timespec="milliseconds")
    return (index.count_from(ctx.db, agent.id, sender, since=hour),
            index.count_from(ctx.db, agent.id, sender, since=day))


def evaluate(ctx: ServiceContext, agent: Agent, sender: str, assessment: Assessment,
             policy: Policy | None = None) -> Decision:
    """The decision of ``agent``'s policy (or ``policy``) on mail from ``sender``."""
    auth = assessment.security.score.auth.to_dict()
    return decide(policy or book(ctx).get(agent.name).policy, sender, auth=auth,
                  recent=lambda: _recent(ctx, agent, sender))


def apply(ctx: ServiceContext, agent: Agent, parsed: ParsedMessage, raw: bytes,
          assessment: Assessment) -> tuple[Assessment, Decision]:
    """The assessment with the policy's decision in its security block (``quarantine``: now
    spam). The caller moves ``drop``/``bounce`` mail to Trash without announcing it, and for
    ``bounce`` calls :func:`bounce` once the message is recorded (so a message read again
    after a crash is not bounced twice). Internal mail (between agents, proven) is not
    screened."""
    if assessment.security.score.internal:
        decision = Decision("deliver", book(ctx).get(agent.name).policy.capabilities, None,
                            None, "internal mail: not screened")
    else:
        decision = evaluate(ctx, agent, sender_of(parsed), assessment)
    security = replace(assessment.security, policy=decision)
    spam = assessment.spam or decision.action == "quarantine"
    return replace(assessment, security=security, spam=spam), decision


def sender_of(parsed: ParsedMessage) -> str:
    """The bare From address (``parsed.from_`` is the display form, ``Name <addr>``)."""
    return parseaddr(parsed.from_)[1].lower()


def bounce(ctx: ServiceContext, agent: Agent, parsed: ParsedMessage, raw: bytes,
           decision: Decision) -> None:
    """Answer the sender with a DSN (RFC 3464) saying the agent's policy refused the
    message; through the outbox (guard, rate limits, reply budget), never to the agent."""
    sender = sender_of(parsed)
    if not sender or sender == agent.address.lower():
        return
    original = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0][:32_000]
    boundary = f"dsn-{secrets.token_hex(12)}"
    notice = (f"Your message to {agent.address} was not delivered: the recipient does not "
              f"accept mail from {sender} ({decision.reason}).")
    head = [
        f"From: {agent.address}", f"To: {sender}",
        "Subject: Undelivered Mail Returned to Sender", f"Date: {formatdate(usegmt=True)}",
        f"Message-ID: {make_msgid(domain=ctx.settings.domain)}", "Auto-Submitted: auto-replied",
        *([f"In-Reply-To: {parsed.message_id}"] if parsed.message_id else []),
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type="delivery-status"; boundary="{boundary}"',
    ]
    parts = [
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + notice,
        "Content-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; {ctx.settings.domain}\r\n\r\n"
        f"Final-Recipient: rfc822; {agent.address}\r\nAction: failed\r\nStatus: 5.7.1\r\n"
        "Diagnostic-Code: smtp; 550 5.7.1 refused by the recipient's sender policy",
        "Content-Type: text/rfc822-headers\r\n\r\n"
        + original.decode("ascii", "replace").replace("\r\n", "\n").replace("\n", "\r\n"),
    ]
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    dsn = ("\r\n".join(head) + "\r\n\r\n" + body).encode("utf-8")
    try:
        outbox.submit_raw(ctx, agent, [sender], dsn)
    except AgenticMailError as error:
        log.warning("policy of %s: could not bounce mail from %s: %s", agent.name, sender,
                    error)


def describe(loaded: Loaded) -> dict[str, Any]:
    """The API's and the CLI's view of a policy in force."""
    return {"agent": loaded.agent, "path": str(loaded.path), "policy": loaded.text,
            "rules": len(loaded.policy.rules), "default": loaded.policy.default,
            "capabilities": list(loaded.policy.capabilities), "error": loaded.error}


def try_message(ctx: ServiceContext, agent: Agent, raw: bytes,
                text: str | None = None) -> dict[str, Any]:
    """What ``agent``'s policy (or the policy ``text``) decides for the message ``raw``, with
    its authentication computed as at ingest; nothing is delivered or recorded."""
    policy = parse(text) if text is not None else None
    message = read(raw, bounded=True)
    if message.exceeded is not None or message.failed:
        raise InvalidRequest("not a message that can be read: "
                             + (message.exceeded.detail if message.exceeded else "unparsable"))
    sender = message.view.from_addr.lower()
    assessment = screen(ctx, message)
    decision = evaluate(ctx, agent, sender, assessment, policy)
    return {"agent": agent.name, "decision": decision.to_dict(),
            "auth": assessment.security.score.auth.to_dict(), "sender": sender}


def problems(ctx: ServiceContext) -> list[Loaded]:
    """Policies whose file cannot be used now (the last good one is in force)."""
    return book(ctx).problems()
