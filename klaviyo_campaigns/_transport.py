"""The HTTP client the SDK builds for itself: ``httpx.AsyncClient`` on aiohttp's connection pool.

httpx's default transport, httpcore 1.0.9, does about 280 req/s at 100 calls in flight and
leaves connections stuck when calls are cancelled with keep-alive uncapped (its issue #1093).
``httpx_aiohttp.AiohttpTransport`` keeps httpx's API (requests, responses, timeouts, event
hooks) and sends through an ``aiohttp.ClientSession`` instead. This module adds what the SDK
needs on top of it:

- The pool settings map onto aiohttp's ``TCPConnector``: ``max_connections`` is its ``limit``,
  ``keepalive_expiry`` its ``keepalive_timeout``. aiohttp has no cap on idle connections, so
  keep-alive is uncapped (``max_keepalive_connections`` has no equivalent).
- Timeouts map per request: httpx's ``pool`` is aiohttp's ``connect`` (waiting for a free
  connection plus opening one), ``connect`` its ``sock_connect``, ``read`` its ``sock_read``.
  aiohttp has no write timeout and starts ``sock_read`` only once the body is written, so a
  stalled write would wait forever: a bound of ``pool + write + read`` seconds on getting the
  answer's headers takes its place, and raises ``httpx.WriteTimeout``.
- aiohttp's exceptions become the httpx exceptions httpcore raises for the same event, which
  is what ``_retry`` reasons about (a dropped connection "may have been applied", a refused one
  was "not sent"). httpx-aiohttp's own mapping turns ``ServerDisconnectedError`` and read
  timeouts into ``ConnectTimeout``, which would let a write the server may have applied be sent
  again; this mapping replaces it.
- aiohttp's own silent retry of a dropped GET, PUT or DELETE is off: the SDK's retry rules
  decide every re-send.
- The ``aiohttp.ClientSession`` is created on the first request, inside the running event
  loop, and closed by ``httpx.AsyncClient.aclose()``.
- Every client the SDK builds shares one verifying ``ssl.SSLContext`` (``_tls.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import NoReturn

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from . import _tls

__all__ = ["Transport", "build_client"]


def build_client(
    *, timeout: httpx.Timeout, max_connections: int, keepalive_expiry: float = 5.0
) -> httpx.AsyncClient:
    """The SDK's own ``httpx.AsyncClient``: ``max_connections`` at most, keep-alive uncapped."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=None,
        keepalive_expiry=keepalive_expiry,
    )
    return httpx.AsyncClient(timeout=timeout, limits=limits, transport=Transport(limits=limits))


class Transport(AiohttpTransport):
    """``AiohttpTransport`` with the SDK's connector, write-timeout bound and error mapping."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        # The session factory runs on the first request: an aiohttp session belongs to the
        # event loop it was created in, and none may be created at import time or outside one.
        super().__init__(verify=_tls.context(), limits=limits, client=self._new_session)

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,  # 0: no limit, as httpx's None
            limit_per_host=0,
            keepalive_timeout=self.limits.keepalive_expiry or 0,
            ssl=self.ssl_context,
        )
        session = aiohttp.ClientSession(connector=connector)
        # aiohttp silently re-sends a GET, PUT or DELETE once when its connection drops; the
        # SDK's retry rules must be the only ones: that second request would bypass the rate
        # limiter and the retry count, and hide that a DELETE's first attempt may have applied
        # it. aiohttp has no public switch for this; its own test client sets the same attribute.
        session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send through aiohttp; aiohttp's failures raise the httpx exception httpcore would."""
        timeouts = request.extensions.get("timeout", {})
        parts = [timeouts.get("pool"), timeouts.get("write"), timeouts.get("read")]
        bound = None if None in parts else sum(parts)
        try:
            async with asyncio.timeout(bound):
                response = await super().handle_async_request(request)
        except Exception as exc:
            cause = _aiohttp_cause(exc)
            if isinstance(cause, TimeoutError) and not isinstance(cause, aiohttp.ClientError):
                raise httpx.WriteTimeout(
                    f"no answer within {bound:g} s (pool + write + read timeouts): "
                    "the request could not be written",
                    request=request,
                ) from cause
            _raise_mapped(exc, request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Body(response.stream, request)
        return response


class _Body(httpx.AsyncByteStream):
    """The answer's body, with aiohttp's failures while reading it mapped like the request's."""

    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._inner = inner
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except Exception as exc:
            _raise_mapped(exc, self._request)

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except Exception as exc:
            _raise_mapped(exc, self._request)


def _aiohttp_cause(exc: Exception) -> BaseException:
    """What aiohttp raised, under httpx-aiohttp's own wrapping (``raise mapped from exc``)."""
    if isinstance(exc, httpx.TransportError) and isinstance(
        exc.__cause__, aiohttp.ClientError | TimeoutError
    ):
        return exc.__cause__
    return exc


def _raise_mapped(exc: Exception, request: httpx.Request) -> NoReturn:
    """Raise the httpx exception for what aiohttp raised; anything else unchanged."""
    cause = _aiohttp_cause(exc)
    if not isinstance(cause, aiohttp.ClientError):
        raise exc  # already httpx's own, or not a transport failure
    raise _mapped(cause, request) from cause


def _mapped(exc: aiohttp.ClientError, request: httpx.Request) -> httpx.TransportError:
    """The httpx exception for an aiohttp one, most specific first (see ``_retry``'s table)."""
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout  # no connection within the pool/connect timeouts: not sent
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        kind = httpx.ReadTimeout  # sock_read: the request went out, no answer in time
    elif isinstance(exc, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        kind = httpx.ProxyError
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError  # DNS, refused, TLS: raised only while connecting: not sent
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        kind = httpx.RemoteProtocolError  # closed before or during the answer: may be applied
    elif isinstance(exc, aiohttp.ClientResponseError):
        kind = httpx.RemoteProtocolError  # an answer aiohttp could not parse
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, aiohttp.ClientOSError):
        kind = httpx.ReadError  # reset or broken after the connection was made: may be applied
    else:
        kind = httpx.NetworkError  # any other aiohttp failure: assume the request may have gone
    return kind(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, request=request)
