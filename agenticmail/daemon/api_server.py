"""The HTTP API (uvicorn) as a supervised component."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import uvicorn

from ..config import Settings
from ..errors import Conflict
from .component import Scope


class _Server(uvicorn.Server):
    """uvicorn, but a signal while it serves asks the daemon to stop (which stops this server
    in its turn, after the components started later) instead of ending uvicorn alone."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._on_exit()


class ApiServer:
    name = "api"

    def __init__(self, settings: Settings, app: Any, on_exit: Callable[[], None],
                 close_streams: Callable[[], None]) -> None:
        self.settings, self.app = settings, app
        self.on_exit, self.close_streams = on_exit, close_streams

    async def start(self, stack: Scope) -> None:
        # no proxy in front of a loopback API: X-Forwarded-* are not believed (nor parsed),
        # and no Server header is written on every answer
        config = uvicorn.Config(self.app, host=self.settings.api_host,
                                port=self.settings.api_port, log_level="warning",
                                access_log=False, lifespan="off", timeout_graceful_shutdown=5,
                                proxy_headers=False, server_header=False)
        server = _Server(config, self.on_exit)
        serve = asyncio.create_task(server.serve(), name="api:serve")

        async def stop() -> None:
            self.close_streams()
            server.should_exit = True
            await asyncio.wait([serve])

        stack.push_async_callback(stop)
        while not server.started and not serve.done():
            await asyncio.sleep(0.02)
        if serve.done():
            await serve  # re-raises the bind error
            raise Conflict(f"cannot listen on {self.settings.api_url}: the port is in use",
                           hint="change api_port in config.toml or stop the other process")
        stack.spawn(self._serving(serve), "serve")

    @staticmethod
    async def _serving(serve: asyncio.Task[None]) -> None:
        """Ends (a failure) when uvicorn stops serving without being asked to."""
        await asyncio.shield(serve)
