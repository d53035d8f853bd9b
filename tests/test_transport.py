"""The client the SDK builds for itself: httpx's API on aiohttp (``_transport.py``).

Each transport failure is made real over loopback, and the test checks the whole chain: the
exception aiohttp raised, the httpx exception httpcore would raise for the same event (which
``_retry`` reasons about), and the SDK's typed error.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
import pytest
from stable_bodies import campaign_body

from klaviyo_campaigns import (
    ConfigurationError,
    ConnectError,
    Klaviyo,
    TimeoutError,
    TransportError,
    WriteMayHaveBeenApplied,
    _tls,
)
from klaviyo_campaigns._transport import Transport
from klaviyo_campaigns.testing import FakeKlaviyo

KEY = "pk_test_transport_0123456789abcdef"
QUICK = httpx.Timeout(5.0, read=0.15, pool=0.15)


def chain(error: BaseException) -> list[type[BaseException]]:
    """The error's type, then its ``__cause__``'s, and so on."""
    types: list[type[BaseException]] = []
    current: BaseException | None = error
    while current is not None:
        types.append(type(current))
        current = current.__cause__
    return types


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(rate_limits=False, validate=False, seed=16)


def sdk(url: str, **options: Any) -> Klaviyo:
    """The SDK's own client (aiohttp), no retries: each failure surfaces as it happened."""
    return Klaviyo(KEY, base_url=url, max_retries=0, timeout=QUICK, **options)


# -- aiohttp's exceptions, as they reach httpx and the SDK ------------------------------------


async def test_a_dropped_connection_is_a_remote_protocol_error(fake: FakeKlaviyo) -> None:
    """aiohttp.ServerDisconnectedError: the server may have acted, as httpcore says too."""
    fake.faults.drop_next("get_campaign")
    async with fake.serve() as url, sdk(url) as kl:
        with pytest.raises(TransportError) as caught:
            await kl.stable.get_campaign("ANY")
    assert chain(caught.value) == [
        TransportError,
        httpx.RemoteProtocolError,
        aiohttp.ServerDisconnectedError,
    ]


async def test_a_write_whose_connection_drops_may_have_been_applied(fake: FakeKlaviyo) -> None:
    """httpx-aiohttp alone maps ServerDisconnectedError to ConnectTimeout ("not sent"), which
    would have re-sent this create; the SDK's mapping keeps it from being applied twice."""
    fake.faults.drop_next("create_campaign", after_commit=True)
    async with fake.serve() as url, Klaviyo(KEY, base_url=url, timeout=QUICK) as kl:
        with pytest.raises(WriteMayHaveBeenApplied):
            await kl.stable.create_campaign(body=campaign_body("Dropped"))
    assert fake.counters.requests["create_campaign"] == 1
    assert fake.counters.writes["create_campaign"] == 1


async def test_a_truncated_body_is_a_remote_protocol_error(fake: FakeKlaviyo) -> None:
    """aiohttp.ClientPayloadError, raised while reading the body through httpx's stream."""
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.truncate_next("get_campaign")
    async with fake.serve() as url, sdk(url) as kl:
        with pytest.raises(TransportError) as caught:
            await kl.stable.get_campaign(campaign_id)
    assert chain(caught.value)[:3] == [
        TransportError,
        httpx.RemoteProtocolError,
        aiohttp.ClientPayloadError,
    ]


async def test_no_answer_in_time_is_a_read_timeout(fake: FakeKlaviyo) -> None:
    """aiohttp.SocketTimeoutError (its ``sock_read``, httpx's read timeout)."""
    fake.faults.delay_next("get_campaign", 0.5)
    async with fake.serve() as url, sdk(url) as kl:
        with pytest.raises(TimeoutError) as caught:
            await kl.stable.get_campaign("ANY")
    assert chain(caught.value) == [TimeoutError, httpx.ReadTimeout, aiohttp.SocketTimeoutError]


