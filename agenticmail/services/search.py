"""Search an agent's mail: the full-text index (every folder), kept in step with the mailbox,
and local semantic search over it.

* **Filled at ingest**: the watcher's ingest (:mod:`.inbox`) and the Sent copy (:mod:`.delivery`)
  index a message from the parse they already made; flag changes (the watcher's and the API's),
  moves and deletes update it (:func:`flags_changed`, :func:`moved`, :func:`removed`).
* **Never ahead of the mailbox**: a search checks its page against the mailbox and drops
  (and un-indexes) what is gone; :func:`rebuild` makes the index equal to the mailbox again;
  :func:`check` (``agenticmail doctor``) compares them.
* **Queries**: :mod:`agenticmail.store.search_query` (user text is never FTS5 syntax);
  ``mode=fulltext`` (bm25, subject and sender weighted above body), ``semantic`` (cosine over
  embeddings made on this machine, :mod:`agenticmail.providers.embedder`) or ``hybrid``
  (reciprocal-rank fusion of both).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from ..errors import AgenticMailError, InvalidRequest
from ..mail.imap import MailboxSession
from ..mail.mime import parse_message
from ..models import Agent, ParsedMessage
from ..providers import embedder
from ..security.mime_view import read
from ..security.sanitize import sanitize
from ..store import search as store
from ..store.search_query import Parsed, parse
from .checks import Check
from .context import ServiceContext, transaction
from .sessions import open_session
from .tag_names import keyword_for

log = logging.getLogger(__name__)

MODES = ("fulltext", "semantic", "hybrid")
ORDERS = ("rank", "newest")
MAX_LIMIT = 200
RRF_K = 60  # reciprocal-rank fusion constant (Cormack et al.)
FUSION_DEPTH = 100  # candidates taken from each ranking for hybrid
REBUILD_BATCH = 100  # messages fetched and committed at a time by a rebuild
EMBED_CHUNK = 4  # documents embedded and committed at a time (a stop waits for at most one)

Progress = Callable[[int, int], None]  # (done, total)


class StopFlag:
    """Tells long work running in another thread (a rebuild, an embedding batch) to stop.

    The work checks :meth:`is_set` between steps, and does its database writes inside
    :meth:`unless_set`: once :meth:`set` has returned, it writes nothing more (so the daemon
    may close the database without waiting for a step that cannot be interrupted)."""

    def __init__(self) -> None:
        self._set = threading.Event()
        self._writing = threading.Lock()

    def set(self) -> None:
        """Raise the flag; returns once a write in progress (if any) is done."""
        with self._writing:
            self._set.set()

    def is_set(self) -> bool:
        return self._set.is_set()

    @contextlib.contextmanager
    def unless_set(self) -> Iterator[bool]:
        """``with flag.unless_set() as go:`` write only if ``go``; the flag is not raised
        meanwhile."""
        with self._writing:
            yield not self._set.is_set()


# -- documents -------------------------------------------------------------------------------

def _timestamp(date: str | None) -> float:
    if date:
        try:
            when = datetime.fromisoformat(date)
        except ValueError:
            try:
                when = parsedate_to_datetime(date)
            except (TypeError, ValueError):
                when = None
        if when is not None:
            return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    return datetime.now(UTC).timestamp()


def document(agent: Agent, folder: str, uidvalidity: int, uid: int, parsed: ParsedMessage,
             text: str) -> store.Doc:
    """The index document of a message, from its one parse and its sanitised text."""
    return store.Doc(
        agent_id=agent.id, folder=folder, uidvalidity=uidvalidity, uid=uid,
        message_id=parsed.message_id, from_addr=parsed.from_,
        recipients=(*parsed.to, *parsed.cc), to=parsed.to, subject=parsed.subject,
        date=parsed.date, date_ts=_timestamp(parsed.date), flags=parsed.flags, size=parsed.size,
        body=text, attachments=tuple(a.filename for a in parsed.attachments if a.filename))


def index_parsed(conn: Any, agent: Agent, folder: str, uidvalidity: int, uid: int,
                 parsed: ParsedMessage, text: str) -> None:
    """Index a message inside the caller's transaction (the ingest's)."""
    store.put(conn, document(agent, folder, uidvalidity, uid, parsed, text))


def parse_raw(raw: bytes, uid: int, folder: str, flags: tuple[str, ...]
              ) -> tuple[ParsedMessage, str]:
    """Parse ``raw`` once: its fields and its sanitised text (HTML as text)."""
    inbound = read(raw, bounded=True)
    parsed = parse_message(raw, uid=uid, folder=folder, flags=flags,
                           message=None if inbound.failed else inbound.message)
    text = "" if inbound.failed else sanitize(inbound).text
    return parsed, text or parsed.text


def index_raw(ctx: ServiceContext, agent: Agent, folder: str, uidvalidity: int, uid: int,
              raw: bytes, flags: tuple[str, ...]) -> None:
    """Index a message the daemon has in hand (a Sent copy, a moved message)."""
    parsed, text = parse_raw(raw, uid, folder, flags)
    with transaction(ctx) as tx:
        index_parsed(tx.conn, agent, folder, uidvalidity, uid, parsed, text)
    _notify()


def flags_changed(conn: Any, agent: Agent, folder: str,
                  changes: dict[int, tuple[str, ...]]) -> None:
    """New flags (and keywords: tags) of messages, inside the caller's transaction."""
    for uid, flags in changes.items():
        store.set_flags(conn, agent.id, folder, uid, flags)


