"""The two transports the SDK meets, and what their connection pools hold.

``aiohttp_client`` is the client the SDK builds for itself (``_transport.build_client``) with
test options added (event hooks, timeouts); a plain ``httpx.AsyncClient`` is httpcore's.
``busy_connections`` counts the connections a pool holds as in use: after every call has
returned or been cancelled, any such connection is stuck and lost to the pool.
"""

from __future__ import annotations

from typing import Any

import httpx

from klaviyo_campaigns._transport import Transport

TRANSPORTS = ["aiohttp", "httpcore"]


def http_client(transport: str, *, limits: httpx.Limits, **options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` on ``transport`` ("aiohttp", as the SDK builds, or "httpcore")."""
    if transport == "aiohttp":
        return httpx.AsyncClient(limits=limits, transport=Transport(limits=limits), **options)
    assert transport == "httpcore", transport
    return httpx.AsyncClient(limits=limits, **options)


def busy_connections(http: httpx.AsyncClient) -> int:
    """Connections checked out of the pool (in use, or stuck if no call is running)."""
    transport = http._transport
    if isinstance(transport, Transport):
        session = transport.client
        if session is None or callable(session):  # no request sent yet
            return 0
        connector = session.connector
        assert connector is not None
        return len(connector._acquired)
    pool = transport._pool  # type: ignore[attr-defined]
    return sum(1 for c in pool.connections if not (c.is_idle() or c.is_closed()))
