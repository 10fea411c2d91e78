"""agenticmail: self-hosted email for AI agents."""

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:  # the names type checkers see; at run time __getattr__ imports them
    from .client import AsyncClient as AsyncClient
    from .client import Client as Client


def __getattr__(name: str) -> object:
    """``agenticmail.Client`` / ``agenticmail.AsyncClient``, imported on first use (so that
    importing the daemon's modules does not load the client)."""
    if name in ("Client", "AsyncClient"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'agenticmail' has no attribute {name!r}")
