"""The CLI's own state: the ``--home`` the root callback hands to every command, and the
settings it selects (loaded once, on first use).

Kept apart from ``client.py`` so that the root group (and offline commands such as
``filter score``) start without importing the HTTP client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from ..config import Settings, load_settings
from ..errors import NotConfigured

SETUP_HINT = "run: agenticmail setup"


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
