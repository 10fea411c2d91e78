"""``agenticmail index rebuild``: make the search index equal to the mailboxes again.

Runs in this process against the database and the mail host (like ``doctor``), so it works
with or without a running daemon and shows a progress bar; with the semantic extra installed
it then embeds what has no vector yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from ..services import search
from ..services.agents import get_agent, list_agents
from ..services.context import build_context
from .output import JsonFlag, emit, stderr, table
from .state import require_configured, settings_from

app = typer.Typer(no_args_is_help=True)


def _render(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    rows = [(r["agent"], r["folders"], r["messages"], r["indexed"], r["removed"])
            for r in data["agents"]]
    yield table(["agent", "folders", "messages", "indexed", "dropped"], rows)
    if data.get("embedded"):
        yield Text(f"{data['embedded']} messages embedded for semantic search", style="dim")


@app.command()
def rebuild(
    ctx: typer.Context,
    agent: Annotated[str | None, typer.Option("--agent", "-a",
                                              help="Only this agent (default: all).")] = None,
    repair: Annotated[bool, typer.Option(
        "--repair", help="Only index what is missing and drop what is gone (faster).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Rebuild the search index from the mailboxes (every folder), with a progress bar."""
    settings = settings_from(ctx)
    require_configured(settings)
    service = build_context(settings)
    try:
        agents = [get_agent(service, agent)] if agent else list_agents(service)
        reports, embedded = [], 0
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=stderr(), disable=as_json,
                      transient=False) as bar:
            for who in agents:
                task = bar.add_task(f"indexing {who.name}", total=None)

                def progress(done: int, total: int, task: TaskID = task) -> None:
                    bar.update(task, completed=done, total=total)

                reports.append(search.rebuild(service, who, full=not repair, progress=progress))
            backlog = search.embedding_backlog(service)
            if backlog:
                task = bar.add_task("embedding", total=backlog)
                while (done := search.embed_pending(service)) > 0:
                    embedded += done
                    bar.update(task, completed=min(embedded, backlog))
    finally:
        service.db.close()
    emit({"agents": [r.to_dict() for r in reports], "embedded": embedded}, as_json, _render)
