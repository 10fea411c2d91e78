"""agenticmail: self-hosted email for AI agents."""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``agenticmail.Client`` / ``agenticmail.AsyncClient``, imported on first use (so that
    importing the daemon's modules does not load the client)."""
    if name in ("Client", "AsyncClient"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'agenticmail' has no attribute {name!r}")
