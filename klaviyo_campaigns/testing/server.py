"""Serving the fake over real HTTP on loopback with uvicorn (for tests where transport matters)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import TRANSPORT_EXTENSION
from .starlette_types import ASGIApp


class _TransportAwareH11(H11Protocol):
    """uvicorn's h11 protocol, handing each request its connection's transport so the fake can
    drop the connection on purpose (an ASGI app has no other way to)."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        inner = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope = {
                **scope,
                "extensions": {**scope.get("extensions", {}), TRANSPORT_EXTENSION: transport},
            }
            await inner(scope, receive, send)

        self.app = app


@asynccontextmanager
async def serve(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run ``app`` with uvicorn on ``host:port`` (0: a free port) until the block exits.

    Yields the base URL, e.g. ``http://127.0.0.1:54321``. The server stops cleanly on exit.
    """
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY on accepted connections only for sockets
    # it sees as TCP, and without it every answer waits ~40 ms for delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(
        app, http=_TransportAwareH11, lifespan="off", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # surface the startup error
            await asyncio.sleep(0.005)
        bound_port = sock.getsockname()[1]
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
