"""``agenticmail filter``: run the inbound filters on .eml files, offline, one JSON line each.

``score PATH...`` prints ``{"path": ..., **verdict}`` and ``sanitize PATH...`` prints
``{"path": ..., **sanitiser result}`` for every message. A PATH is an .eml file or a
directory searched recursively for ``*.eml``. Files are streamed, so thousands of messages
run with flat memory; ``score`` and ``sanitize`` spread them over one worker process per CPU
(``--jobs``), printing the same lines in the same order. An unreadable path prints one
``error:`` line on stderr, the run goes on, and the exit code is 1 at the end; paths with
no message at all are an error too (exit 1). ``scan`` exits 3 when a message would be blocked.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from ..services import filters
from .eml_files import auto_jobs, run_each

app = typer.Typer(help="Run the inbound filters (score, sanitize) or the outbound guard (scan) "
                       "on .eml files; no daemon needed.")

PathsArg = Annotated[list[Path], typer.Argument(help=".eml files or directories (recursive)")]
JobsOpt = Annotated[
    int, typer.Option("--jobs", "-j", min=0,
                      help="worker processes for many messages (0: one per CPU; 1: this "
                           "process only); the output is the same, in the same order")
]


@app.command()
def score(
    paths: PathsArg,
    local_domain: Annotated[
        list[str], typer.Option("--local-domain",
                                help="our own domain, for link rules (repeatable); no mail is "
                                     "internal here: that takes the daemon's origin stamp")
    ] = ["localhost"],  # noqa: B006 - Typer needs a list default
    jobs: JobsOpt = 0,
) -> None:
    """Spam/threat verdict per message (exit 1 if a path fails or holds no .eml message)."""
    verdict = partial(filters.verdict, local_domains=frozenset(local_domain))
    raise typer.Exit(run_each(paths, verdict, jobs=jobs or auto_jobs()))


@app.command()
def sanitize(paths: PathsArg, jobs: JobsOpt = 0) -> None:
    """Model-safe text/HTML per message, with what was removed."""
    raise typer.Exit(run_each(paths, filters.sanitized, jobs=jobs or auto_jobs()))


@app.command()
def scan(paths: PathsArg) -> None:
    """Outbound guard (secrets, PII) per message: path, blocked, masked findings.

    Exit 0: all clean; 3: a message would be held for the owner; 1: a path failed.
    """
    from .scan import scan_command

    raise typer.Exit(scan_command(paths))
