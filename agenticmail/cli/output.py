"""Output for people (Rich tables and panels) and for scripts (``--json``).

Every command prints its result through :func:`emit`: with ``--json`` exactly one JSON document
goes to stdout and nothing else does (prompts, progress and notes go to stderr); without it a
``render`` function turns the same data into Rich renderables. Text that came from mail (subjects,
addresses, bodies) is untrusted: :func:`clean` strips terminal control sequences and every cell
is a ``rich.text.Text`` so ``[brackets]`` are never read as markup.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.panel import Panel
from rich.prompt import Confirm
from rich.table import Table
from rich.text import Text

from ..errors import InvalidRequest

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout (for scripts).")
]
ConfirmFlag = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")
]


def confirm_or_exit(question: str | Text, yes: bool, declined: str) -> None:
    """Ask (on stderr, default no) unless ``--yes``; a no prints ``declined`` and exits 1."""
    if yes or Confirm.ask(question, default=False, console=stderr()):
        return
    stderr().print(declined)
    raise typer.Exit(1)


def read_secret(from_stdin: bool, prompt: str, what: str, *, yes: bool = False) -> str:
    """A password from stdin (``--password-stdin``; one trailing line ending is dropped) or
    asked for on stderr without echo; with ``--yes`` it must come from stdin."""
    if from_stdin:
        value = sys.stdin.read()
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
        if not value:
            raise InvalidRequest(f"--password-stdin: stdin was empty; pipe the {what} in")
        return value
    if yes:
        raise InvalidRequest("with --yes the password comes from --password-stdin")
    password: str = typer.prompt(prompt, hide_input=True, err=True)
    return password

# C0 controls except tab/newline, DEL and C1 controls: never let mail drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")

Renderer = Callable[[Any], Iterable[RenderableType]]


UNWRAPPED_WIDTH = 1_000_000


def stdout() -> Console:
    """The console for results: a terminal wraps at its width; a file or a pipe never wraps
    (Rich would cut at 80 columns and split a ``watch`` line in two)."""
    console = Console(highlight=False, soft_wrap=False)
    if console.is_terminal:
        return console
    return Console(highlight=False, soft_wrap=True, width=UNWRAPPED_WIDTH)


def stderr() -> Console:
    """Prompts, progress and notes; like :func:`stdout`, never wrapped when not a terminal."""
    console = Console(stderr=True, highlight=False)
    if console.is_terminal:
        return console
    return Console(stderr=True, highlight=False, soft_wrap=True, width=UNWRAPPED_WIDTH)


def clean(value: object, *, multiline: bool = False) -> str:
    """Printable text: control characters removed (newlines kept only if ``multiline``)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if multiline:
        return _CONTROL.sub("", text.replace("\r\n", "\n"))
    return _CONTROL_LINE.sub(" ", text)


def cell(value: object, style: str = "") -> Text:
    """A table cell that shows ``value`` literally (no markup, no control characters)."""
    if isinstance(value, list | tuple):
        value = ", ".join(clean(v) for v in value)
    return Text(clean(value), style=style)


def jsonable(value: Any) -> Any:
    """Convert dataclasses, enums, paths and dates into plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        raw = to_dict() if callable(to_dict) else dataclasses.asdict(value)
        return jsonable(raw)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


_json_printed = False


def json_printed(reset: bool = False) -> bool:
    """Whether this run has printed a JSON document already (``reset``: start a new run)."""
    global _json_printed
    printed, _json_printed = _json_printed, (False if reset else _json_printed)
    return printed


def print_json(data: Any, *, indent: int | None = 2) -> None:
    """Write ``data`` as JSON to stdout (one document, or one line with ``indent=None``)."""
    global _json_printed
    sys.stdout.write(json.dumps(jsonable(data), indent=indent, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    _json_printed = True


def emit(data: Any, as_json: bool, render: Renderer) -> None:
    """The one way a command prints its result: JSON for scripts, Rich for people."""
    if as_json:
        print_json(data)
        return
    console = stdout()
    for renderable in render(data):
        console.print(renderable)


def note(message: str, style: str = "dim") -> None:
    """A side remark for people; always on stderr so ``--json`` stdout stays clean."""
    stderr().print(Text(message, style=style))


# -- building blocks ---------------------------------------------------------------------
def table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None
) -> Table:
    out = Table(title=title, title_justify="left", header_style="bold", show_edge=False)
    for name in columns:
        out.add_column(name, overflow="fold")
    for row in rows:
        out.add_row(*(c if isinstance(c, Text) else cell(c) for c in row))
    return out


def details(pairs: Iterable[tuple[str, object]], *, title: str | None = None) -> Table:
    """A two-column key/value table; rows whose value is ``None`` are left out."""
    out = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 1))
    out.add_column(style="bold cyan", no_wrap=True)
    out.add_column(overflow="fold")
    for key, value in pairs:
        if value is not None:
            out.add_row(key, value if isinstance(value, Text) else cell(value))
    return out


def secrets_panel(title: str, pairs: Iterable[tuple[str, object]], warning: str) -> Panel:
    """Secrets shown once (keys, passwords), with a clear warning underneath."""
    body = Table.grid(padding=(0, 2))
    body.add_column(style="bold")
    body.add_column()
    for key, value in pairs:
        body.add_row(key, cell(value, "bold yellow"))
    body.add_row("", "")
    body.add_row("", Text(warning, style="bold red"))
    return Panel(body, title=title, title_align="left", border_style="yellow", expand=False)


def check_dict(check: Any) -> dict[str, Any]:
    """A ``Check(name, ok, detail, hint)`` (setup and doctor) as a plain dict."""
    return {
        "name": str(getattr(check, "name", "")),
        "ok": bool(getattr(check, "ok", False)),
        "detail": str(getattr(check, "detail", "") or ""),
        "hint": getattr(check, "hint", None),
        "optional": bool(getattr(check, "optional", False)),
    }


def checks_table(checks: Sequence[Mapping[str, Any]]) -> Table:
    """✓/✗ rows, with the fix hint of every failed check; a failed optional check is an
    information row (``-``, dim), not a red failure."""
    out = Table(header_style="bold", show_edge=False)
    for name in ("", "check", "detail", "fix"):
        out.add_column(name, overflow="fold")
    for check in checks:
        ok = bool(check.get("ok"))
        optional = not ok and bool(check.get("optional"))
        if optional:
            out.add_row(Text("-", style="dim"), cell(check.get("name"), "dim"),
                        cell(f"{check.get('detail')} (optional)", "dim"), cell(""))
            continue
        out.add_row(
            Text("✓", style="green") if ok else Text("✗", style="bold red"),
            cell(check.get("name")),
            cell(check.get("detail")),
            cell("" if ok else check.get("hint") or "", "yellow"),
        )
    return out


def human_duration(seconds: object) -> str:
    try:
        total = int(float(str(seconds)))
    except ValueError:
        return clean(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours or days:
        parts.append(f"{hours}h")
    if minutes or hours or days:
        parts.append(f"{minutes}m")
    parts.append(f"{secs}s")
    return " ".join(parts)


def human_size(size: object) -> str:
    try:
        value = float(str(size))
    except ValueError:
        return clean(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover
