"""Organising commands: ``signatures``, ``templates`` and ``tasks``; each is one call of the
Python client (the same service code the API, the client and the MCP tools use)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from .conversation import _client
from .mail import AgentOpt, variables
from .output import JsonFlag, details, emit, table

signatures_app = typer.Typer(no_args_is_help=True)
templates_app = typer.Typer(no_args_is_help=True)
tasks_app = typer.Typer(no_args_is_help=True)
NameArg = Annotated[str, typer.Argument(help="Its name.")]
TaskArg = Annotated[str, typer.Argument(help="The task id (task_…).")]
Var = Annotated[list[str] | None, typer.Option("--var", metavar="NAME=VALUE",
                                               help="A template variable (repeat).")]


def _json_arg(value: str | None, option: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise typer.BadParameter("not JSON (quote strings: '\"text\"')",
                                 param_hint=option) from None


# -- signatures ---------------------------------------------------------------------------
def _render_signatures(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield table(("name", "default", "text", "html"),
                ((s["name"], "yes" if s.get("default") else "", (s.get("text") or "")[:60],
                  "yes" if s.get("html") else "") for s in data["signatures"]))


@signatures_app.command("list")
def signatures_list(ctx: typer.Context, agent: AgentOpt, as_json: JsonFlag = False) -> None:
    """The agent's signatures (the default is appended to what it sends)."""
    with _client(ctx, agent) as client:
        found = client.list_signatures()
    emit({"signatures": [s.model_dump() for s in found]}, as_json, _render_signatures)


@signatures_app.command("set")
def signatures_set(ctx: typer.Context, agent: AgentOpt, name: NameArg,
                   text: Annotated[str | None, typer.Option("--text")] = None,
                   html: Annotated[str | None, typer.Option("--html")] = None,
                   default: Annotated[bool, typer.Option("--default",
                                                         help="Make it the default.")] = False,
                   as_json: JsonFlag = False) -> None:
    """Create a signature, or change one that exists (the first one is the default)."""
    with _client(ctx, agent) as client:
        if name in {s.name for s in client.list_signatures()}:
            saved = client.update_signature(name, text=text, html=html,
                                            default=True if default else None)
        else:
            saved = client.create_signature(name, text=text, html=html, default=default)
    emit({"signatures": [saved.model_dump()]}, as_json, _render_signatures)


@signatures_app.command("delete")
def signatures_delete(ctx: typer.Context, agent: AgentOpt, name: NameArg,
                      as_json: JsonFlag = False) -> None:
    """Delete a signature."""
    with _client(ctx, agent) as client:
        client.delete_signature(name)
    emit({"name": name, "deleted": True}, as_json, lambda d: iter([f"deleted {name}"]))