def set_flags(ctx: ServiceContext, agent: Agent, folder: str,
              changes: dict[int, tuple[str, ...]]) -> None:
    with transaction(ctx) as tx:
        flags_changed(tx.conn, agent, folder, changes)


def removed(conn: Any, agent: Agent, folder: str, uids: Iterable[int]) -> None:
    store.remove(conn, agent.id, folder, uids)


def moved(ctx: ServiceContext, session: MailboxSession, agent: Agent, folder: str,
          uids: list[int], dest: str, new_uids: dict[int, int]) -> None:
    """Messages moved from ``folder`` to ``dest`` (``new_uids``: old UID -> new UID). One the
    index did not have (or whose new UID the server did not say) is indexed afresh."""
    validity = session.uidvalidity(dest)
    missing: list[int] = []
    with transaction(ctx) as tx:
        for uid in uids:
            new = new_uids.get(uid)
            if new is None:
                store.remove(tx.conn, agent.id, folder, [uid])
            elif not store.move(tx.conn, agent.id, folder, uid, dest, validity, new):
                missing.append(new)
    if missing:
        _index_uids(ctx, session, agent, dest, validity, missing)


def _index_uids(ctx: ServiceContext, session: MailboxSession, agent: Agent, folder: str,
                validity: int, uids: list[int]) -> int:
    fetched = session.fetch_many(folder, uids)
    docs = []
    for uid, (raw, flags) in fetched.items():
        parsed, text = parse_raw(raw, uid, folder, flags)
        docs.append(document(agent, folder, validity, uid, parsed, text))
    with transaction(ctx) as tx:
        for doc in docs:
            store.put(tx.conn, doc)
    _notify()
    return len(docs)


# -- rebuild and check -----------------------------------------------------------------------

@dataclass(frozen=True)
class RebuildReport:
    agent: str
    folders: int
    messages: int
    indexed: int
    removed: int

    def to_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "folders": self.folders, "messages": self.messages,
                "indexed": self.indexed, "removed": self.removed}


def _mailbox(session: MailboxSession) -> dict[str, tuple[int, dict[int, tuple[str, ...]]]]:
    """``{folder: (uidvalidity, {uid: flags})}`` of every selectable folder."""
    out = {}
    for info in session.list_folders():
        if "\\Noselect" in info["flags"] or "\\NonExistent" in info["flags"]:
            continue
        name = str(info["name"])
        out[name] = (session.uidvalidity(name), session.flags_of(name))
    return out


def rebuild(ctx: ServiceContext, agent: Agent, *, full: bool = True,
            progress: Progress | None = None, stop: StopFlag | None = None) -> RebuildReport:
    """Make the agent's index equal to its mailbox: ``full`` re-reads every message;
    otherwise only what is missing or stale is read, what is gone is dropped, flags are
    refreshed (a repair). Once ``stop`` is set it ends after the batch in progress, the index
    not marked rebuilt (what was indexed stays; the daemon's next repair indexes the rest; a
    stopped full rebuild of an index rebuilt before must be run again by hand)."""
    with open_session(ctx, agent) as session:
        box = _mailbox(session)
        indexed = {} if full else store.locations(ctx.db, agent.id)
        stale: list[int] = []
        todo: list[tuple[str, int, int]] = []
        for folder, known in indexed.items():
            present = box.get(folder)
            for uid, (validity, doc_id) in known.items():
                if present is None or present[0] != validity or uid not in present[1]:
                    stale.append(doc_id)
        with transaction(ctx) as tx:
            if full:
                store.clear(tx.conn, agent.id)
            store.remove_ids(tx.conn, stale)
            for folder, (validity, flags) in box.items():
                have = indexed.get(folder, {})
                fresh = {uid: f for uid, f in flags.items()
                         if uid in have and have[uid][0] == validity}
                flags_changed(tx.conn, agent, folder, fresh)
                todo += [(folder, validity, uid) for uid in sorted(flags) if uid not in fresh]
        total, done = len(todo), 0
        if progress:
            progress(0, total)
        for start in range(0, total, REBUILD_BATCH):
            if stop is not None and stop.is_set():
                return RebuildReport(agent.name, len(box), sum(len(f) for _, f in box.values()),
                                     done, len(stale))
            batch = todo[start:start + REBUILD_BATCH]
            by_folder: dict[tuple[str, int], list[int]] = {}
            for folder, validity, uid in batch:
                by_folder.setdefault((folder, validity), []).append(uid)
            for (folder, validity), uids in by_folder.items():
                _index_uids(ctx, session, agent, folder, validity, uids)
            done += len(batch)
            if progress:
                progress(done, total)
    with transaction(ctx) as tx:
        store.mark_rebuilt(tx.conn, agent.id)
    return RebuildReport(agent.name, len(box), sum(len(f) for _, f in box.values()), total,
                         len(stale))


