"""``agenticmail filter``: run the inbound filters on .eml files, offline, one JSON line each.

``score PATH...`` prints ``{"path": ..., **verdict}`` and ``sanitize PATH...`` prints
``{"path": ..., **sanitiser result}`` for every message. A PATH is an .eml file or a
directory searched recursively for ``*.eml``. Files are streamed one at a time, so
thousands of messages run in one process with flat memory. An unreadable path prints one
``error:`` line on stderr, the run goes on, and the exit code is 1 at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer

from agenticmail.security import sanitize as sanitize_message
from agenticmail.security import score as score_message

app = typer.Typer(help="Score or sanitise .eml files with the inbound filters (no daemon needed).")

PathsArg = Annotated[list[Path], typer.Argument(help=".eml files or directories (recursive)")]


def _files(paths: list[Path]) -> Iterator[Path | OSError]:
    for path in paths:
        if path.is_dir():
            try:
                found = sorted(p for p in path.rglob("*.eml") if p.is_file())
            except OSError as exc:
                yield exc
                continue
            yield from found
        elif path.exists():
            yield path
        else:
            yield FileNotFoundError(2, "No such file or directory", str(path))


def _run(paths: list[Path], fn: Callable[[bytes], dict[str, object]]) -> None:
    failed = False
    for item in _files(paths):
        if isinstance(item, OSError):
            typer.echo(f"error: {item.filename}: {item.strerror or item}", err=True)
            failed = True
            continue
        try:
            raw = item.read_bytes()
        except OSError as exc:
            typer.echo(f"error: {item}: {exc.strerror or exc}", err=True)
            failed = True
            continue
        typer.echo(json.dumps({"path": str(item), **fn(raw)}, ensure_ascii=False))
    if failed:
        raise typer.Exit(1)


@app.command()
def score(
    paths: PathsArg,
    local_domain: Annotated[
        list[str], typer.Option("--local-domain", help="domain whose mail is internal (repeatable)")
    ] = ["localhost"],  # noqa: B006 - Typer needs a list default
) -> None:
    """Spam/threat verdict per message."""
    domains = frozenset(local_domain)
    _run(paths, lambda raw: score_message(raw, local_domains=domains).to_dict())


@app.command()
def sanitize(paths: PathsArg) -> None:
    """Model-safe text/HTML per message, with what was removed."""
    _run(paths, lambda raw: sanitize_message(raw).to_dict())
