"""``agenticmail outbox``: outgoing mail and where it is in delivery.

Every accepted send is a row in the daemon's durable outbox (``/v1/mail/outbox``): queued,
sending, sent, failed or bounced, with the attempts made, the last error and what a bounce
said. ``send --wait`` reuses :func:`outbox_rows` to show the final state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from .client import Client, path_part
from .output import JsonFlag, cell, clean, details, emit, table
from .state import settings_from

app = typer.Typer(no_args_is_help=True)

STATUS_STYLE = {"queued": "cyan", "sending": "bold cyan", "sent": "green", "failed": "bold red",
                "bounced": "bold magenta"}


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"


def status_cell(value: object) -> Text:
    return cell(value, STATUS_STYLE.get(clean(value), ""))


def outbox_rows(row: Mapping[str, Any]) -> list[tuple[str, object]]:
    """One outbox row as key/value pairs for :func:`output.details`."""
    return [
        ("id", row.get("id")),
        ("agent", row.get("agent")),
        ("status", status_cell(row.get("status"))),
        ("subject", row.get("subject")),
        ("message-id", row.get("message_id")),
        ("recipients", row.get("recipients") or None),
        ("bcc", row.get("bcc") or None),
        ("attempts", row.get("attempts")),
        ("last error", cell(row["last_error"], "red") if row.get("last_error") else None),
        ("send at", row.get("send_at")),
        ("created", row.get("created_at")),
        ("updated", row.get("updated_at")),
        ("sent", row.get("sent_at")),
        ("held as", row.get("pending_id")),
        ("bounce", _bounce(row.get("bounce"))),
    ]


def _bounce(bounce: Mapping[str, Any] | None) -> str | None:
    """What the latest bounce said, one line per recipient."""
    if not bounce or not bounce.get("reports"):
        return None
    latest = bounce["reports"][-1]
    return "\n".join(f"{r.get('address')}: {bounce.get('kind')} {r.get('status') or ''} "
                     f"{r.get('diagnostic') or ''}".strip() for r in latest.get("recipients", []))


def _render_list(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    rows = data.get("outbox") or []
    if not rows:
        yield Text("The outbox is empty (nothing matches).")
        return
    yield table(
        ["id", "agent", "status", "subject", "recipients", "tries", "updated", "last error"],
        [
            (
                r.get("id"),
                r.get("agent"),
                status_cell(r.get("status")),
                r.get("subject") or "(no subject)",
                r.get("recipients") or [],
                r.get("attempts"),
                r.get("sent_at") or r.get("updated_at"),
                cell(r.get("last_error"), "red"),
            )
            for r in rows
        ],
    )


def _render_show(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield details(outbox_rows(data["outbox"]))


@app.command("list")
def list_outbox(
    ctx: typer.Context,
    agent: Annotated[
        str | None, typer.Option("--agent", "-a", help="Only this agent's mail.")
    ] = None,
    status: Annotated[
        OutboxStatus | None,
        typer.Option("--status", case_sensitive=False, help="Only mail in this state."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: JsonFlag = False,
) -> None:
    """List outgoing mail, newest first: queued, sending, sent or failed (with the reason)."""
    with Client(settings_from(ctx)) as client:
        data = client.get(
            "/v1/mail/outbox",
            agent=agent,
            status=status and status.value,
            limit=limit,
            offset=offset,
        )
    emit(data, as_json, _render_list)


@app.command()
def show(
    ctx: typer.Context,
    outbox_id: Annotated[str, typer.Argument(help="The outbox id (ob_…, from send or list).")],
    as_json: JsonFlag = False,
) -> None:
    """Show one outgoing message's delivery state: attempts, last error, when it was sent."""
    with Client(settings_from(ctx)) as client:
        data = client.get(f"/v1/mail/outbox/{path_part(outbox_id)}")
    emit(data, as_json, _render_show)


@app.command()
def scheduled(
    ctx: typer.Context,
    agent: Annotated[
        str | None, typer.Option("--agent", "-a", help="Only this agent's mail.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List sends waiting for their --send-at time, soonest first."""
    with Client(settings_from(ctx)) as client:
        data = client.get("/v1/mail/scheduled", agent=agent)
    emit({"outbox": data["scheduled"]}, as_json, _render_list)


@app.command()
def cancel(
    ctx: typer.Context,
    outbox_id: Annotated[str, typer.Argument(help="The outbox id (ob_…, from scheduled).")],
    as_json: JsonFlag = False,
) -> None:
    """Cancel a send that has not left (a scheduled one): it never will."""
    with Client(settings_from(ctx)) as client:
        data = client.post(f"/v1/mail/outbox/{path_part(outbox_id)}/cancel")
    emit(data, as_json, _render_show)
