"""``agenticmail pending``: review the mail the outbound guard held for the owner.

``list`` and ``show`` read ``/v1/pending``; ``approve`` and ``reject`` post the owner's
decision (master key only; the daemon answers 409 when the message was already decided).
Findings only ever carry the daemon's masked previews. ``show`` prints the complete held
message (headers, attachments, body) because that is what the owner is deciding about.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from .client import Client, path_part
from .output import (
    ConfirmFlag,
    JsonFlag,
    cell,
    clean,
    confirm_or_exit,
    details,
    emit,
    human_size,
    table,
)
from .state import settings_from

app = typer.Typer(no_args_is_help=True)

IdArg = Annotated[str, typer.Argument(help="The held message's id (pm_…, from pending list).")]

SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}
STATUS_STYLE = {"pending": "bold yellow", "approved": "green", "rejected": "red"}


class PendingStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


def findings_table(findings: Iterable[Mapping[str, Any]]) -> Table:
    """What the outbound guard found; previews are masked by the daemon, never whole secrets."""
    rows = []
    for f in findings:
        severity = clean(f.get("severity")).lower()
        rows.append(
            (
                cell(severity, SEVERITY_STYLE.get(severity, "")),
                f.get("category"),
                f.get("rule_id"),
                f.get("where"),
                f.get("preview"),
            )
        )
    return table(["severity", "category", "rule", "where", "preview"], rows)


def _status(value: object) -> Text:
    return cell(value, STATUS_STYLE.get(clean(value), ""))


def _summary_rows(item: Mapping[str, Any]) -> list[tuple[str, object]]:
    return [
        ("id", item.get("id")),
        ("agent", item.get("agent")),
        ("status", _status(item.get("status"))),
        ("subject", item.get("subject")),
        ("message-id", item.get("message_id")),
        ("summary", item.get("summary")),
        ("owner notified", "yes" if item.get("owner_notified") else "no"),
        ("created", item.get("created_at")),
        ("resolved by", item.get("resolved_by")),
        ("resolved at", item.get("resolved_at")),
        ("outbox id", item.get("outbox_id")),
    ]


def _finding_counts(findings: Iterable[Mapping[str, Any]]) -> str:
    """``2 high, 1 medium``: how many findings of each severity, worst first."""
    counts: dict[str, int] = {}
    for f in findings:
        severity = clean(f.get("severity")).lower() or "?"
        counts[severity] = counts.get(severity, 0) + 1
    order = list(SEVERITY_STYLE)
    ranked = sorted(counts, key=lambda s: order.index(s) if s in order else len(order))
    return ", ".join(f"{counts[s]} {s}" for s in ranked) or "none"


def _render_list(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    items = data.get("pending") or []
    if not items:
        yield Text("No held messages.")
        return
    yield table(
        ["id", "agent", "status", "subject", "findings", "created"],
        [
            (
                p.get("id"),
                p.get("agent"),
                _status(p.get("status")),
                p.get("subject") or "(no subject)",
                _finding_counts(p.get("findings") or []),
                p.get("created_at"),
            )
            for p in items
        ],
    )
    waiting = sum(1 for p in items if p.get("status") == "pending")
    if waiting:
        yield Text(
            f"{waiting} waiting for you: agenticmail pending show ID, then approve or reject",
            style="dim",
        )


def _header_pairs(headers: object) -> list[tuple[str, object]]:
    if isinstance(headers, Mapping):
        return [(clean(k), v) for k, v in headers.items()]
    pairs = []
    for header in headers if isinstance(headers, list) else []:
        if isinstance(header, list | tuple) and len(header) == 2:
            pairs.append((clean(header[0]), header[1]))
    return pairs


def _render_message(mail: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield details(
        [
            ("To", mail.get("to") or None),
            ("Cc", mail.get("cc") or None),
            ("Bcc", mail.get("bcc") or None),
            ("Reply-To", mail.get("reply_to")),
            ("From name", mail.get("from_name")),
            ("Subject", mail.get("subject")),
            ("In-Reply-To", mail.get("in_reply_to")),
            ("References", mail.get("references") or None),
            *_header_pairs(mail.get("headers")),
        ],
        title="Held message",
    )
    attachments = mail.get("attachments") or []
    if attachments:
        yield table(
            ["attachment", "type", "size"],
            [
                (a.get("filename"), a.get("content_type"), human_size(a.get("size", 0)))
                for a in attachments
            ],
        )
    text, html = mail.get("text"), mail.get("html")
    if text:
        yield Text("")
        yield Text(clean(text, multiline=True))
    if html:
        yield Text("")
        yield Text("HTML body (source):", style="bold cyan")
        yield Text(clean(html, multiline=True))


def _render_show(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    item = data["pending"]
    yield details(_summary_rows(item))
    findings = item.get("findings") or []
    if findings:
        yield findings_table(findings)
    request = item.get("request") or {}
    mail = request.get("mail") if isinstance(request, Mapping) else None
    if isinstance(mail, Mapping):
        yield Text("")
        yield from _render_message(mail)
    if item.get("status") == "pending":
        yield Text("")
        yield Text(
            f"Decide: agenticmail pending approve {clean(item.get('id'))}  |  "
            f"agenticmail pending reject {clean(item.get('id'))}",
            style="dim",
        )


def _render_decision(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    item = data["pending"]
    status = clean(item.get("status"))
    if status == "approved":
        line = f"Approved {clean(item.get('id'))}: the message is on its way"
        if item.get("outbox_id"):
            line += f" (outbox {clean(item.get('outbox_id'))})"
        yield Text(line, style="bold green")
    else:
        yield Text(f"Rejected {clean(item.get('id'))}: it will not be sent", style="bold")
    yield details(
        [
            ("agent", item.get("agent")),
            ("subject", item.get("subject")),
            ("message-id", item.get("message_id")),
            ("resolved by", item.get("resolved_by")),
            ("resolved at", item.get("resolved_at")),
        ]
    )


@app.command("list")
def list_pending(
    ctx: typer.Context,
    agent: Annotated[
        str | None, typer.Option("--agent", "-a", help="Only this agent's held mail.")
    ] = None,
    status: Annotated[
        PendingStatus | None,
        typer.Option("--status", case_sensitive=False, help="Only held mail in this state."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List held messages (what the outbound guard blocked) waiting for the owner."""
    with Client(settings_from(ctx)) as client:
        data = client.get("/v1/pending", agent=agent, status=status and status.value)
    emit(data, as_json, _render_list)


@app.command()
def show(ctx: typer.Context, pending_id: IdArg, as_json: JsonFlag = False) -> None:
    """Show one held message: the findings (masked) and the complete message for review."""
    with Client(settings_from(ctx)) as client:
        data = client.get(f"/v1/pending/{path_part(pending_id)}")
    emit(data, as_json, _render_show)


@app.command()
def approve(ctx: typer.Context, pending_id: IdArg, as_json: JsonFlag = False) -> None:
    """Approve a held message: it is sent exactly as held (owner only)."""
    with Client(settings_from(ctx)) as client:
        data = client.post(f"/v1/pending/{path_part(pending_id)}/approve")
    emit(data, as_json, _render_decision)


@app.command()
def reject(
    ctx: typer.Context,
    pending_id: IdArg,
    yes: ConfirmFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Reject a held message: it is discarded and never sent (owner only)."""
    confirm_or_exit(Text(f"Reject held message {clean(pending_id)}? It will never be sent."),
                    yes, "Nothing rejected.")
    with Client(settings_from(ctx)) as client:
        data = client.post(f"/v1/pending/{path_part(pending_id)}/reject")
    emit(data, as_json, _render_decision)
