"""The CLI's HTTP client for the daemon's API.

Talks to ``settings.api_url`` with ``Authorization: Bearer <master key>`` (the key comes from
``config.toml``). It turns transport failures into ``DaemonUnavailable`` and the daemon's JSON
error body ``{"error": {"code", "message", "hint"?}}`` back into the ``errors.py`` class for
that code, so commands only ever see ``AgenticMailError``. It also reads Server-Sent Events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
import typer

from .. import errors
from ..config import Settings, load_settings
from ..errors import AgenticMailError, DaemonUnavailable, NotConfigured

START_HINT = "start it with: agenticmail start --detach"
SETUP_HINT = "run: agenticmail setup"
DEFAULT_TIMEOUT = 30.0


@dataclass
class CliState:
    """What the root callback hands to every command (through ``ctx.obj``)."""

    home: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.home)
        return self._settings

    def reload(self) -> None:
        """Forget the cached settings (after ``setup`` wrote a new config)."""
        self._settings = None


def settings_from(ctx: typer.Context) -> Settings:
    """The settings selected by the global ``--home`` option (or ``AGENTICMAIL_HOME``)."""
    state = ctx.find_root().obj
    if not isinstance(state, CliState):
        state = CliState()
        ctx.find_root().obj = state
    return state.settings()


def require_configured(settings: Settings) -> None:
    if not settings.is_configured:
        raise NotConfigured("agenticmail is not set up yet", hint=SETUP_HINT)


def path_part(value: str | int) -> str:
    """Quote one URL path segment (agent names, UIDs)."""
    return quote(str(value), safe="")


def _error_classes() -> dict[str, type[AgenticMailError]]:
    found: dict[str, type[AgenticMailError]] = {}
    pending: list[type[AgenticMailError]] = [AgenticMailError]
    while pending:
        cls = pending.pop()
        if cls.__module__ == errors.__name__:
            found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


_ERRORS = _error_classes()


def error_from_response(response: httpx.Response) -> AgenticMailError:
    """Rebuild the daemon's error (by its stable ``code``) from a non-2xx response."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return AgenticMailError(
            f"the daemon answered HTTP {response.status_code} {response.reason_phrase}".rstrip()
        )
    code = str(error.get("code") or "internal_error")
    message: str = error["message"]
    hint = error.get("hint") if isinstance(error.get("hint"), str) else None
    cls = _ERRORS.get(code)
    if cls is None:
        return AgenticMailError(message, code=code, hint=hint)
    if issubclass(cls, errors.RateLimited):
        retry = response.headers.get("Retry-After", "60")
        return cls(message, retry_after=int(retry) if retry.isdigit() else 60, hint=hint)
    try:
        return cls(message, hint=hint)
    except TypeError:  # a subclass with its own constructor: keep the message and code
        return AgenticMailError(message, code=code, hint=hint)


@dataclass(frozen=True)
class SseMessage:
    """One Server-Sent Event as framed on the wire."""

    id: str | None
    event: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


def parse_sse(lines: Iterable[str]) -> Iterator[SseMessage]:
    """Frame an SSE line stream into events (``id:``/``event:``/``data:``; ``:`` comments)."""
    event_id: str | None = None
    event_type = "message"
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield SseMessage(event_id, event_type, "\n".join(data))
            event_type, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value or "message"
        elif name == "id" and "\0" not in value:
            event_id = value
    if data:
        yield SseMessage(event_id, event_type, "\n".join(data))