def needs_repair(ctx: ServiceContext, agent: Agent) -> bool:
    """Whether the agent's index was never made from its mailbox (it may lack mail that
    came before the index existed)."""
    return store.rebuilt_at(ctx.db, agent.id) is None


def check(ctx: ServiceContext, agent: Agent) -> Check:
    """Does the agent's index hold exactly the messages of its mailbox? (``doctor``)"""
    name = f"search index {agent.name}"
    hint = f"rebuild it: agenticmail index rebuild --agent {agent.name}"
    try:
        with open_session(ctx, agent) as session:
            box = _mailbox(session)
    except AgenticMailError as exc:
        return Check(name, False, exc.message, exc.hint)
    indexed = store.locations(ctx.db, agent.id)
    ghosts = sum(1 for folder, known in indexed.items() for uid, (validity, _) in known.items()
                 if folder not in box or box[folder][0] != validity or uid not in box[folder][1])
    missing = sum(1 for folder, (_, flags) in box.items() for uid in flags
                  if uid not in indexed.get(folder, {}))
    total = sum(len(f) for _, f in box.values())
    if ghosts or missing:
        return Check(name, False, f"{ghosts} indexed messages are not in the mailbox, "
                                  f"{missing} of its {total} messages are not indexed", hint)
    vectors = store.vector_count(ctx.db, agent.id)
    extra = f", {vectors} embedded" if embedder.available() else ""
    return Check(name, True, f"{total} messages indexed{extra}")


# -- queries ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchPage:
    query: str
    mode: str
    order: str
    total: int
    limit: int
    offset: int
    hits: list[store.Hit]

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "mode": self.mode, "order": self.order,
                "total": self.total, "limit": self.limit, "offset": self.offset,
                "uids": [h.uid for h in self.hits],
                "messages": [h.to_dict() for h in self.hits]}


