"""``agenticmail send | inbox | read | search | watch``: an agent's mail, through the daemon.

Each command acts as one agent (``--agent NAME``) with the owner's master key: ``send`` posts
to ``/v1/mail/send`` (attachments base64-encoded), ``inbox``/``read``/``search`` read from
``/v1/mail/…`` and ``watch`` follows ``/v1/events`` (Server-Sent Events), reconnecting with
``Last-Event-ID`` when the stream drops.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.panel import Panel
from rich.text import Text

from ..config import Settings
from ..errors import AgenticMailError, DeliveryError, InvalidRequest, PayloadTooLarge
from .client import Client, follow, path_part
from .manage import mark_messages
from .outbox import outbox_rows
from .output import (
    JsonFlag,
    cell,
    clean,
    details,
    emit,
    human_size,
    note,
    print_json,
    stdout,
    table,
)
from .pending import findings_table
from .state import settings_from

app = typer.Typer()
PANEL = "Mail"

AgentOpt = Annotated[str, typer.Option("--agent", "-a", help="The agent whose mail this is.")]
FolderOpt = Annotated[str, typer.Option("--folder", "-f", help="Mailbox folder.")]
DATE = {"formats": ["%Y-%m-%d"], "metavar": "YYYY-MM-DD"}


# -- send --------------------------------------------------------------------------------
def _read_attachment(path: Path, settings: Settings) -> dict[str, str]:
    try:
        size = path.stat().st_size
        if size > settings.max_attachment_bytes:
            raise PayloadTooLarge(
                f"attachment {path} is {human_size(size)}; the limit is "
                f"{human_size(settings.max_attachment_bytes)}"
            )
        content = path.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"cannot read attachment {path}: {exc.strerror or exc}") from None
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return {
        "filename": path.name,
        "content_type": content_type,
        "content_base64": base64.b64encode(content).decode("ascii"),
    }


def _read_text_file(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise InvalidRequest(f"cannot read --text-file {path}: {reason or exc}") from None


def _render_sent(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    status = clean(data.get("status"))
    again = " (an earlier send with this idempotency key)" if data.get("duplicate") else ""
    if status == "held":
        yield Text.assemble(
            ("held for the owner's approval ", "bold yellow"),
            cell(data.get("pending_id")),
            "  ",
            cell(data.get("message_id")),
            (again, "dim"),
        )
        findings = data.get("findings") or []
        if findings:
            yield findings_table(findings)
        if data.get("hint"):
            yield Text(f"hint: {clean(data['hint'])}", style="yellow")
        return
    row = data.get("outbox")  # the final state, with --wait
    if isinstance(row, Mapping):
        status = clean(row.get("status"))
    yield Text.assemble(
        (f"{status} ", "bold red" if status == "failed" else "bold green"),
        cell(data.get("id")),
        "  ",
        cell(data.get("message_id")),
        (again, "dim"),
    )
    if isinstance(row, Mapping):
        yield details(outbox_rows(row))
    elif data.get("send_at"):
        yield details([("send at", data["send_at"])])


def _send_at(value: str) -> str:
    """An ISO time for the daemon; one without an offset is taken as local time."""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            "give an ISO 8601 time, e.g. 2026-01-31T09:00 (local) or 2026-01-31T09:00Z",
            param_hint="--send-at",
        ) from None
    return (when if when.tzinfo else when.astimezone()).isoformat()


def _wait_until_done(client: Client, outbox_id: str, timeout: float) -> dict[str, Any]:
    """Poll ``/v1/mail/outbox/{id}`` until the message is sent or failed (or time runs out)."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        row: dict[str, Any] = client.get(f"/v1/mail/outbox/{path_part(outbox_id)}")["outbox"]
        if row.get("status") in ("sent", "failed"):
            return row
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AgenticMailError(
                f"message {outbox_id} is still {row.get('status')} after {timeout:g}s",
                code="wait_timeout",
                hint=f"it stays in the outbox; check it with: agenticmail outbox show {outbox_id}",
            )
        time.sleep(min(delay, remaining))
        delay = min(delay * 1.5, 1.0)