# -- templates ----------------------------------------------------------------------------
def _render_templates(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    yield table(("name", "subject", "variables"),
                ((t["name"], t.get("subject"), ", ".join(t.get("variables") or []))
                 for t in data["templates"]))


@templates_app.command("list")
def templates_list(ctx: typer.Context, agent: AgentOpt, as_json: JsonFlag = False) -> None:
    """The agent's templates and the variables each needs."""
    with _client(ctx, agent) as client:
        found = client.list_templates()
    emit({"templates": [t.model_dump() for t in found]}, as_json, _render_templates)


@templates_app.command("create")
def templates_create(ctx: typer.Context, agent: AgentOpt, name: NameArg,
                     subject: Annotated[str, typer.Option("--subject", "-s")] = "",
                     text: Annotated[str | None, typer.Option("--text")] = None,
                     html: Annotated[str | None, typer.Option("--html")] = None,
                     as_json: JsonFlag = False) -> None:
    """Save a template with {{ name }} placeholders (send with --template NAME --var …)."""
    with _client(ctx, agent) as client:
        saved = client.create_template(name, subject=subject, text=text, html=html)
    emit({"templates": [saved.model_dump()]}, as_json, _render_templates)


@templates_app.command("render")
def templates_render(ctx: typer.Context, agent: AgentOpt, name: NameArg, var: Var = None,
                     as_json: JsonFlag = False) -> None:
    """Show what a send with this template would say (nothing is sent)."""
    with _client(ctx, agent) as client:
        rendered = client.render_template(name, variables(var))
    emit(rendered.model_dump(), as_json, lambda d: iter([
        details([("subject", d["subject"]), ("text", d.get("text")), ("html", d.get("html"))])]))


@templates_app.command("delete")
def templates_delete(ctx: typer.Context, agent: AgentOpt, name: NameArg,
                     as_json: JsonFlag = False) -> None:
    """Delete a template."""
    with _client(ctx, agent) as client:
        client.delete_template(name)
    emit({"name": name, "deleted": True}, as_json, lambda d: iter([f"deleted {name}"]))


# -- tasks --------------------------------------------------------------------------------
def _render_tasks(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    rows = data["tasks"]
    if not rows:
        yield Text("No tasks.")
        return
    yield table(("id", "type", "from", "to", "status", "deadline"),
                ((t["id"], t["type"], t["assigner"], t["assignee"],
                  "expired" if t.get("expired") else t["status"], t.get("deadline"))
                 for t in rows))


@tasks_app.command("list")
def tasks_list(ctx: typer.Context, agent: AgentOpt,
               assigned_by_me: Annotated[bool, typer.Option(
                   "--given", help="Tasks this agent gave (not the ones given to it).")] = False,
               status: Annotated[str | None, typer.Option(
                   "--status", help="assigned, claimed, completed, failed or expired")] = None,
               as_json: JsonFlag = False) -> None:
    """Tasks given to the agent (or, with --given, that it gave), newest first."""
    with _client(ctx, agent) as client:
        found = client.list_tasks(role="assigner" if assigned_by_me else "assignee",
                                  status=status)
    emit({"tasks": [t.model_dump() for t in found]}, as_json, _render_tasks)


@tasks_app.command("assign")
def tasks_assign(ctx: typer.Context, agent: AgentOpt,
                 to: Annotated[str, typer.Option("--to", help="The assignee agent's name.")],
                 type_: Annotated[str, typer.Option("--type", help="What kind of task.")],
                 payload: Annotated[str | None, typer.Option(
                     "--payload", help="JSON payload.")] = None,
                 deadline: Annotated[str | None, typer.Option(
                     "--deadline", metavar="ISO-TIME")] = None,
                 as_json: JsonFlag = False) -> None:
    """Give another agent a task (both get a task.assigned event)."""
    with _client(ctx, agent) as client:
        task = client.assign_task(to, type_, _json_arg(payload, "--payload"),
                                  deadline=deadline)
    emit({"tasks": [task.model_dump()]}, as_json, _render_tasks)


@tasks_app.command("claim")
def tasks_claim(ctx: typer.Context, agent: AgentOpt, task_id: TaskArg,
                as_json: JsonFlag = False) -> None:
    """Claim a task given to the agent (only one claim wins)."""
    with _client(ctx, agent) as client:
        task = client.claim_task(task_id)
    emit({"tasks": [task.model_dump()]}, as_json, _render_tasks)


def _finish(ctx: typer.Context, agent: str, task_id: str, result: str | None, ok: bool,
            as_json: bool) -> None:
    value = _json_arg(result, "--result")
    with _client(ctx, agent) as client:
        task = (client.complete_task(task_id, value) if ok
                else client.fail_task(task_id, value))
    emit({"tasks": [task.model_dump()]}, as_json, _render_tasks)


Result = Annotated[str | None, typer.Option("--result", help="JSON result.")]


@tasks_app.command("complete")
def tasks_complete(ctx: typer.Context, agent: AgentOpt, task_id: TaskArg,
                   result: Result = None, as_json: JsonFlag = False) -> None:
    """Complete a claimed task with a result."""
    _finish(ctx, agent, task_id, result, True, as_json)


@tasks_app.command("fail")
def tasks_fail(ctx: typer.Context, agent: AgentOpt, task_id: TaskArg,
               result: Result = None, as_json: JsonFlag = False) -> None:
    """Fail a claimed task (the result says why)."""
    _finish(ctx, agent, task_id, result, False, as_json)