class Client:
    """A short-lived synchronous client of the daemon; use as a context manager."""

    def __init__(
        self, settings: Settings, *, timeout: float = DEFAULT_TIMEOUT, auth: bool = True
    ) -> None:
        self.settings = settings
        self.base_url = settings.api_url
        headers = {"Accept": "application/json", "User-Agent": "agenticmail-cli"}
        if auth:
            require_configured(settings)
            headers["Authorization"] = f"Bearer {settings.master_key}"
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- transport errors ------------------------------------------------------------
    def unavailable(self, exc: httpx.TransportError) -> DaemonUnavailable:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            message = f"the agenticmail daemon is not running at {self.base_url}"
        elif isinstance(exc, httpx.TimeoutException):
            message = f"the agenticmail daemon at {self.base_url} did not answer in time"
        else:
            message = f"lost the connection to the agenticmail daemon at {self.base_url}"
        return DaemonUnavailable(message, hint=START_HINT)

    # -- JSON requests ---------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        accept: Callable[[httpx.Response], bool] | None = None,
    ) -> dict[str, Any]:
        """Send one request; return the JSON object body or raise an ``AgenticMailError``."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(method, path, params=query, json=json_body)
        except httpx.TransportError as exc:
            raise self.unavailable(exc) from None
        if not response.is_success and not (accept and accept(response)):
            raise error_from_response(response)
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            raise AgenticMailError(
                f"the daemon sent a reply that is not JSON (HTTP {response.status_code})"
            ) from None
        if not isinstance(body, dict):
            raise AgenticMailError("the daemon sent an unexpected reply (not a JSON object)")
        return body

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> dict[str, Any]:
        return self.request("POST", path, json_body=body)

    def delete(self, path: str, **params: Any) -> dict[str, Any]:
        return self.request("DELETE", path, params=params)

    def download(self, path: str, **params: Any) -> bytes:
        """``GET`` a binary body (an attachment); errors as for :meth:`request`."""
        query = {k: v for k, v in params.items() if v is not None}
        try:
            response = self._http.get(path, params=query, headers={"Accept": "*/*"})
        except httpx.TransportError as exc:
            raise self.unavailable(exc) from None
        if not response.is_success:
            raise error_from_response(response)
        return response.content

    def health(self) -> dict[str, Any]:
        """``GET /v1/health``; a 503 that carries a health report (not an error) is returned."""

        def degraded(response: httpx.Response) -> bool:
            try:
                body = response.json()
            except (ValueError, UnicodeDecodeError):
                return False
            return response.status_code == 503 and isinstance(body, dict) and "error" not in body

        return self.request("GET", "/v1/health", accept=degraded)

    # -- Server-Sent Events ----------------------------------------------------------
    def stream(
        self,
        path: str,
        *,
        params: Mapping[str, Any],
        last_event_id: str | None = None,
        on_open: Callable[[], None] | None = None,
    ) -> Iterator[SseMessage]:
        """Yield events from one SSE connection until the server closes it."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(10.0, read=90.0)  # the server sends keep-alive comments
        try:
            with self._http.stream(
                "GET", path, params=dict(params), headers=headers, timeout=timeout
            ) as response:
                if not response.is_success:
                    response.read()
                    raise error_from_response(response)
                if on_open is not None:
                    on_open()
                yield from parse_sse(response.iter_lines())
        except httpx.TransportError as exc:
            raise self.unavailable(exc) from None


READY_EVENT = "ready"


def _ready_id(message: SseMessage) -> str | None:
    try:
        newest = message.json().get("last_event_id")
    except (ValueError, AttributeError):
        return None
    return None if newest is None else str(newest)


def follow(
    client: Client,
    path: str,
    *,
    params: Mapping[str, Any],
    give_up_after: float = 60.0,
    on_connect: Callable[[bool], None] | None = None,
    on_reconnect: Callable[[str], None] | None = None,
) -> Iterator[SseMessage]:
    """Yield events forever, reconnecting with ``Last-Event-ID`` when the stream drops.

    The first connection failing raises at once; later outages are retried with backoff for
    up to ``give_up_after`` seconds before ``DaemonUnavailable`` is raised. The daemon opens
    each stream with an ``event: ready`` carrying the newest event id: it is not yielded, but
    it fixes where a reconnect resumes from when no event has arrived yet.
    """
    last_id: str | None = None
    connected_once = False
    outage_since: float | None = None
    delay = 0.5

    def opened() -> None:
        nonlocal connected_once, outage_since, delay
        if on_connect is not None:
            on_connect(connected_once)  # True when this is a reconnect
        connected_once, outage_since, delay = True, None, 0.5

    while True:
        try:
            for message in client.stream(
                path, params=params, last_event_id=last_id, on_open=opened
            ):
                if message.event == READY_EVENT:
                    last_id = last_id or _ready_id(message)
                    continue
                if message.id is not None:
                    last_id = message.id
                yield message
            reason = "the daemon closed the event stream"
        except DaemonUnavailable as exc:
            if not connected_once:
                raise
            now = time.monotonic()
            outage_since = outage_since or now
            if now - outage_since > give_up_after:
                raise
            reason = exc.message
        if on_reconnect is not None:
            on_reconnect(reason)
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