@app.command(rich_help_panel=PANEL)
def send(
    ctx: typer.Context,
    agent: AgentOpt,
    to: Annotated[list[str], typer.Option("--to", metavar="ADDR", help="Recipient (repeat).")],
    subject: Annotated[str, typer.Option("--subject", "-s", help="Subject line.")] = "",
    text: Annotated[str | None, typer.Option("--text", help="Plain-text body.")] = None,
    html: Annotated[str | None, typer.Option("--html", help="HTML body.")] = None,
    text_file: Annotated[
        Path | None,
        typer.Option("--text-file", help="Read the plain-text body from a file ('-': stdin)."),
    ] = None,
    cc: Annotated[list[str] | None, typer.Option("--cc", metavar="ADDR", help="Cc.")] = None,
    bcc: Annotated[list[str] | None, typer.Option("--bcc", metavar="ADDR", help="Bcc.")] = None,
    attach: Annotated[
        list[Path] | None,
        typer.Option("--attach", metavar="FILE", help="Attach a file (repeat)."),
    ] = None,
    reply_to: Annotated[
        str | None, typer.Option("--reply-to", metavar="ADDR", help="Reply-To address.")
    ] = None,
    in_reply_to: Annotated[
        str | None,
        typer.Option("--in-reply-to", metavar="MESSAGE-ID", help="Message-ID this answers."),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option("--idempotency-key", help="Retrying with the same key sends nothing new."),
    ] = None,
    send_at: Annotated[
        str | None,
        typer.Option(
            "--send-at", metavar="ISO-TIME", help="Send later, at this time (no offset: local)."
        ),
    ] = None,
    bulk: Annotated[
        bool,
        typer.Option("--bulk", help="Bulk mail (one --to): adds one-click List-Unsubscribe."),
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait until it is sent; exit 1 if delivery fails.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0, help="Seconds --wait waits at most.")
    ] = 60.0,
    template: Annotated[
        str | None, typer.Option("--template", help="Subject and body from this template.")
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", metavar="NAME=VALUE", help="A template variable (repeat)."),
    ] = None,
    signature: Annotated[
        bool, typer.Option("--signature/--no-signature", help="Append the default signature.")
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Send an email as an agent (to other agents or, with a route, the internet).

    Mail that looks like it leaks secrets is held for the owner's approval (still exit 0).
    """
    if text is not None and text_file is not None:
        raise typer.BadParameter("give --text or --text-file, not both", param_hint="--text-file")
    if text is None and html is None and text_file is None and template is None:
        ctx.fail("a message needs a body: give --text, --html, --text-file or --template")
    if not subject and template is None:
        ctx.fail("give --subject (or --template, whose subject is used)")
    send_at = send_at and _send_at(send_at)
    settings = settings_from(ctx)
    if text_file is not None:
        text = _read_text_file(text_file)
    body = {
        "agent": agent,
        "to": to,
        "cc": cc or [],
        "bcc": bcc or [],
        "subject": subject,
        "text": text,
        "html": html,
        "reply_to": reply_to,
        "in_reply_to": in_reply_to,
        "attachments": [_read_attachment(path, settings) for path in attach or []],
        "idempotency_key": idempotency_key,
        "send_at": send_at,
        "template": template,
        "variables": variables(var) if template else None,
        "signature": signature,
        "bulk": bulk,
    }
    with Client(settings, timeout=120.0) as client:
        data = client.post("/v1/mail/send", body)
        if wait and data.get("status") == "held":
            note("not waiting: a held message leaves only once the owner approves it")
        elif wait:
            note(f"waiting up to {timeout:g}s for {data['id']} to be sent…")
            row = _wait_until_done(client, str(data["id"]), timeout)
            data = {**data, "status": row.get("status"), "outbox": row}  # the final state
    emit(data, as_json, _render_sent)
    row = data.get("outbox") or {}
    if row.get("status") == "failed":
        raise DeliveryError(
            f"message {data['id']} was not delivered: {row.get('last_error') or 'no reason given'}"
        )


def variables(pairs: Sequence[str] | None) -> dict[str, str]:
    """``--var name=value`` options as a dict (a value may contain ``=``)."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--var")
        out[name] = value
    return out


# -- inbox / search ----------------------------------------------------------------------
def _unread(message: Mapping[str, Any]) -> bool:
    return "\\Seen" not in (message.get("flags") or [])


def _messages_table(messages: Sequence[Mapping[str, Any]]) -> RenderableType:
    rows = []
    for m in messages:
        style = "bold" if _unread(m) else ""
        rows.append(
            (
                cell(m.get("uid"), style),
                cell(m.get("from"), style),
                cell(m.get("subject") or "(no subject)", style),
                cell(m.get("date"), style),
                cell(human_size(m.get("size", 0)), style),
                cell("📎" if m.get("has_attachments") else ""),
            )
        )
    return table(["uid", "from", "subject", "date", "size", ""], rows)