async def test_a_write_without_an_answer_in_time_may_have_been_applied(
    fake: FakeKlaviyo,
) -> None:
    fake.faults.delay_next("create_campaign", 0.5)
    async with fake.serve() as url, sdk(url) as kl:
        with pytest.raises(WriteMayHaveBeenApplied) as caught:
            await kl.stable.create_campaign(body=campaign_body("Slow"))
    assert chain(caught.value) == [WriteMayHaveBeenApplied, TimeoutError]
    assert "ReadTimeout: SocketTimeoutError" in str(caught.value)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_refused_connection_is_a_connect_error_and_a_write_is_not_applied() -> None:
    """aiohttp.ClientConnectorError: raised only while connecting, so nothing was sent."""
    async with sdk(f"http://127.0.0.1:{closed_port()}") as kl:
        with pytest.raises(ConnectError) as caught:
            await kl.stable.create_campaign(body=campaign_body("Nobody home"))
    assert not isinstance(caught.value, WriteMayHaveBeenApplied)
    assert chain(caught.value)[:2] == [ConnectError, httpx.ConnectError]
    assert issubclass(chain(caught.value)[2], aiohttp.ClientConnectorError)


async def test_no_free_connection_in_time_is_a_connect_timeout(fake: FakeKlaviyo) -> None:
    """aiohttp.ConnectionTimeoutError (its ``connect``: httpx's pool timeout): not sent."""
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.delay_next("get_campaign", 0.3)
    slow = httpx.Timeout(5.0, read=1.0, pool=0.1)
    async with (
        fake.serve() as url,
        Klaviyo(KEY, base_url=url, max_retries=0, timeout=slow, max_connections=1) as kl,
    ):
        holder = asyncio.create_task(kl.stable.get_campaign(campaign_id))
        while fake.counters.requests["get_campaign"] == 0:  # noqa: ASYNC110 - the fake has no event
            await asyncio.sleep(0.005)
        with pytest.raises(TimeoutError) as caught:
            await kl.stable.get_campaign(campaign_id)
        assert (await holder).data.id == campaign_id
    assert chain(caught.value)[:3] == [
        TimeoutError,
        httpx.ConnectTimeout,
        aiohttp.ConnectionTimeoutError,
    ]
    assert fake.counters.requests["get_campaign"] == 1


@asynccontextmanager
async def raw_server(on_connect: Callable[[socket.socket], None]) -> AsyncIterator[str]:
    """A loopback server handing each accepted socket to ``on_connect`` (in a thread-free,
    non-blocking way: the callback must not block)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    loop = asyncio.get_running_loop()
    accepted: list[socket.socket] = []

    async def accept() -> None:
        while True:
            conn, _ = await loop.sock_accept(listener)
            accepted.append(conn)
            on_connect(conn)

    task = asyncio.create_task(accept())
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for conn in accepted:
            conn.close()
        listener.close()


async def test_a_garbled_answer_is_a_remote_protocol_error() -> None:
    """aiohttp.ClientResponseError for a response it cannot parse (httpcore: the same class)."""

    def garble(conn: socket.socket) -> None:
        conn.send(b"NOT HTTP AT ALL\r\n\r\n")

    async with raw_server(garble) as url, sdk(url) as kl:
        with pytest.raises(TransportError) as caught:
            await kl.stable.get_campaign("ANY")
    assert chain(caught.value)[:2] == [TransportError, httpx.RemoteProtocolError]
    assert issubclass(chain(caught.value)[2], aiohttp.ClientResponseError)


async def test_a_stalled_write_is_bounded_by_pool_plus_write_plus_read() -> None:
    """aiohttp has no write timeout, and its read timeout starts once the body is written: a
    server that never reads would hold the request forever. The transport bounds getting the
    answer's headers by the pool, write and read timeouts together (here 0.3 s)."""
    never_read: list[socket.socket] = []
    body = b"x" * (64 << 20)  # far more than loopback's socket buffers hold
    limits = httpx.Limits(max_connections=1)
    timeout = httpx.Timeout(5.0, pool=0.1, write=0.1, read=0.1)
    async with (
        raw_server(never_read.append) as url,
        httpx.AsyncClient(transport=Transport(limits=limits), timeout=timeout) as http,
    ):
        started = asyncio.get_running_loop().time()
        with pytest.raises(httpx.WriteTimeout, match="pool \\+ write \\+ read") as caught:
            await http.post(url, content=body)
        elapsed = asyncio.get_running_loop().time() - started
    assert isinstance(caught.value.__cause__, asyncio.TimeoutError)
    assert elapsed < 3.0  # bounded, not held until the 5 s connect timeout or forever