def search(ctx: ServiceContext, agent: Agent, query: str, *, mode: str = "fulltext",
           order: str | None = None, limit: int = 20, offset: int = 0,
           verify: bool = True) -> SearchPage:
    """One page of the agent's messages matching ``query``. ``verify``: check the page
    against the mailbox (what is gone is un-indexed and the page filled again)."""
    if mode not in MODES:
        raise InvalidRequest(f"unknown search mode {mode!r}; use {', '.join(MODES)}")
    if order is not None and order not in ORDERS:
        raise InvalidRequest(f"unknown order {order!r}; use {', '.join(ORDERS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise InvalidRequest("offset must not be negative")
    if mode != "fulltext":
        embedder.require()
    parsed = parse(query)
    parsed.tags = [((*names, keyword_for(names[0])), present) for names, present in parsed.tags]
    chosen = order or ("rank" if parsed.text else "newest")
    for _ in range(3):
        total, hits = _run(ctx, agent, parsed, mode, chosen, limit, offset)
        if not verify or not hits or _verified(ctx, agent, hits):
            break
    return SearchPage(query, mode, chosen, total, limit, offset, hits)


def _run(ctx: ServiceContext, agent: Agent, q: Parsed, mode: str, order: str, limit: int,
         offset: int) -> tuple[int, list[store.Hit]]:
    scoped = _scoped(ctx, agent)
    if mode == "fulltext" or not q.text:
        return store.fulltext(ctx.db, agent.id, q, order=order, limit=limit, offset=offset,
                              scoped=scoped)
    depth = max(FUSION_DEPTH, offset + limit)
    semantic = _semantic(ctx, agent, q, depth)
    if mode == "semantic":
        ranked = semantic
    else:
        ranks: dict[int, float] = {}
        for ids in (store.ranked_ids(ctx.db, agent.id, q, depth, scoped),
                    [i for i, _ in semantic]):
            for rank, doc_id in enumerate(ids):
                ranks[doc_id] = ranks.get(doc_id, 0.0) + 1.0 / (RRF_K + rank + 1)
        ranked = sorted(ranks.items(), key=lambda kv: -kv[1])
    found = store.hits(ctx.db, [i for i, _ in ranked], [s for _, s in ranked])
    if order == "newest":
        found.sort(key=lambda h: (-h.date_ts, -h.doc_id))
    return len(found), found[offset:offset + limit]


SCOPE_TTL = 60.0  # seconds a scope_pays answer is reused
_scopes: dict[int, tuple[float, bool]] = {}


def _scoped(ctx: ServiceContext, agent: Agent) -> bool:
    """:func:`store.scope_pays`, looked up at most once a minute per agent."""
    now = time.monotonic()
    cached = _scopes.get(agent.id)
    if cached is not None and now - cached[0] < SCOPE_TTL:
        return cached[1]
    pays = store.scope_pays(ctx.db, agent.id)
    _scopes[agent.id] = (now, pays)
    return pays


_cache_lock = threading.Lock()
_cache: dict[int, tuple[tuple[int, int], embedder.VectorSet]] = {}


def _vectors(ctx: ServiceContext, agent: Agent) -> embedder.VectorSet:
    """The agent's vectors, cached while they do not change."""
    stamp = store.vector_stamp(ctx.db, agent.id, embedder.MODEL)
    with _cache_lock:
        cached = _cache.get(agent.id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    vectors = embedder.VectorSet.build(store.vectors(ctx.db, agent.id, embedder.MODEL))
    with _cache_lock:
        _cache[agent.id] = (stamp, vectors)
    return vectors


def _semantic(ctx: ServiceContext, agent: Agent, q: Parsed, depth: int
              ) -> list[tuple[int, float]]:
    allowed = store.allowed_ids(ctx.db, agent.id, q)
    return _vectors(ctx, agent).top(embedder.query(q.semantic_text), depth, allowed)


def _verified(ctx: ServiceContext, agent: Agent, hits: list[store.Hit]) -> bool:
    """Whether every hit is still in the mailbox; un-index those that are not (and refresh
    the flags of those that are)."""
    by_folder: dict[str, list[int]] = {}
    for hit in hits:
        by_folder.setdefault(hit.folder, []).append(hit.uid)
    gone: dict[str, list[int]] = {}
    changed: dict[str, dict[int, tuple[str, ...]]] = {}
    with open_session(ctx, agent) as session:
        names = {str(f["name"]) for f in session.list_folders()}
        for folder, uids in by_folder.items():
            current = session.flags_of(folder, uids) if folder in names else {}
            gone[folder] = [u for u in uids if u not in current]
            changed[folder] = current
    stale = {(h.folder, h.uid) for h in hits
             if h.uid in changed[h.folder] and set(changed[h.folder][h.uid]) != set(h.flags)}
    if not stale and not any(gone.values()):
        return True
    with transaction(ctx) as tx:
        for folder, uids in gone.items():
            if uids:
                log.info("search index of %s: %d messages of %s are gone; un-indexed",
                         agent.name, len(uids), folder)
                removed(tx.conn, agent, folder, uids)
        for folder, flags in changed.items():
            flags_changed(tx.conn, agent, folder,
                          {u: f for u, f in flags.items() if (folder, u) in stale})
    return False


# -- embeddings ------------------------------------------------------------------------------

_listeners: list[Callable[[], None]] = []


def on_indexed(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` (thread-safe, quick) whenever documents are indexed; returns a
    function that stops it. The indexer uses it to embed new documents."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def _notify() -> None:
    for listener in list(_listeners):
        listener()


def notify_indexed() -> None:
    """Documents were indexed by a caller's transaction (the ingest's), now committed."""
    _notify()


def embed_pending(ctx: ServiceContext, batch: int = 32, stop: StopFlag | None = None) -> int:
    """Embed up to ``batch`` documents that have no vector yet, :data:`EMBED_CHUNK` at a time,
    each chunk committed on its own; how many were embedded (0: none left, or the semantic
    extra is not installed). Once ``stop`` is set, the chunk being embedded is dropped and
    nothing more is read or written: what was committed stays, the rest is embedded next
    time."""
    stop = stop or StopFlag()
    if not embedder.available():
        return 0
    with stop.unless_set() as go:
        pending = store.unembedded(ctx.db, batch) if go else []
    done = 0
    for start in range(0, len(pending), EMBED_CHUNK):
        chunk = pending[start:start + EMBED_CHUNK]
        if stop.is_set():
            break
        blobs = embedder.passages([text for _, _, text in chunk])
        with stop.unless_set() as go:
            if not go:
                break
            with transaction(ctx) as tx:
                store.put_vectors(tx.conn, embedder.MODEL,
                                  [(doc_id, agent_id, blob) for (doc_id, agent_id, _), blob
                                   in zip(chunk, blobs, strict=True)])
        done += len(chunk)
    return done


def embedding_backlog(ctx: ServiceContext) -> int:
    """Documents without a vector (0 without the semantic extra: nothing will embed them)."""
    return store.unembedded_count(ctx.db) if embedder.available() else 0
