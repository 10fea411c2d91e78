"""A Server-Sent Events reader in a background thread, for tests that wait on events."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import httpx


class EventStream:
    """Collects events from ``GET /v1/events``; ``open()`` returns once the stream is live."""

    def __init__(self, base_url: str, key: str, params: dict[str, Any] | None = None,
                 last_event_id: int | None = None) -> None:
        self.base_url, self.key, self.params = base_url, key, params or {}
        self.last_event_id = last_event_id
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._backlog: list[dict[str, Any]] = []  # received, not yet taken by next()
        self.ready = threading.Event()
        self.status: int | None = None
        self.ready_data: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._response: httpx.Response | None = None

    def open(self, timeout: float = 10) -> EventStream:
        self._thread.start()
        if not self.ready.wait(timeout):
            raise TimeoutError("event stream did not open")
        return self

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = str(self.last_event_id)
        try:
            with httpx.Client(base_url=self.base_url, timeout=None) as client, \
                    client.stream("GET", "/v1/events", params=self.params,
                                  headers=headers) as response:
                self._response = response
                self.status = response.status_code
                if response.status_code != 200:
                    self.ready.set()
                    return
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line == "":
                        if fields.get("event") == "ready":
                            self.ready_data = json.loads(fields.get("data", "{}"))
                            self.ready.set()
                        elif "data" in fields:
                            self.events.put(json.loads(fields["data"]))
                        fields = {}
                    elif not line.startswith(":") and ":" in line:
                        name, _, value = line.partition(":")
                        fields[name] = value[1:] if value.startswith(" ") else value
        except httpx.HTTPError:
            pass
        finally:
            self.ready.set()

    def next(self, type_: str | None = None, timeout: float = 20,
             where: Any = None) -> dict[str, Any]:
        """The oldest event (of ``type_``, matching ``where``) not yet taken. Events that do
        not match stay queued for later calls: a test waiting for two messages gets both,
        whatever order they arrive in."""

        def matches(event: dict[str, Any]) -> bool:
            return (type_ is None or event["type"] == type_) and (where is None or where(event))

        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self._backlog):
                if matches(event):
                    return self._backlog.pop(i)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {type_ or 'event'} within {timeout}s")
            try:
                self._backlog.append(self.events.get(timeout=remaining))
            except queue.Empty:
                continue

    def drain(self, quiet: float = 0.0) -> list[dict[str, Any]]:
        """Every event not yet taken (waiting up to ``quiet`` seconds for each further one)."""
        out, self._backlog = self._backlog, []
        while True:
            try:
                out.append(self.events.get(timeout=quiet) if quiet else self.events.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        self._stop.set()
        if self._response is not None:
            self._response.close()

    def __enter__(self) -> EventStream:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