# -- building, pool, closing ----------------------------------------------------------------


async def test_the_sdk_builds_an_httpx_client_on_aiohttp() -> None:
    async with Klaviyo(KEY) as kl:
        assert isinstance(kl._http, httpx.AsyncClient)
        assert isinstance(kl._http._transport, Transport)


def test_nothing_is_created_outside_a_running_loop() -> None:
    """Built outside any event loop (as at import or module level): no aiohttp session yet."""
    kl = Klaviyo(KEY)
    transport = kl._http._transport
    assert isinstance(transport, Transport)
    assert not isinstance(transport.client, aiohttp.ClientSession)


async def test_max_connections_sizes_aiohttps_pool_with_keep_alive_uncapped(
    fake: FakeKlaviyo,
) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    async with fake.serve() as url, Klaviyo(KEY, base_url=url, max_connections=7) as kl:
        await kl.stable.get_campaign(campaign_id)  # the session is made on the first request
        session = kl._http._transport.client  # type: ignore[attr-defined]
        assert isinstance(session, aiohttp.ClientSession)
        connector = session.connector
        assert isinstance(connector, aiohttp.TCPConnector)
        assert (connector.limit, connector.limit_per_host) == (7, 0)
        assert kl._http._transport.limits.max_keepalive_connections is None  # type: ignore[attr-defined]


async def test_the_default_pool_is_100_connections(fake: FakeKlaviyo) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    async with fake.serve() as url, Klaviyo(KEY, base_url=url) as kl:
        await kl.stable.get_campaign(campaign_id)
        session = kl._http._transport.client  # type: ignore[attr-defined]
        assert session.connector.limit == 100


async def test_aclose_closes_the_aiohttp_session(fake: FakeKlaviyo) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    async with fake.serve() as url:
        async with Klaviyo(KEY, base_url=url) as kl:
            await kl.stable.get_campaign(campaign_id)
            session = kl._http._transport.client  # type: ignore[attr-defined]
            assert isinstance(session, aiohttp.ClientSession)
            assert not session.closed
        assert session.closed
        assert kl._http.is_closed


@pytest.mark.parametrize("bad", [0, -1, 2.5, "10", True])
def test_max_connections_must_be_a_positive_whole_number(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_connections"):
        Klaviyo(KEY, max_connections=bad)


async def test_max_connections_with_an_injected_client_is_refused() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigurationError, match="max_connections"):
            Klaviyo(KEY, http_client=http, max_connections=10)


async def test_the_clients_it_builds_share_one_tls_context() -> None:
    # Loading the CA bundle cost ~20 ms of CPU per client: 200 accounts, 4 s.
    async with Klaviyo(KEY) as one, Klaviyo(KEY) as two:
        first, second = one._http._transport, two._http._transport
        assert isinstance(first, Transport) and isinstance(second, Transport)
        assert first.ssl_context is second.ssl_context
        assert first.ssl_context.verify_mode.name == "CERT_REQUIRED"


def test_importing_the_transport_makes_no_tls_context() -> None:
    code = (
        "import klaviyo_campaigns, klaviyo_campaigns._transport, threading;"
        "from klaviyo_campaigns import _tls; assert _tls._made is None;"
        "assert threading.active_count() == 1"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_tls_context_that_fails_is_raised_and_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_tls, "_made", None)
    failures = iter([ssl.SSLError("no CA bundle here")])

    def create_ssl_context() -> ssl.SSLContext:
        for failure in failures:
            raise failure
        return ssl.create_default_context()

    monkeypatch.setattr(httpx, "create_ssl_context", create_ssl_context)
    with pytest.raises(ssl.SSLError, match="no CA bundle"):
        _tls.context()
    made = _tls.context()
    assert made.verify_mode is ssl.CERT_REQUIRED
    assert _tls.context() is made
