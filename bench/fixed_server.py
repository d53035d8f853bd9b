"""A minimal HTTP/1.1 keep-alive server answering every GET with precomputed bytes.

``python -m bench.fixed_server`` prints ``http://127.0.0.1:PORT`` and serves until killed.
``/api/campaigns`` (any query) gets the 100-campaign page, ``/api/campaigns/<id>`` one campaign.
The answer costs the server the same whoever asks, so a client's time is its own; it runs in its
own process (``bench.processes.fixed_server``) so its work does not share the client's CPU.
"""

from __future__ import annotations

import asyncio
import socket

from . import bodies


def _response(body: bytes) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/vnd.api+json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


class _Answer(asyncio.Protocol):
    """One connection: split requests on the blank line, answer each with fixed bytes."""

    def __init__(self, page: bytes, single: bytes) -> None:
        self._page = page
        self._single = single
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
            path = head.split(b" ", 2)[1].split(b"?", 1)[0].rstrip(b"/")
            assert self._transport is not None
            self._transport.write(self._page if path == b"/api/campaigns" else self._single)


async def serve(sock: socket.socket, base: str) -> None:
    """Serve on an already bound socket until cancelled."""
    page, single = _response(bodies.page(base)), _response(bodies.single(base))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Answer(page, single), sock=sock, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Bind a free loopback port, print the base URL, serve until killed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    print(base, flush=True)
    asyncio.run(serve(sock, base))


if __name__ == "__main__":
    main()
