#!/usr/bin/env python3
"""A stand-in for ``cloudflared`` (no network): what the daemon's tunnel runner sees of it.

``cloudflared --version`` prints its version; ``cloudflared tunnel [flags] run`` refuses to
start without ``TUNNEL_TOKEN`` (as cloudflared does: the token is in the environment, never in
the arguments) or with a token that is not one, then logs cloudflared's console lines to
stderr: ``Starting tunnel``, ``Version``, one ``Registered tunnel connection connIndex=N ...
location=...`` per connection; on SIGTERM ``Unregistered tunnel connection`` lines and exit 0.

It is steered through a control directory (``--control DIR``, baked into the wrapper
:func:`install_standin` writes, since the daemon gives it a bare environment):

* ``DIR/runs.jsonl``: one line per run: ``{pid, argv, token_sha256}`` (what it was given);
* ``DIR/connections``: how many connections to register (default 4);
* ``DIR/fail-start``: exit at once with this code (an ERR line first), e.g. a refused token;
* ``DIR/ignore-sigterm``: ignore SIGTERM (the runner must then SIGKILL it);
* ``DIR/command``: one command, consumed by the next run that reads it: ``exit CODE``
  (a crash: no unregistering), ``drop N`` (connection N lost, it retries), ``register N``,
  ``flood BYTES`` (one log line that long, then a normal one).

Also here: :class:`ReleaseServer`, a local HTTP server standing in for the release downloads.

Standard library only: it runs under the bare environment the daemon gives cloudflared.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from types import FrameType
from typing import Any

VERSION = "2099.1.0"
NO_NAME = ('"cloudflared tunnel run" requires the ID or name of the tunnel to run as the last '
           "command line argument or in the configuration file.")
LOCATIONS = ("lhr01", "ams02", "lhr07", "cdg03")


def _log(level: str, message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sys.stderr.write(f"{stamp} {level} {message}\n")
    sys.stderr.flush()


def _registered(index: int) -> None:
    _log("INF", f"Registered tunnel connection connIndex={index} connection={uuid.uuid4()} "
                f"event=0 ip=198.41.192.{7 + index} location={LOCATIONS[index % 4]} "
                "protocol=quic")


def _tunnel_id(token: str) -> str | None:
    """The tunnel id in a token (base64 of ``{"a": account, "t": tunnel, "s": secret}``)."""
    try:
        data = json.loads(base64.b64decode(token, validate=True))
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "ats"):
        return None
    return str(data["t"])


def make_token(tunnel_id: str | None = None) -> str:
    """A token of the real shape (what the tunnel's API hands out)."""
    body = {"a": uuid.uuid4().hex, "t": tunnel_id or str(uuid.uuid4()),
            "s": base64.b64encode(os.urandom(32)).decode()}
    return base64.b64encode(json.dumps(body).encode()).decode()


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _take_command(control: Path) -> str | None:
    """The pending command, consumed (renamed away first: one run takes it)."""
    source = control / "command"
    taken = control / f".command.{os.getpid()}"
    try:
        os.rename(source, taken)
    except OSError:
        return None
    text = _read(taken)
    taken.unlink(missing_ok=True)
    return text


def run(control: Path) -> int:
    token = os.environ.get("TUNNEL_TOKEN", "")
    with (control / "runs.jsonl").open("a") as runs:
        runs.write(json.dumps({"pid": os.getpid(), "argv": sys.argv,
                               "token_sha256": hashlib.sha256(token.encode()).hexdigest()
                               if token else None}) + "\n")
    if not token:
        sys.stderr.write(NO_NAME + "\n")
        return 1
    tunnel_id = _tunnel_id(token)
    if tunnel_id is None:
        _log("ERR", "Provided Tunnel token is not valid.")
        return 1
    _log("INF", f"Starting tunnel tunnelID={tunnel_id}")
    _log("INF", f"Version {VERSION} (Checksum 0000)")
    failing = _read(control / "fail-start")
    if failing is not None:
        _log("ERR", 'Couldn\'t start tunnel error="Unauthorized: Invalid tunnel secret"')
        return int(failing or 1)
    stopping = threading.Event()
    if (control / "ignore-sigterm").exists():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        def on_term(signum: int, frame: FrameType | None) -> None:
            stopping.set()
        signal.signal(signal.SIGTERM, on_term)
    count = int(_read(control / "connections") or 4)
    up = set(range(count))
    for index in sorted(up):
        _registered(index)
    while not stopping.wait(0.02):
        command = (_take_command(control) or "").split()
        if not command:
            continue
        verb, arg = command[0], int(command[1]) if len(command) > 1 else 0
        if verb == "exit":
            os._exit(arg)  # a crash: nothing unregistered, nothing flushed
        elif verb == "drop" and arg in up:
            up.discard(arg)
            _log("ERR", f'Serve tunnel error error="timeout: no recent network activity" '
                        f"connIndex={arg} event=0 ip=198.41.192.{7 + arg}")
            _log("INF", f"Retrying connection in up to 2s connIndex={arg} event=0 "
                        f"ip=198.41.192.{7 + arg}")
        elif verb == "register":
            up.add(arg)
            _registered(arg)
        elif verb == "flood":
            _log("INF", "x" * arg)
            _log("INF", "Updated to new configuration config=\"{}\" version=1")
    _log("INF", "Initiating graceful shutdown due to signal terminated ...")
    for index in sorted(up):
        _log("INF", f"Unregistered tunnel connection connIndex={index} event=0 "
                    f"ip=198.41.192.{7 + index}")
    return 0


def main(argv: list[str]) -> int:
    control = Path(".")
    if len(argv) >= 2 and argv[0] == "--control":
        control, argv = Path(argv[1]), argv[2:]
    if argv[:1] in (["--version"], ["version"]):
        print(f"cloudflared version {VERSION} (built 2099-01-01-0000 UTC)")
        return 0
    if argv[:1] == ["tunnel"] and argv[-1:] == ["run"]:
        return run(control)
    sys.stderr.write(f"stand-in cloudflared: unsupported arguments {argv}\n")
    return 2


def install_standin(directory: Path, control: Path) -> Path:
    """Write ``directory/cloudflared``: a shell wrapper running this stand-in with
    ``--control control`` (the daemon gives cloudflared a bare environment); its path."""
    directory.mkdir(parents=True, exist_ok=True)
    control.mkdir(parents=True, exist_ok=True)
    wrapper = directory / "cloudflared"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" '
                       f'--control "{control}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def runs(control: Path) -> list[dict[str, Any]]:
    """What each run so far was given (``runs.jsonl``)."""
    path = control / "runs.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class ReleaseServer:
    """A local HTTP server standing in for the release downloads: ``files`` maps a path
    (``/VERSION/ASSET``) to its bytes; anything else is a 404."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        store = files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = store.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ReleaseServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