def _render_page(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    messages = data.get("messages") or []
    folder, total = data.get("folder"), data.get("total", len(messages))
    if not messages:
        yield Text(f"No messages in {clean(folder)} ({total} total).")
        return
    yield _messages_table(messages)
    first = int(data.get("offset") or 0) + 1
    unread = sum(1 for m in messages if _unread(m))
    yield Text(
        f"{clean(folder)}: {first}–{first + len(messages) - 1} of {total}; "
        f"{unread} unread on this page",
        style="dim",
    )


@app.command(rich_help_panel=PANEL)
def inbox(
    ctx: typer.Context,
    agent: AgentOpt,
    folder: FolderOpt = "INBOX",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: JsonFlag = False,
) -> None:
    """List an agent's messages, newest first (unread in bold)."""
    with Client(settings_from(ctx)) as client:
        data = client.get(
            "/v1/mail/messages", agent=agent, folder=folder, limit=limit, offset=offset
        )
    emit(data, as_json, _render_page)


def _render_search(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    messages = data.get("messages") or []
    if "query" in data:  # the search index: every folder, with snippets
        yield from _render_hits(data)
        return
    count = len(data.get("uids") or messages)
    if messages:
        yield _messages_table(messages)
    yield Text(f"{count} match{'es' if count != 1 else ''} in {clean(data.get('folder'))}")


def _render_hits(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    messages, total = data.get("messages") or [], int(data.get("total") or 0)
    rows = []
    for m in messages:
        style = "bold" if _unread(m) else ""
        rows.append((cell(m.get("folder"), style), cell(m.get("uid"), style),
                     cell(m.get("from"), style),
                     cell(m.get("subject") or "(no subject)", style),
                     cell(m.get("date"), style), cell(m.get("snippet"))))
    if rows:
        yield table(["folder", "uid", "from", "subject", "date", "snippet"], rows)
    first = int(data.get("offset") or 0) + 1
    shown = f"{first}–{first + len(messages) - 1} of " if messages else ""
    yield Text(f"{shown}{total} match{'es' if total != 1 else ''} "
               f"({data.get('mode')}, by {data.get('order')})", style="dim")


@app.command(rich_help_panel=PANEL)
def search(
    ctx: typer.Context,
    agent: AgentOpt,
    query: Annotated[str | None, typer.Argument(
        help='Search every folder: words, "phrases", prefix*, -word, from: to: subject: '
             "folder: has:attachment is:unread tag: before: after: (see docs: Search).",
        show_default=False)] = None,
    mode: Annotated[str, typer.Option("--mode", help="fulltext, semantic or hybrid "
                                                    "(semantic: agenticmail[semantic]).")
                    ] = "fulltext",
    order: Annotated[str | None, typer.Option("--order", help="rank or newest.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=200)] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    folder: FolderOpt = "INBOX",
    from_: Annotated[str | None, typer.Option("--from", help="Sender contains.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Recipient contains.")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Subject contains.")] = None,
    body: Annotated[str | None, typer.Option("--body", help="Body contains.")] = None,
    since: Annotated[
        datetime | None, typer.Option("--since", help="On or after this date.", **DATE)
    ] = None,
    before: Annotated[
        datetime | None, typer.Option("--before", help="Before this date.", **DATE)
    ] = None,
    seen: Annotated[
        bool | None, typer.Option("--seen/--unseen", help="Only read / only unread mail.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Search an agent's mail: a query searches the index of every folder (ranked, with
    snippets); the options alone search one folder by sender, recipient, subject, body, date
    or read state."""
    if query is not None or mode != "fulltext":
        with Client(settings_from(ctx)) as client:
            data = client.get("/v1/mail/search", agent=agent, q=query or "", mode=mode,
                              order=order, limit=limit, offset=offset)
        emit(data, as_json, _render_search)
        return
    params = {
        "agent": agent,
        "folder": folder,
        "from": from_,
        "to": to,
        "subject": subject,
        "body": body,
        "since": since and since.date().isoformat(),
        "before": before and before.date().isoformat(),
        "seen": None if seen is None else str(seen).lower(),
    }
    with Client(settings_from(ctx)) as client:
        data = client.get("/v1/mail/search", **params)
    emit(data, as_json, _render_search)


# -- read --------------------------------------------------------------------------------
def _render_message(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    m = data["message"]
    yield details(
        [
            ("From", m.get("from")),
            ("To", m.get("to")),
            ("Cc", m.get("cc") or None),
            ("Reply-To", m.get("reply_to") or None),
            ("Date", m.get("date")),
            ("Subject", m.get("subject")),
            ("Message-ID", m.get("message_id")),
            ("In-Reply-To", m.get("in_reply_to")),
            ("Flags", " ".join(m.get("flags") or []) or None),
            ("Size", human_size(m.get("size", 0))),
        ]
    )
    attachments = m.get("attachments") or []
    if attachments:
        yield table(
            ["#", "attachment", "type", "size"],
            [
                (a.get("index"), a.get("filename"), a.get("content_type"), human_size(a["size"]))
                for a in attachments
            ],
        )
    security = data.get("security")
    if isinstance(security, Mapping) and security:
        yield Panel(
            details([(str(k), _flat(v)) for k, v in security.items()]),
            title="security",
            title_align="left",
            border_style="yellow",
            expand=False,
        )
    body = m.get("text") or ""
    if not body.strip() and m.get("html"):
        body = "(this message has only an HTML body; see it with --json)"
    yield Text("")
    yield Text(clean(body, multiline=True))


def _flat(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(_flat(v) for v in value) or "none"
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False)
    return clean(value)


@app.command(rich_help_panel=PANEL)
def read(
    ctx: typer.Context,
    uid: Annotated[int, typer.Argument(help="The message's UID (from inbox or search).")],
    agent: AgentOpt,
    folder: FolderOpt = "INBOX",
    mark_read: Annotated[
        bool, typer.Option("--mark-read", help="Mark the message read after showing it.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show one message: headers, attachments, security notes and the text body."""
    with Client(settings_from(ctx)) as client:
        data = client.get(f"/v1/mail/messages/{path_part(uid)}", agent=agent, folder=folder)
        if mark_read:
            [marked] = mark_messages(client, agent, folder, [uid], True)
            data["message"]["flags"] = marked.get("flags", data["message"].get("flags"))
    emit(data, as_json, _render_message)


# -- watch -------------------------------------------------------------------------------
def _event_summary(data: Any) -> str:
    payload: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    message = payload.get("message")
    message = message if isinstance(message, Mapping) else payload
    parts = []
    if payload.get("uid") is not None:
        parts.append(f"{clean(payload.get('folder') or '')} uid {clean(payload['uid'])}".strip())
    if message.get("from") or message.get("subject"):
        parts.append(f"{clean(message.get('from'))}  {clean(message.get('subject'))}")
    elif "flags" in payload:
        parts.append("flags " + " ".join(clean(f) for f in payload.get("flags") or []))
    if not parts:
        rest = {k: v for k, v in payload.items() if k != "agent"} if payload else data
        parts.append(clean(json.dumps(rest, ensure_ascii=False, default=str)))
    return "  ".join(parts)


def _event_line(event: Mapping[str, Any]) -> Text:
    return Text.assemble(
        (clean(event.get("created_at")), "dim"),
        "  ",
        (clean(event.get("type")), "bold cyan"),
        "  ",
        (clean(event.get("agent") or "-"), "magenta"),
        "  ",
        _event_summary(event.get("data")),
    )


@app.command(rich_help_panel=PANEL)
def watch(
    ctx: typer.Context,
    agent: AgentOpt,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Exit after this many events.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each event as one JSON line.")
    ] = False,
) -> None:
    """Follow an agent's events (new mail, sends, …) as they happen; Ctrl-C to stop."""
    seen = 0
    console = stdout()
    try:
        with Client(settings_from(ctx)) as client:
            events = follow(
                client,
                "/v1/events",
                params={"agent": agent},
                on_connect=lambda again: note(
                    "reconnected" if again else f"watching {agent}'s events; Ctrl-C to stop"
                ),
                on_reconnect=lambda why: note(f"{why}; reconnecting…", "yellow"),
            )
            for message in events:
                try:
                    event = message.json()
                except ValueError:
                    event = {"type": message.event, "data": message.data, "id": message.id}
                if not isinstance(event, dict):
                    event = {"type": message.event, "data": event, "id": message.id}
                if as_json:
                    print_json(event, indent=None)
                else:
                    console.print(_event_line(event))
                seen += 1
                if count is not None and seen >= count:
                    return
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
