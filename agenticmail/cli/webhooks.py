"""``agenticmail webhooks``: endpoints the daemon POSTs events to (Standard Webhooks, signed).

create/list/get/update/delete endpoints, rotate a secret, list recent delivery attempts
(status codes and response times), replay one message or every message since a time, send a
test event. Each command is one call of ``/v1/webhooks`` with the owner's master key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from ..errors import InvalidRequest
from .client import Client, path_part
from .output import (
    ConfirmFlag,
    JsonFlag,
    cell,
    clean,
    confirm_or_exit,
    details,
    emit,
    secrets_panel,
    table,
)
from .state import settings_from

app = typer.Typer(no_args_is_help=True)

IdArg = Annotated[str, typer.Argument(help="The endpoint's id (wh_…, from webhooks list).")]
EventsOpt = Annotated[
    list[str] | None,
    typer.Option("--event", "-e", help="An event type to deliver (repeat; message.* for a "
                                       "group). Default: every event."),
]
SHOWN_ONCE = "Store this secret now; it will not be shown again."
OUTCOME_STYLE = {"success": "green", "failure": "red", "gone": "bold red", "timeout": "yellow",
                 "error": "red", "refused": "bold red"}


def _path(webhook_id: str, *rest: str) -> str:
    return "/".join(["/v1/webhooks", path_part(webhook_id), *rest])


def _state(hook: Mapping[str, Any]) -> Text:
    if hook.get("enabled"):
        failing = hook.get("failing_since")
        return cell(f"failing since {failing}" if failing else "enabled",
                    "yellow" if failing else "green")
    return cell(f"disabled: {clean(hook.get('disabled_reason'))}", "bold red")


def _rows(hook: Mapping[str, Any]) -> list[tuple[str, object]]:
    return [
        ("id", hook.get("id")),
        ("agent", hook.get("agent") or "(every agent)"),
        ("url", hook.get("url")),
        ("events", ", ".join(hook.get("events") or []) or "(every event)"),
        ("description", hook.get("description") or None),
        ("state", _state(hook)),
        ("created", hook.get("created_at")),
        ("updated", hook.get("updated_at")),
    ]


def _render_one(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield details(_rows(data["webhook"]))


def _render_created(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield from _render_one(data)
    yield secrets_panel("Signing secret", [("secret", data.get("secret"))], SHOWN_ONCE)
    yield Text("Verify each delivery with it: see 'Webhooks' in the README.", style="dim")


def _render_list(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    hooks = data.get("webhooks") or []
    if not hooks:
        yield Text("No webhook endpoints. Add one: agenticmail webhooks create URL")
        return
    yield table(["id", "agent", "url", "events", "state"], [
        (h.get("id"), h.get("agent") or "(every agent)", h.get("url"),
         ", ".join(h.get("events") or []) or "(every event)", _state(h)) for h in hooks])


def _render_deliveries(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    rows = data.get("deliveries") or []
    if not rows:
        yield Text("No delivery attempts yet.")
        return
    yield table(["at", "webhook-id", "event", "try", "status", "ms", "outcome", "error"], [
        (d.get("at"), d.get("webhook_id"), d.get("event_type"), d.get("attempt"),
         d.get("status_code") if d.get("status_code") is not None else "-",
         d.get("duration_ms"), cell(d.get("outcome"), OUTCOME_STYLE.get(
             clean(d.get("outcome")), "")), d.get("error") or "") for d in rows])


@app.command()
def create(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where to POST events (https://…).")],
    event: EventsOpt = None,
    agent: Annotated[str | None, typer.Option(
        "--agent", "-a", help="Only this agent's events (default: every agent's).")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register an endpoint; prints its signing secret (whsec_…) once."""
    body = {"url": url, "events": event or [], "agent": agent, "description": description}
    with Client(settings_from(ctx)) as client:
        data = client.post("/v1/webhooks", {k: v for k, v in body.items() if v is not None})
    emit(data, as_json, _render_created)


