"""The CLI's connection to the daemon: the public Python client (``agenticmail.client``)
with the local config's master key, plus the CLI's own state (``--home``, settings).

The client turns transport failures into ``DaemonUnavailable`` and the daemon's JSON error
body ``{"error": {"code", "message", "hint"?}}`` back into the ``errors.py`` class for that
code, so commands only ever see ``AgenticMailError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from ..client import Client as ApiClient
from ..client._base import DEFAULT_TIMEOUT, START_HINT, SseMessage, path_part
from ..config import Settings, load_settings
from ..errors import NotConfigured

SETUP_HINT = "run: agenticmail setup"
__all__ = [
    "DEFAULT_TIMEOUT",
    "START_HINT",
    "CliState",
    "Client",
    "SseMessage",
    "follow",
    "path_part",
    "require_configured",
    "settings_from",
]


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
