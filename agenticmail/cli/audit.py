"""``agenticmail audit``: list the audit log and verify its hash chain.

``audit list`` is a thin client of ``GET /v1/audit`` (master key; needs the daemon).

``audit verify`` deliberately does NOT go through the daemon: it opens the database file
itself (read-only use; no migrations are run) and recomputes the chain. A tamper check should
not have to trust the process whose records it checks, and it must work when the daemon is
stopped or broken. SQLite's WAL lets it read consistently while a daemon is writing. It exits
0 when the chain is intact and 1 when it is broken, printing the first problem on one line
(``--json`` prints the full report on stdout and uses the same exit codes). ``--anchor ID:HASH``
(a head printed by an earlier run, kept somewhere else) also catches a chain that was
rewritten wholesale.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from ..errors import InvalidRequest
from .client import Client
from .output import JsonFlag, clean, emit, print_json, stdout, table
from .state import settings_from

if TYPE_CHECKING:  # the offline ``verify`` imports the service (and the store) when it runs
    from ..services.audit import ChainHead

app = typer.Typer(no_args_is_help=True)

EXIT_BROKEN = 1


def _detail_text(detail: object) -> str:
    if isinstance(detail, Mapping):
        return ", ".join(f"{k}={v}" for k, v in detail.items())
    return "" if detail is None else str(detail)


def _render_list(data: Mapping[str, Any]) -> Iterator[RenderableType]:
    entries = data.get("entries") or []
    if not entries:
        yield Text("No audit entries match.")
        return
    yield table(
        ["id", "at", "actor", "action", "subject", "detail"],
        [
            (e.get("id"), e.get("at"), e.get("actor"), e.get("action"), e.get("subject"),
             _detail_text(e.get("detail")))
            for e in entries
        ],
    )
    total, offset = int(data.get("total") or 0), int(data.get("offset") or 0)
    shown_to = offset + len(entries)
    if total > len(entries):
        yield Text(f"{offset + 1}-{shown_to} of {total} (newest first)", style="dim")


@app.command("list")
def list_entries(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000,
                                       help="How many entries (newest first).")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many.")] = 0,
    action: Annotated[str | None, typer.Option("--action",
                                               help="Only this action, e.g. mail.send.")] = None,
    actor: Annotated[str | None, typer.Option(
        "--actor", help="Only this actor: owner, system or agent:NAME.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List audit entries (sends, holds, approvals, rejections, master-key use, and every
    change made with the master key with its outcome: ok or the error code)."""
    with Client(settings_from(ctx)) as client:
        data = client.get("/v1/audit", limit=limit, offset=offset, action=action, actor=actor)
    emit(data, as_json, _render_list)


def _parse_anchors(values: list[str]) -> list[ChainHead]:
    from ..services.audit import ChainHead

    try:
        return [ChainHead.parse(v) for v in values]
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


@app.command()
def verify(
    ctx: typer.Context,
    anchor: Annotated[list[str] | None, typer.Option(
        "--anchor", metavar="ID:HASH",
        help="A head noted from an earlier run; that row must still have that hash. Repeatable.",
    )] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the audit log's hash chain (reads the database directly; no daemon needed).

    Exits 1 if any row was edited, deleted, reordered or replaced.
    """
    from ..services.audit import verify_database

    result = verify_database(settings_from(ctx), _parse_anchors(anchor or []))
    if as_json:
        print_json(result.to_dict())
    elif result.ok:
        head = "empty" if result.head is None else f"head {result.head}"
        stdout().print(Text(f"audit log intact: {result.checked} entries checked; {head}",
                            style="green"))
    else:
        more = len(result.problems) - 1
        extra = f" (+{more} more; see --json)" if more > 0 else ""
        typer.echo(f"audit log broken: {clean(result.problems[0])}{extra}", err=True)
    if not result.ok:
        raise typer.Exit(EXIT_BROKEN)
