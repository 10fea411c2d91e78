"""Run a function over ``.eml`` files and directories, one JSON line per message.

Each PATH is an ``.eml`` file or a directory searched recursively for ``*.eml`` (sorted).
Files are listed lazily and read one at a time, so thousands of messages run with flat
memory and output starts at once. An unreadable or missing path prints one
``error: PATH: reason`` line on stderr and the run goes on; the exit code is then 1.
Paths that hold no ``.eml`` message at all (e.g. an empty directory) print
``error: no .eml messages in PATH...`` on stderr and exit 1: silence never means "all clean".

With ``jobs`` above 1 the messages after the first are read and handled by that many worker
processes (on Linux forked once the first message has loaded the filters, so they share
them; elsewhere started fresh, as forking is unsafe on macOS); the output is the same lines in
the same order, and memory stays flat (at most a few batches per worker are in flight).
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Generator, Iterator
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any, TextIO

Handler = Callable[[bytes], dict[str, Any]]
Item = Path | OSError  # a file to read, or why a path could not be listed
Result = tuple[bool, str]  # (True, its JSON line) or (False, its error line)
BATCH = 16  # messages per task handed to a worker process
IN_FLIGHT = 4  # tasks queued per worker process


def iter_eml(paths: list[Path]) -> Iterator[Item]:
    """Files to process, or the error that stopped a path from being listed (in order)."""
    for path in paths:
        if path.is_dir():
            errors: list[OSError] = []
            for root, dirs, files in os.walk(path, onerror=errors.append):
                dirs.sort()
                for name in sorted(files):
                    if name.lower().endswith(".eml"):
                        yield Path(root) / name
                while errors:
                    yield errors.pop(0)
            while errors:
                yield errors.pop(0)
        elif path.exists():
            yield path
        else:
            yield FileNotFoundError(2, "No such file or directory", str(path))


def auto_jobs() -> int:
    """Worker processes for ``--jobs 0``: one per CPU this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _handle(fn: Handler, item: Item) -> Result:
    """The JSON line of a message, or the error line of a path that failed."""
    if isinstance(item, OSError):
        return False, f"error: {item.filename}: {item.strerror or item}"
    try:
        raw = item.read_bytes()
    except OSError as exc:
        return False, f"error: {item}: {exc.strerror or exc}"
    return True, json.dumps({"path": str(item), **fn(raw)}, ensure_ascii=False)


def _ignore_interrupt() -> None:  # workers: Ctrl-C is the parent's to handle
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _handle_batch(fn: Handler, batch: list[Item]) -> list[Result]:
    return [_handle(fn, item) for item in batch]


def default_start_method() -> str:
    """How worker processes start: forked on Linux (they share what the first message
    loaded), spawned elsewhere (macOS's system libraries are not safe to fork)."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _parallel(fn: Handler, items: Iterator[Item], jobs: int, start_method: str
              ) -> Generator[Result, None, None]:
    """:func:`_handle` over ``items`` in ``jobs`` workers, results in input order
    (:data:`BATCH` messages per task, at most :data:`IN_FLIGHT` tasks per worker queued)."""
    with multiprocessing.get_context(start_method).Pool(jobs, _ignore_interrupt) as pool:
        pending: deque[AsyncResult[list[Result]]] = deque()
        while batch := list(itertools.islice(items, BATCH)):
            pending.append(pool.apply_async(_handle_batch, (fn, batch)))
            if len(pending) >= jobs * IN_FLIGHT:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()
        pool.close()  # let the workers exit (and their CPU time be accounted), not killed
        pool.join()


def _results(fn: Handler, paths: list[Path], jobs: int, start_method: str
             ) -> Generator[Result, None, None]:
    """:func:`_handle` over every path in order: in this process up to and including the
    first message (which loads what ``fn`` needs), the rest in up to ``jobs`` workers, one
    per :data:`BATCH` messages at most (fewer messages than that stay in this process)."""
    items = iter_eml(paths)
    for item in items:
        result = _handle(fn, item)
        yield result
        if result[0]:
            break
    # no more workers than there are batches to share (a few messages stay in this process)
    ahead = list(itertools.islice(items, jobs * BATCH))
    jobs = min(jobs, -(-len(ahead) // BATCH))
    items = itertools.chain(ahead, items)
    if jobs > 1:
        yield from _parallel(fn, items, jobs, start_method)
    else:
        yield from (_handle(fn, item) for item in items)


def run_each(paths: list[Path], fn: Handler, *, jobs: int = 1, start_method: str = "",
             out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print ``{"path": ..., **fn(raw)}`` per message; return the exit code (0 ok, 1 if a
    path failed or there was no message). ``jobs`` > 1 needs a picklable ``fn`` (a module's
    function or a ``functools.partial`` of one); ``start_method`` is multiprocessing's
    (:func:`default_start_method` when empty)."""
    out = out or sys.stdout
    err = err or sys.stderr
    failed = False
    seen = 0
    results = _results(fn, paths, jobs, start_method or default_start_method())
    try:
        for ok, line in results:
            if not ok:
                print(line, file=err)
                failed = True
                continue
            seen += 1
            try:
                print(line, file=out, flush=True)
            except BrokenPipeError:  # the reader went away (``| head``): stop quietly
                break
    finally:
        results.close()  # a stop before the end ends the workers too
    if not seen and not failed:
        print(f"error: no .eml messages in {' '.join(str(p) for p in paths)}", file=err)
        failed = True
    return 1 if failed else 0
