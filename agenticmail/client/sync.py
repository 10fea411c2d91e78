"""``agenticmail.Client``: the synchronous Python client of the daemon's API (httpx)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from ..errors import DaemonUnavailable, InvalidRequest
from . import _calls
from . import models as m
from ._base import (
    DEFAULT_TIMEOUT,
    Call,
    Resume,
    SseMessage,
    error_from_response,
    json_body,
    json_object,
    parse_sse,
    resolve_target,
    unavailable,
)

T = TypeVar("T")


Attachments = Sequence[dict[str, Any]] | None


class Client:
    """A client of the agenticmail daemon.

    ``Client(api_key=…, base_url=…)``; without arguments the key and address come from
    ``AGENTICMAIL_API_KEY`` / ``AGENTICMAIL_URL``, else the local config (the master key).
    With an agent key (``ak_…``) every call acts on that agent's mailbox; with the master
    key, give ``agent=NAME``. Every failure is an ``agenticmail.errors.AgenticMailError``
    subclass chosen by the API's stable error code (``NotFound``, ``PermissionDenied``,
    ``RateLimited``…; ``DaemonUnavailable`` when the daemon cannot be reached).

    ``fence=True`` asks the daemon to wrap everything an outsider wrote (subject, sender,
    bodies, attachment names) in an untrusted-content fence, for handing to a model.

    Use as a context manager, or call :meth:`close`::

        with Client(api_key="ak_…") as mail:
            mail.send("bob@agents.local", "Hi", "Hello Bob")
            got = mail.wait_for_message(from_="bob@", timeout=120)
            for event in mail.events():
                ...
    """

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *,
                 agent: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 fence: bool = False, home: Path | None = None,
                 user_agent: str = "agenticmail-python") -> None:
        key, url = resolve_target(api_key, base_url, home)
        self._open(key, url, agent=agent, timeout=timeout, fence=fence, user_agent=user_agent)

    def _open(self, key: str | None, url: str, *, agent: str | None, timeout: float,
              fence: bool, user_agent: str) -> None:
        self.base_url = url
        self.agent = agent
        self.fence = fence
        headers = {"Accept": "application/json", "User-Agent": user_agent}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.Client(base_url=url, timeout=timeout, headers=headers)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, agent={self.agent!r})"

    # -- transport -------------------------------------------------------------------
    def _send(self, call: Call[Any],
              accept: Callable[[httpx.Response], bool] | None = None) -> httpx.Response:
        extra: dict[str, Any] = {}
        if call.timeout is not None:
            extra["timeout"] = call.timeout
        try:
            response = self._http.request(call.method, call.path, params=call.query(),
                                          json=call.body, headers=dict(call.headers), **extra)
        except httpx.TransportError as exc:
            raise unavailable(self.base_url, exc) from None
        if not response.is_success and not (accept and accept(response)):
            raise error_from_response(response)
        return response

    def _run(self, call: Call[T]) -> T:
        return call.parse(json_body(self._send(call)))

    def _download(self, call: Call[Any]) -> bytes:
        return self._send(call).content

    # -- events ----------------------------------------------------------------------
    def stream(self, *, types: Sequence[str] | None = None, agent: str | None = None,
               resume: Resume | None = None) -> Iterator[SseMessage]:
        """One SSE connection's frames (the ``ready`` frame included) until it ends."""
        resume = resume or Resume()
        params = {k: v for k, v in {"agent": agent or self.agent,
                                    "types": ",".join(types) if types else None}.items()
                  if v is not None}
        try:
            with self._http.stream("GET", "/v1/events", params=params,
                                   headers=resume.headers(),
                                   timeout=httpx.Timeout(10.0, read=90.0)) as response:
                if not response.is_success:
                    response.read()
                    raise error_from_response(response)
                connected_before = resume.connected_once
                resume.opened()
                if resume.on_connect is not None:
                    resume.on_connect(connected_before)
                yield from parse_sse(response.iter_lines())
        except httpx.TransportError as exc:
            raise unavailable(self.base_url, exc) from None

    def frames(self, *, types: Sequence[str] | None = None, agent: str | None = None,
               last_event_id: str | None = None, give_up_after: float = 60.0,
               on_connect: Callable[[bool], None] | None = None,
               on_reconnect: Callable[[str], None] | None = None) -> Iterator[SseMessage]:
        """The raw SSE frames of :meth:`events` (reconnecting, resuming, ready skipped)."""
        resume = Resume(last_event_id, on_connect=on_connect)
        while True:
            try:
                for frame in self.stream(types=types, agent=agent, resume=resume):
                    if resume.seen(frame):
                        yield frame
                reason = "the daemon closed the event stream"
                delay = resume.failed(DaemonUnavailable(reason), time.monotonic(),
                                      give_up_after)
            except DaemonUnavailable as exc:
                delay = resume.failed(exc, time.monotonic(), give_up_after)
                reason = exc.message
            if on_reconnect is not None:
                on_reconnect(reason)
            time.sleep(delay)

    def events(self, *, types: Sequence[str] | None = None, last_event_id: str | None = None,
               give_up_after: float = 60.0) -> Iterator[m.Event]:
        """Every event for this key, forever: reconnects after a dropped connection (a
        daemon restart) and resumes with ``Last-Event-ID``, so none is missed or repeated.
        The first connection failing raises; later outages are retried for up to
        ``give_up_after`` seconds."""
        for frame in self.frames(types=types, last_event_id=last_event_id,
                                 give_up_after=give_up_after):
            yield m.Event.model_validate(frame.json())

    # -- pagination ------------------------------------------------------------------
    def iter_messages(self, folder: str = "INBOX", page_size: int = 100
                      ) -> Iterator[m.MessageSummary]:
        """Every message of a folder, newest first, fetched page by page."""
        offset = 0
        while True:
            page = self.list_messages(folder, page_size, offset)
            yield from page.messages
            offset += len(page.messages)
            if not page.messages or offset >= page.total:
                return

    def iter_threads(self, page_size: int = 50) -> Iterator[m.ThreadSummary]:
        offset = 0
        while True:
            page = self.list_threads(page_size, offset)
            yield from page.threads
            offset += len(page.threads)
            if not page.threads or offset >= page.total:
                return

    # -- generated by scripts/build/client.py: edit client_methods.tmpl, not below --
    # -- agents and keys ---------------------------------------------------------------
    def whoami(self) -> m.Agent:
        """The agent this key belongs to (with the master key: the client's ``agent``)."""
        if self.agent is not None:
            return self._run(_calls.get_agent(self.agent))
        agents = self._run(_calls.whoami(None))
        if len(agents) != 1:
            raise InvalidRequest("the master key is not one agent: give Client(agent=NAME)")
        return agents[0]

    def get_agent(self, name: str) -> m.Agent:
        return self._run(_calls.get_agent(name))

    def list_agents(self) -> list[m.Agent]:
        return self._run(_calls.whoami(None))

    def create_agent(self, name: str, role: str = "secretary",
                     display_name: str | None = None) -> m.CreatedAgent:
        """Create an agent (master key); the answer holds its key and mail login, once."""
        return self._run(_calls.create_agent(name, role, display_name))

    def delete_agent(self, name: str) -> m.DeletedAgent:
        """Archive an agent's mail and rows to ``deletions/``, then remove it (master key)."""
        return self._run(_calls.delete_agent(name))

    def list_keys(self, agent: str) -> list[m.KeyInfo]:
        """An agent's live keys by name (master key)."""
        return self._run(_calls.list_keys(agent))

    def create_key(self, agent: str, name: str) -> m.CreatedKey:
        """A new named key for one tool (master key); ``.api_key`` is shown only now."""
        return self._run(_calls.create_key(agent, name))

    def revoke_key(self, agent: str, name: str) -> None:
        self._run(_calls.revoke_key(agent, name))

    # -- reading ---------------------------------------------------------------------
    def list_folders(self) -> list[m.Folder]:
        return self._run(_calls.list_folders(self.agent))

    def list_messages(self, folder: str = "INBOX", limit: int = 20, offset: int = 0
                      ) -> m.MessagePage:
        """One page of a folder, newest first (see :meth:`iter_messages` for all)."""
        return self._run(_calls.list_messages(self.agent, folder, limit, offset))

    def get_message(self, uid: int, folder: str = "INBOX", *, fence: bool | None = None
                    ) -> m.Message:
        """A message, sanitised, with its security verdict; ``fence`` wraps what an
        outsider wrote in an untrusted-content fence (default: the client's ``fence``)."""
        return self._run(_calls.get_message(self.agent, uid, folder,
                                                  self.fence if fence is None else fence))

    def get_attachment(self, uid: int, index: int, folder: str = "INBOX") -> bytes:
        return self._download(_calls.attachment(self.agent, uid, index, folder))

    def search(self, folder: str = "INBOX", limit: int = 100, *, from_: str | None = None,
               to: str | None = None, subject: str | None = None, body: str | None = None,
               since: str | None = None, before: str | None = None,
               seen: bool | None = None) -> m.SearchResult:
        return self._run(_calls.search(self.agent, folder, limit, from_=from_, to=to,
                                             subject=subject, body=body, since=since,
                                             before=before, seen=seen))

    def search_messages(self, query: str, *, mode: str = "fulltext", order: str | None = None,
                        limit: int = 20, offset: int = 0) -> m.SearchHits:
        """Search every folder through the search index: words, "phrases", prefix*, -word
        and field filters (from: to: subject: folder: has:attachment is:unread tag: before:
        after:); ``mode`` fulltext, semantic or hybrid; ``order`` rank or newest."""
        return self._run(_calls.search_messages(self.agent, query, mode, order, limit,
                                                      offset))

    def list_threads(self, limit: int = 20, offset: int = 0, *, fence: bool | None = None
                     ) -> m.ThreadPage:
        """Conversations, newest activity first."""
        return self._run(_calls.list_threads(self.agent, limit, offset,
                                                   self.fence if fence is None else fence))

    def get_thread(self, thread_id: str, *, fence: bool | None = None) -> m.Thread:
        """A conversation, oldest first; each message's quoted history is in ``quoted``."""
        return self._run(_calls.get_thread(self.agent, thread_id,
                                                 self.fence if fence is None else fence))

    def wait_for_message(self, *, thread: str | None = None, from_: str | None = None,
                         subject: str | None = None, timeout: float = 60.0,
                         since: int | None = None, fence: bool | None = None
                         ) -> m.WaitResult:
        """Block until a matching new message arrives (``timed_out`` False) or ``timeout``
        seconds pass (at most 300). ``since``: also match events after this event id (no gap
        between sending and starting to wait)."""
        return self._run(_calls.wait(self.agent, thread, from_, subject, timeout, since,
                                           self.fence if fence is None else fence))

    # -- sending ---------------------------------------------------------------------
    def send(self, to: Sequence[str] | str, subject: str = "", text: str | None = None, *,
             html: str | None = None, cc: Sequence[str] = (), bcc: Sequence[str] = (),
             attachments: Attachments = None, in_reply_to: str | None = None,
             references: Sequence[str] = (), send_at: str | None = None,
             idempotency_key: str | None = None, template: str | None = None,
             variables: Mapping[str, Any] | None = None, signature: bool = True,
             bulk: bool = False) -> m.Accepted:
        """Send a message (queued, or held for the owner when the guard stops it).
        ``attachments``: dicts with ``filename`` and one of ``content_base64``, ``url``
        (https) or ``path`` (master key only). ``template``/``variables``: the subject and
        body from a saved template; ``signature=False``: without the default signature;
        ``bulk``: one recipient, with one-click ``List-Unsubscribe`` headers (RFC 8058)."""
        mail = {"to": [to] if isinstance(to, str) else list(to), "cc": list(cc),
                "bcc": list(bcc), "subject": subject, "text": text, "html": html,
                "attachments": list(attachments or []), "in_reply_to": in_reply_to,
                "references": list(references), "send_at": send_at, "template": template,
                "variables": None if variables is None else dict(variables),
                "signature": signature, "bulk": bulk}
        return self._run(_calls.send(self.agent, mail, idempotency_key))

    def reply(self, uid: int, text: str | None = None, *, html: str | None = None,
              reply_all: bool = False, folder: str = "INBOX", attachments: Attachments = None,
              idempotency_key: str | None = None, signature: bool = True) -> m.Accepted:
        """Reply (or reply-all) to a message, quoting it, with correct threading headers."""
        return self._run(_calls.reply(self.agent, uid, folder, text, html, reply_all,
                                            attachments, idempotency_key, signature))

    def forward(self, uid: int, to: Sequence[str] | str, text: str | None = None, *,
                cc: Sequence[str] = (), html: str | None = None, as_attachment: bool = False,
                folder: str = "INBOX", attachments: Attachments = None,
                idempotency_key: str | None = None, signature: bool = True) -> m.Accepted:
        """Forward a message inline (attachments kept) or as a message/rfc822 attachment."""
        return self._run(_calls.forward(self.agent, uid, folder,
                                              [to] if isinstance(to, str) else to, cc, text,
                                              html, as_attachment, attachments,
                                              idempotency_key, signature))

    # -- scheduled sends ---------------------------------------------------------------
    def list_scheduled(self, limit: int = 50, offset: int = 0) -> list[m.OutboxEntry]:
        """Sends waiting for their ``send_at``, soonest first."""
        return self._run(_calls.list_scheduled(self.agent, limit, offset))

    def cancel_send(self, outbox_id: str) -> m.OutboxEntry:
        """Cancel a send that has not left (it never will); a sent one raises Conflict."""
        return self._run(_calls.cancel_send(outbox_id))

    # -- signatures and templates ------------------------------------------------------
    def create_signature(self, name: str, *, text: str | None = None,
                         html: str | None = None, default: bool = False) -> m.Signature:
        """A signature (the first one, or ``default=True``, is appended to what is sent)."""
        return self._run(_calls.create_signature(self.agent, name, text, html, default))

    def list_signatures(self) -> list[m.Signature]:
        return self._run(_calls.list_signatures(self.agent))

    def update_signature(self, name: str, *, text: str | None = None, html: str | None = None,
                         default: bool | None = None) -> m.Signature:
        return self._run(_calls.update_signature(self.agent, name, text, html, default))

    def delete_signature(self, name: str) -> None:
        self._run(_calls.delete_signature(self.agent, name))

    def create_template(self, name: str, *, subject: str = "", text: str | None = None,
                        html: str | None = None) -> m.Template:
        """A template with ``{{ name }}`` placeholders (send with ``template=``)."""
        return self._run(_calls.create_template(self.agent, name, subject, text, html))

    def list_templates(self) -> list[m.Template]:
        return self._run(_calls.list_templates(self.agent))

    def get_template(self, name: str) -> m.Template:
        return self._run(_calls.get_template(self.agent, name))

    def render_template(self, name: str, variables: Mapping[str, Any] | None = None
                        ) -> m.Rendered:
        """What a send with this template would say (nothing is sent)."""
        return self._run(_calls.render_template(self.agent, name, dict(variables or {})))

    def delete_template(self, name: str) -> None:
        self._run(_calls.delete_template(self.agent, name))

    # -- agent tasks -------------------------------------------------------------------
    def assign_task(self, assignee: str, type: str, payload: Any = None, *,
                    deadline: str | None = None) -> m.Task:
        """Give another agent a task (both get ``task.assigned``)."""
        return self._run(_calls.assign_task(self.agent, assignee, type, payload, deadline))

    def list_tasks(self, *, role: str = "assignee", status: str | None = None,
                   limit: int = 50, offset: int = 0) -> list[m.Task]:
        """Tasks given to this agent (``role="assigner"``: that it gave)."""
        return self._run(_calls.list_tasks(self.agent, role, status, limit, offset))

    def get_task(self, task_id: str) -> m.Task:
        return self._run(_calls.get_task(self.agent, task_id))

    def claim_task(self, task_id: str) -> m.Task:
        """Claim a task given to this agent (exactly one racing claim wins: Conflict)."""
        return self._run(_calls.task_step(self.agent, task_id, "claim", None))

    def complete_task(self, task_id: str, result: Any = None) -> m.Task:
        return self._run(_calls.task_step(self.agent, task_id, "complete", result))

    def fail_task(self, task_id: str, result: Any = None) -> m.Task:
        return self._run(_calls.task_step(self.agent, task_id, "fail", result))

    # -- export and import -------------------------------------------------------------
    def export_page(self, folder: str = "INBOX", after_uid: int = 0, limit: int = 50
                    ) -> m.ExportPage:
        """The folder's next messages after ``after_uid`` (bytes, flags, date)."""
        return self._run(_calls.export_page(self.agent, folder, after_uid, limit))

    def import_message(self, raw: bytes, *, flags: Sequence[str] = (),
                       date: str | None = None) -> m.Imported:
        """Put one message into the INBOX as arriving mail (a duplicate Message-ID is not)."""
        return self._run(_calls.import_message(self.agent, raw, flags, date))

    # -- changing ----------------------------------------------------------------------
    def mark_message(self, uid: int, *, read: bool | None = None, flagged: bool | None = None,
             folder: str = "INBOX") -> list[str]:
        """Mark read/unread and/or flagged/unflagged; returns the message's flags."""
        add = [n for n, v in (("seen", read), ("flagged", flagged)) if v is True]
        remove = [n for n, v in (("seen", read), ("flagged", flagged)) if v is False]
        return self._run(_calls.set_flags(self.agent, uid, folder, add, remove))

    def move_message(self, uid: int, to: str, folder: str = "INBOX") -> None:
        self._run(_calls.move(self.agent, uid, folder, to))

    def delete_message(self, uid: int, folder: str = "INBOX") -> None:
        self._run(_calls.delete(self.agent, uid, folder))

    def list_outbox(self, status: str | None = None, limit: int = 50, offset: int = 0
                    ) -> list[m.OutboxEntry]:
        return self._run(_calls.list_outbox(self.agent, status, limit, offset))

    def list_held(self, status: str | None = "pending") -> list[m.HeldMail]:
        """Own mail the outbound guard held for the owner (only the owner releases it)."""
        return self._run(_calls.list_held(self.agent, status))

    # -- drafts ----------------------------------------------------------------------
    def create_draft(self, **fields: Any) -> m.Draft:
        """A draft in the Drafts folder: to, cc, bcc, subject, text, html, attachments."""
        return self._run(_calls.create_draft(self.agent, fields))

    def update_draft(self, draft_id: str, **fields: Any) -> m.Draft:
        return self._run(_calls.update_draft(self.agent, draft_id, fields))

    def list_drafts(self, limit: int = 50, offset: int = 0) -> list[m.Draft]:
        return self._run(_calls.list_drafts(self.agent, limit, offset))

    def get_draft(self, draft_id: str) -> m.Draft:
        return self._run(_calls.get_draft(self.agent, draft_id))

    def send_draft(self, draft_id: str, *, idempotency_key: str | None = None
                   ) -> m.Accepted:
        return self._run(_calls.send_draft(self.agent, draft_id, idempotency_key))

    def delete_draft(self, draft_id: str) -> None:
        self._run(_calls.delete_draft(self.agent, draft_id))

    # -- tags, rules, contacts -----------------------------------------------------------
    def list_tags(self) -> list[m.Tag]:
        return self._run(_calls.list_tags(self.agent))

    def create_tag(self, name: str, color: str | None = None) -> m.Tag:
        """A tag (``color``: #rgb, #rrggbb or a name); ``.keyword`` is its IMAP keyword."""
        return self._run(_calls.create_tag(self.agent, name, color))

    def delete_tag(self, name: str) -> dict[str, Any]:
        """Delete a tag and take it off every message carrying it."""
        return self._run(_calls.delete_tag(self.agent, name))

    def tag_message(self, name: str, uid: int | Sequence[int], folder: str = "INBOX"
                    ) -> m.Tagged:
        """Put a tag on messages (an IMAP keyword mail clients see)."""
        uids = [uid] if isinstance(uid, int) else list(uid)
        return self._run(_calls.tag_messages(self.agent, name, uids, folder))

    def untag_message(self, name: str, uid: int, folder: str = "INBOX") -> m.Tagged:
        return self._run(_calls.untag_message(self.agent, name, uid, folder))

    def tagged_messages(self, name: str, folder: str | None = None) -> m.TaggedMessages:
        """Messages carrying a tag (every folder unless ``folder``)."""
        return self._run(_calls.tagged_messages(self.agent, name, folder))

    def list_rules(self) -> list[m.Rule]:
        """The agent's server-side rules, in the order they run."""
        return self._run(_calls.list_rules(self.agent))

    def create_rule(self, name: str, actions: Sequence[dict[str, Any]],
                    conditions: Sequence[dict[str, Any]] = (), *, match: str = "all",
                    position: int | None = None, enabled: bool = True) -> m.Rule:
        """A rule run on each new INBOX message (see docs/organising.md for conditions
        and actions); an invalid one raises ``InvalidRequest`` (``invalid_rule``)."""
        rule = {"name": name, "match": match, "conditions": list(conditions),
                "actions": list(actions), "position": position, "enabled": enabled}
        return self._run(_calls.create_rule(self.agent, rule))

    def get_rule(self, ref: str) -> m.Rule:
        return self._run(_calls.get_rule(self.agent, ref))

    def update_rule(self, ref: str, **changes: Any) -> m.Rule:
        """Change a rule: name, match, conditions, actions, position, enabled."""
        return self._run(_calls.update_rule(self.agent, ref, changes))

    def delete_rule(self, ref: str) -> None:
        self._run(_calls.delete_rule(self.agent, ref))

    def test_rules(self, rule: str | None = None, *, spec: dict[str, Any] | None = None,
                   folder: str = "INBOX", limit: int = 50) -> m.RuleTest:
        """Dry run on a folder's newest messages: every rule, one (``rule``), or an unsaved
        ``spec``; changes nothing."""
        return self._run(_calls.test_rules(self.agent, rule, spec, folder, limit))

    def list_contacts(self, *, status: str | None = None, query: str | None = None,
                      limit: int = 100, offset: int = 0) -> m.ContactPage:
        """The address book, most recently seen first (``status``: block or allow)."""
        return self._run(_calls.list_contacts(self.agent, status, query, limit, offset))

    def save_contact(self, address: str, **fields: Any) -> m.Contact:
        """Create or change a contact: name, notes, tags, status (block, allow or None)."""
        return self._run(_calls.save_contact(self.agent, address, fields))

    def get_contact(self, address: str) -> m.Contact:
        return self._run(_calls.get_contact(self.agent, address))

    def update_contact(self, address: str, **fields: Any) -> m.Contact:
        return self._run(_calls.update_contact(self.agent, address, fields))

    def delete_contact(self, address: str) -> None:
        self._run(_calls.delete_contact(self.agent, address))

    # -- the rest of the mailbox -------------------------------------------------------
    def get_outbox(self, outbox_id: str) -> m.OutboxEntry:
        return self._run(_calls.get_outbox(outbox_id))

    def spam_log(self, limit: int = 100) -> list[m.SpamLogEntry]:
        """Why messages were moved to Spam."""
        return self._run(_calls.spam_log(self.agent, limit))

    def not_spam(self, uid: int, folder: str = "Spam") -> None:
        """Back to INBOX; the filter never moves it again."""
        self._run(_calls.not_spam(self.agent, uid, folder))

    def create_folder(self, name: str) -> None:
        self._run(_calls.create_folder(self.agent, name))

    def batch(self, action: str, uids: Sequence[int], folder: str = "INBOX",
              to: str | None = None) -> m.BatchResult:
        """``read`` / ``unread`` / ``move`` (``to``) / ``delete`` many messages at once."""
        return self._run(_calls.batch(self.agent, action, folder, uids, to))

    # -- the owner's routes (master key) -----------------------------------------------
    def rotate_key(self, agent: str) -> m.RotatedKey:
        """A new main key for ``agent`` (named keys stay); shown once."""
        return self._run(_calls.rotate_key(agent))

    def rotate_password(self, agent: str) -> m.RotatedPassword:
        """A new mail password for IMAP/SMTP logins (master key); shown once."""
        return self._run(_calls.rotate_password(agent))

    def update_metadata(self, agent: str, metadata: dict[str, Any]) -> m.Agent:
        return self._run(_calls.update_metadata(agent, metadata))

    def get_held(self, pending_id: str) -> m.HeldMail:
        """Held mail with the message for review (``request``)."""
        return self._run(_calls.get_pending(pending_id))

    def approve_held(self, pending_id: str) -> m.HeldMail:
        """Release held mail (master key only)."""
        return self._run(_calls.decide_pending(pending_id, True))

    def reject_held(self, pending_id: str) -> m.HeldMail:
        return self._run(_calls.decide_pending(pending_id, False))

    def audit(self, limit: int = 50, offset: int = 0, *, action: str | None = None,
              actor: str | None = None) -> m.AuditPage:
        """Audit log entries, newest first (master key)."""
        return self._run(_calls.audit(limit, offset, action, actor))

    def verify_audit(self, anchors: Sequence[str] = ()) -> m.AuditCheck:
        """Check the audit hash chain (``anchors``: heads noted earlier, ``"<id>:<hash>"``)."""
        return self._run(_calls.verify_audit(anchors))

    def get_route(self) -> m.Route | None:
        """The outbound SMTP route for internet mail, or None."""
        return self._run(_calls.get_route())

    def set_route(self, **route: Any) -> m.Route:
        """host, port, tls, address, username, password, ca_file."""
        return self._run(_calls.set_route(route))

    def clear_route(self) -> None:
        self._run(_calls.clear_route())

    def get_relay(self) -> m.RelayStatus:
        return self._run(_calls.get_relay())

    def relay_presets(self) -> dict[str, m.RelayPreset]:
        return self._run(_calls.relay_presets())

    def set_relay(self, **relay: Any) -> m.RelaySaved:
        """Test both logins of the owner's mail account, then use it as the relay gateway:
        provider, address, password, and smtp_*/imap_* for provider ``other``."""
        return self._run(_calls.set_relay(relay))

    def disable_relay(self) -> None:
        self._run(_calls.disable_relay())

    # -- webhooks ------------------------------------------------------------------------
    def create_webhook(self, url: str, events: Sequence[str] = (), *,
                       agent: str | None = None, description: str | None = None
                       ) -> m.CreatedWebhook:
        """Register an endpoint for events of these types (none: every type); with the
        master key ``agent`` narrows it to one agent (default: all). ``.secret`` (whsec_…)
        is shown only now: verify deliveries with it (the ``standardwebhooks`` package)."""
        return self._run(_calls.create_webhook(url, events, agent, description))

    def list_webhooks(self, agent: str | None = None) -> list[m.Webhook]:
        return self._run(_calls.list_webhooks(agent))

    def get_webhook(self, webhook_id: str) -> m.Webhook:
        return self._run(_calls.get_webhook(webhook_id))

    def update_webhook(self, webhook_id: str, *, url: str | None = None,
                       events: Sequence[str] | None = None, description: str | None = None,
                       enabled: bool | None = None) -> m.Webhook:
        """Change an endpoint; ``enabled=True`` resumes one disabled (410, failures)."""
        changes = {"url": url, "events": None if events is None else list(events),
                   "description": description, "enabled": enabled}
        return self._run(_calls.update_webhook(webhook_id, changes))

    def delete_webhook(self, webhook_id: str) -> None:
        self._run(_calls.delete_webhook(webhook_id))

    def rotate_webhook_secret(self, webhook_id: str) -> m.CreatedWebhook:
        """A new signing secret, shown only in this answer."""
        return self._run(_calls.rotate_webhook_secret(webhook_id))

    def test_webhook(self, webhook_id: str) -> m.Event:
        """Queue a ``webhook.test`` event for this endpoint alone."""
        return self._run(_calls.test_webhook(webhook_id))

    def replay_webhook(self, webhook_id: str, *, message: str | None = None,
                       since: str | None = None) -> int:
        """Send again one message (its ``webhook-id``) or all since an ISO 8601 time."""
        return self._run(_calls.replay_webhook(webhook_id, message, since))

    def webhook_deliveries(self, webhook_id: str, limit: int = 50, offset: int = 0
                           ) -> list[m.WebhookDelivery]:
        """Recent delivery attempts, newest first (status code, response time, outcome)."""
        return self._run(_calls.webhook_deliveries(webhook_id, limit, offset))

    # -- any route, and health ---------------------------------------------------------
    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None,
                accept: Callable[[httpx.Response], bool] | None = None) -> dict[str, Any]:
        """Any route as JSON (routes without a method of their own); ``accept`` lets a
        non-2xx answer through as a result. Errors as for every call."""
        call = Call(method, path, _calls.as_is, params or {}, json_body)
        return json_object(self._send(call, accept))

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> dict[str, Any]:
        return self.request("POST", path, json_body=body)

    def delete(self, path: str, **params: Any) -> dict[str, Any]:
        return self.request("DELETE", path, params=params)

    def download(self, path: str, **params: Any) -> bytes:
        """``GET`` a binary body (an attachment)."""
        return self._download(Call("GET", path, _calls.as_is, params,
                                         headers={"Accept": "*/*"}))

    def health(self) -> m.Health:
        """``GET /v1/health`` (works without a key: status and version only); a 503 that
        carries a health report (not an error) is returned, not raised."""
        return m.Health.model_validate(self.request("GET", "/v1/health",
                                                          accept=_calls.degraded))
    # -- end of generated methods --