@app.command("list")
def list_webhooks(
    ctx: typer.Context,
    agent: Annotated[str | None, typer.Option("--agent", "-a",
                                              help="Only this agent's endpoints.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List webhook endpoints and whether each is enabled, failing or disabled."""
    with Client(settings_from(ctx)) as client:
        data = client.get("/v1/webhooks", agent=agent)
    emit(data, as_json, _render_list)


@app.command()
def get(ctx: typer.Context, webhook_id: IdArg, as_json: JsonFlag = False) -> None:
    """Show one endpoint."""
    with Client(settings_from(ctx)) as client:
        data = client.get(_path(webhook_id))
    emit(data, as_json, _render_one)


@app.command()
def update(
    ctx: typer.Context,
    webhook_id: IdArg,
    url: Annotated[str | None, typer.Option("--url", help="A new URL.")] = None,
    event: EventsOpt = None,
    all_events: Annotated[bool, typer.Option("--all-events",
                                             help="Deliver every event type.")] = False,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    enable: Annotated[bool | None, typer.Option(
        "--enable/--disable", help="Resume deliveries (after a 410 or failures) or stop them."
    )] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change an endpoint's URL, event types or description; enable or disable it."""
    if event and all_events:
        raise InvalidRequest("give --event or --all-events, not both")
    body = {"url": url, "events": [] if all_events else event or None,
            "description": description, "enabled": enable}
    changes = {k: v for k, v in body.items() if v is not None}
    if not changes:
        raise InvalidRequest("nothing to change",
                             hint="give --url, --event, --all-events, --description, "
                                  "--enable or --disable")
    with Client(settings_from(ctx)) as client:
        data = client.request("PATCH", _path(webhook_id), json_body=changes)
    emit(data, as_json, _render_one)


@app.command()
def delete(ctx: typer.Context, webhook_id: IdArg, yes: ConfirmFlag = False,
           as_json: JsonFlag = False) -> None:
    """Remove an endpoint, its queued messages and its delivery log."""
    confirm_or_exit(Text(f"Delete webhook endpoint {clean(webhook_id)}?"), yes,
                    "Nothing deleted.")
    with Client(settings_from(ctx)) as client:
        data = client.delete(_path(webhook_id))
    emit(data, as_json, lambda d: [Text(f"Deleted webhook endpoint {clean(d.get('id'))}")])


@app.command("rotate-secret")
def rotate_secret(ctx: typer.Context, webhook_id: IdArg, as_json: JsonFlag = False) -> None:
    """A new signing secret (printed once); the old one is no longer used."""
    with Client(settings_from(ctx)) as client:
        data = client.post(_path(webhook_id, "rotate-secret"))
    emit(data, as_json, _render_created)


@app.command()
def deliveries(
    ctx: typer.Context,
    webhook_id: IdArg,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Recent delivery attempts, newest first: status code, response time, outcome."""
    with Client(settings_from(ctx)) as client:
        data = client.get(_path(webhook_id, "deliveries"), limit=limit)
    emit(data, as_json, _render_deliveries)


@app.command()
def replay(
    ctx: typer.Context,
    webhook_id: IdArg,
    message: Annotated[str | None, typer.Option(
        "--message", "-m", help="The webhook-id (msg_…) of one message to send again.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Send again every message since this time (ISO 8601).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send messages again: same webhook-id and body, a new webhook-timestamp."""
    if (message is None) == (since is None):
        raise InvalidRequest("give --message MSG_ID or --since TIME")
    body = {"webhook_id": message} if message is not None else {"since": since}
    with Client(settings_from(ctx)) as client:
        data = client.post(_path(webhook_id, "replay"), body)
    emit(data, as_json, lambda d: [Text(f"Queued {d.get('replayed')} message(s) again")])


@app.command("test")
def send_test(ctx: typer.Context, webhook_id: IdArg, as_json: JsonFlag = False) -> None:
    """Send a webhook.test event to this endpoint (see it with: webhooks deliveries ID)."""
    with Client(settings_from(ctx)) as client:
        data = client.post(_path(webhook_id, "test"))
    emit(data, as_json, lambda d: [Text(
        f"Queued test event {d['event'].get('id')}; check: agenticmail webhooks deliveries "
        f"{clean(webhook_id)}")])
