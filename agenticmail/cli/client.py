"""The CLI's connection to the daemon: the public Python client (``agenticmail.client``)
with the local config's master key (the CLI's own state, ``--home`` and settings, is in
``state.py``).

The client turns transport failures into ``DaemonUnavailable`` and the daemon's JSON error
body ``{"error": {"code", "message", "hint"?}}`` back into the ``errors.py`` class for that
code, so commands only ever see ``AgenticMailError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..client import Client as ApiClient
from ..client._base import DEFAULT_TIMEOUT, START_HINT, SseMessage, path_part
from ..config import Settings
from .state import require_configured

__all__ = [
    "DEFAULT_TIMEOUT",
    "START_HINT",
    "Client",
    "SseMessage",
    "follow",
    "path_part",
]


class Client(ApiClient):
    """The CLI's client: the public :class:`agenticmail.Client` (one code path), opened with
    the local config's master key and API address; use as a context manager."""

    def __init__(
        self, settings: Settings, *, timeout: float = DEFAULT_TIMEOUT, auth: bool = True
    ) -> None:
        self.settings = settings
        if auth:
            require_configured(settings)
        self._open(settings.master_key if auth else None, settings.api_url, agent=None,
                   timeout=timeout, fence=False, user_agent="agenticmail-cli")

    def __enter__(self) -> Client:
        return self


def follow(
    client: Client,
    path: str,
    *,
    params: Mapping[str, Any],
    give_up_after: float = 60.0,
    on_connect: Callable[[bool], None] | None = None,
    on_reconnect: Callable[[str], None] | None = None,
) -> Iterator[SseMessage]:
    """Yield events forever, reconnecting with ``Last-Event-ID`` when the stream drops
    (:meth:`agenticmail.Client.frames`; ``path`` is the event stream, ``/v1/events``)."""
    assert path == "/v1/events"
    types = params.get("types")
    return client.frames(agent=params.get("agent"),
                         types=types.split(",") if isinstance(types, str) else None,
                         give_up_after=give_up_after, on_connect=on_connect,
                         on_reconnect=on_reconnect)
