"""What the sync and async clients share: where the daemon is and which key to use, request
descriptions (:class:`Call`), the error mapping, and SSE framing. No I/O here."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from .. import errors
from ..errors import AgenticMailError, DaemonUnavailable, NotConfigured

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:3829"
DEFAULT_TIMEOUT = 30.0
START_HINT = "start it with: agenticmail start --detach"
ENV_KEY = "AGENTICMAIL_API_KEY"
ENV_URL = "AGENTICMAIL_URL"


def resolve_target(api_key: str | None, base_url: str | None,
                   home: Path | None = None) -> tuple[str, str]:
    """(key, base URL): the arguments, else ``AGENTICMAIL_API_KEY``/``AGENTICMAIL_URL``, else
    the local config (its master key and API address)."""
    key = api_key or os.environ.get(ENV_KEY) or None
    url = base_url or os.environ.get(ENV_URL) or None
    if key is None or url is None:
        from ..config import load_settings

        settings = load_settings(home)
        if key is None:
            key = settings.master_key
        if url is None:
            url = settings.api_url
    if not key:
        raise NotConfigured(
            "no API key: pass api_key=…, set AGENTICMAIL_API_KEY, or run agenticmail setup",
            hint="an agent key (ak_…) comes from agenticmail agents create/keys create")
    return key, (url or DEFAULT_URL).rstrip("/")


def path_part(value: str | int) -> str:
    return quote(str(value), safe="")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Mapping[str, Any] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None

    def query(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.params.items():
            if v is None:
                continue
            out[k] = ("1" if v else "0") if isinstance(v, bool) else v
        return out


def _error_classes() -> dict[str, type[AgenticMailError]]:
    found: dict[str, type[AgenticMailError]] = {}
    pending: list[type[AgenticMailError]] = [AgenticMailError]
    while pending:
        cls = pending.pop()
        if cls.__module__ == errors.__name__:
            found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


ERROR_CLASSES = _error_classes()
# codes raised as a subclass's instance but with their own code (e.g. url_refused)
STATUS_CLASSES: dict[int, type[AgenticMailError]] = {
    400: errors.InvalidRequest, 401: errors.AuthenticationFailed, 403: errors.PermissionDenied,
    404: errors.NotFound, 409: errors.Conflict, 413: errors.PayloadTooLarge,
}


def error_from_response(response: httpx.Response) -> AgenticMailError:
    """Rebuild the daemon's error (by its stable ``code``) from a non-2xx response."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return AgenticMailError(
            f"the daemon answered HTTP {response.status_code} {response.reason_phrase}".rstrip())
    code = str(error.get("code") or "internal_error")
    message: str = error["message"]
    hint = error.get("hint") if isinstance(error.get("hint"), str) else None
    cls = ERROR_CLASSES.get(code) or STATUS_CLASSES.get(response.status_code)
    if cls is None:
        return AgenticMailError(message, code=code, hint=hint)
    if issubclass(cls, errors.RateLimited):
        retry = response.headers.get("Retry-After", "60")
        return cls(message, retry_after=int(retry) if retry.isdigit() else 60, hint=hint)
    try:
        exc = cls(message, hint=hint)
    except TypeError:  # a subclass with its own constructor: keep the message and code
        return AgenticMailError(message, code=code, hint=hint)
    exc.code = code
    return exc


def unavailable(base_url: str, exc: httpx.TransportError) -> DaemonUnavailable:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        message = f"the agenticmail daemon is not running at {base_url}"
    elif isinstance(exc, httpx.TimeoutException):
        message = f"the agenticmail daemon at {base_url} did not answer in time"
    else:
        message = f"lost the connection to the agenticmail daemon at {base_url}"
    return DaemonUnavailable(message, hint=START_HINT)


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        raise AgenticMailError(
            f"the daemon sent a reply that is not JSON (HTTP {response.status_code})") from None


def json_object(response: httpx.Response) -> dict[str, Any]:
    body = json_body(response)
    if not isinstance(body, dict):
        raise AgenticMailError("the daemon sent an unexpected reply (not a JSON object)")
    return body


@dataclass(frozen=True)
class SseMessage:
    """One Server-Sent Event as framed on the wire."""

    id: str | None
    event: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


class SseParser:
    """Incremental SSE framing (``id:``/``event:``/``data:``; ``:`` comments)."""

    def __init__(self) -> None:
        self.event_id: str | None = None
        self.event_type = "message"
        self.data: list[str] = []

    def feed(self, raw: str) -> SseMessage | None:
        line = raw.rstrip("\r\n")
        if not line:
            out = None
            if self.data:
                out = SseMessage(self.event_id, self.event_type, "\n".join(self.data))
            self.event_type, self.data = "message", []
            return out
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self.data.append(value)
        elif name == "event":
            self.event_type = value or "message"
        elif name == "id" and "\0" not in value:
            self.event_id = value
        return None

    def end(self) -> SseMessage | None:
        return SseMessage(self.event_id, self.event_type, "\n".join(self.data)) \
            if self.data else None


def parse_sse(lines: Iterable[str]) -> Iterator[SseMessage]:
    parser = SseParser()
    for raw in lines:
        message = parser.feed(raw)
        if message is not None:
            yield message
    last = parser.end()
    if last is not None:
        yield last


READY_EVENT = "ready"


def ready_id(message: SseMessage) -> str | None:
    try:
        newest = message.json().get("last_event_id")
    except (ValueError, AttributeError):
        return None
    return None if newest is None else str(newest)


@dataclass
class Resume:
    """Where an event stream resumes after a dropped connection, and the retry backoff."""

    last_id: str | None = None
    on_connect: Callable[[bool], None] | None = None  # called with True on a reconnect
    connected_once: bool = False
    outage_since: float | None = None
    delay: float = 0.5

    def opened(self) -> None:
        self.connected_once, self.outage_since, self.delay = True, None, 0.5

    def seen(self, message: SseMessage) -> bool:
        """Record ``message``; whether it is an event to hand on (not the ready marker)."""
        if message.event == READY_EVENT:
            self.last_id = self.last_id or ready_id(message)
            return False
        if message.id is not None:
            self.last_id = message.id
        return True

    def failed(self, exc: DaemonUnavailable, now: float, give_up_after: float) -> float:
        """The delay before the next attempt, or raise when it is time to give up."""
        if not self.connected_once:
            raise exc
        self.outage_since = self.outage_since or now
        if now - self.outage_since > give_up_after:
            raise exc
        delay, self.delay = self.delay, min(self.delay * 2, 5.0)
        return delay

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id
        return headers
