"""A real HTTP webhook receiver on loopback (``http.server`` in a thread) for tests and the
webhook benchmark: it records every POST (path, headers, body, when) and answers as scripted —
a status (and a delay) per request from a list, then a default. :meth:`down` closes the
listening socket and cuts the open connections (connections are refused) and :meth:`up`
listens again on the same port. :meth:`hold` makes it take the POSTs and never answer them
(a stalled receiver) until :meth:`release`."""

from __future__ import annotations

import contextlib
import http.server
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from agenticmail_testing.daemon import wait_until


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


class _Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 512


class Receiver:
    def __init__(self, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.tls = tls  # serve https (the URL then names the host "localhost")
        self.received: list[Received] = []
        self.default = (200, 0.0)  # (status, delay in seconds)
        self._script: list[tuple[int, float]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._connections: set[socket.socket] = set()  # open (kept-alive) connections
        self._thread: threading.Thread | None = None
        self._hold = False
        self.holding = threading.Event()  # a POST is read and held unanswered
        self.released = threading.Event()

    @property
    def url(self) -> str:
        if self.tls is not None:
            return f"https://localhost:{self.port}/hook"
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self, *statuses: int | tuple[int, float]) -> None:
        """The next answers in order (a status, or ``(status, delay)``); then the default."""
        with self._lock:
            self._script.extend(s if isinstance(s, tuple) else (s, 0.0) for s in statuses)

    def hold(self) -> None:
        """From now on, read each POST (it is recorded) and do not answer until :meth:`release`."""
        self.released.clear()
        self._hold = True

    def release(self) -> None:
        """Answer the held POSTs (their callers may have gone) and the next ones as usual."""
        self._hold = False
        self.released.set()

    def wait_held(self, timeout: float = 30.0) -> None:
        wait_until(self.holding.is_set, timeout, what="a POST held by the receiver")

    def _next(self) -> tuple[int, float]:
        with self._lock:
            return self._script.pop(0) if self._script else self.default

    def up(self) -> Receiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status, delay = receiver._next()
                with receiver._lock:
                    receiver.received.append(Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                        time.time()))
                if receiver._hold:
                    receiver.holding.set()
                    receiver.released.wait(120)
                if delay:
                    time.sleep(delay)  # the receiver being slow, not test synchronisation
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the caller gave up waiting

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(405)
                self.send_header("content-length", "0")
                self.end_headers()

        self._server = _Server(("127.0.0.1", self.port), Handler)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def down(self) -> None:
        """Stop listening and cut every open connection: nothing reaches the receiver (new
        connections are refused) until :meth:`up`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def bodies(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]

    def wait_for(self, count: int, timeout: float = 30.0, path: str | None = None
                 ) -> list[Received]:
        """At least ``count`` requests (to ``path``) have arrived; all of them."""
        wait_until(lambda: len(self.bodies(path)) >= count, timeout,
                   what=f"{count} webhook requests")
        return self.bodies(path)

    def wait_for_ids(self, ids: Iterable[str], timeout: float = 30.0) -> list[Received]:
        wanted = set(ids)
        wait_until(lambda: wanted <= {r.webhook_id for r in self.bodies()}, timeout,
                   what=f"webhooks {sorted(wanted)}")
        return self.bodies()

    def __enter__(self) -> Receiver:
        return self.up() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.down()

