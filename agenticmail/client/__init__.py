"""The public Python client of the agenticmail daemon: :class:`Client` (sync) and
:class:`AsyncClient` (asyncio), on httpx, returning the typed models of
``agenticmail.client.models`` and raising ``agenticmail.errors`` types."""

from __future__ import annotations

from . import models
from ._base import ENV_KEY, ENV_URL, SseMessage, error_from_response, parse_sse
from .aio import AsyncClient
from .sync import Client

__all__ = ["ENV_KEY", "ENV_URL", "AsyncClient", "Client", "SseMessage", "error_from_response",
           "models", "parse_sse"]
