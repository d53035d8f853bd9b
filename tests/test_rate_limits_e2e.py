"""The client's rate limiter against the fake enforcing Klaviyo's limits, over loopback HTTP.

The fake counts requests in fixed 1 s and 60 s windows per operation per key, as Klaviyo does;
``speedup`` shrinks both windows (and the client's limiter is given the same shrunken windows)
so that the steady limit binds within seconds. A 429 is counted by an httpx event hook on the
injected client: every answer the server sent, retried or not.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pool_helpers import TRANSPORTS, http_client

from klaviyo_campaigns import Klaviyo
from klaviyo_campaigns._generated.operations import STABLE_OPERATIONS, Operation
from klaviyo_campaigns._limits import WindowLimiter
from klaviyo_campaigns._paced import PacedLimiter
from klaviyo_campaigns.testing import FakeKlaviyo
from klaviyo_campaigns.testing.server import serve

KEY = "pk_test_limits_0123456789abcdef"
SPEEDUP = 50.0  # a 60 s window lasts 1.2 s, a 1 s window 20 ms


@dataclass
class Answers:
    """httpx response hook: every status the server sent, and when each request went out."""

    statuses: Counter[int] = field(default_factory=Counter)
    sent: list[float] = field(default_factory=list)

    async def on_request(self, request: httpx.Request) -> None:
        self.sent.append(time.monotonic())

    async def on_response(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1

    def hooks(self) -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
        return {"request": [self.on_request], "response": [self.on_response]}


@pytest.fixture
def fake() -> FakeKlaviyo:
    # validate=False: the fake's spec validation costs ~30 ms a request, which would make the
    # server, not the limiter, the bottleneck; request validation is tested elsewhere.
    return FakeKlaviyo(speedup=SPEEDUP, validate=False, seed=5)


def limiter(speedup: float = SPEEDUP) -> WindowLimiter:
    """The client's limiter with the fake's shrunken windows and its default margin."""
    return WindowLimiter(burst_window=1 / speedup, steady_window=60 / speedup)


async def run(
    kl: Klaviyo, call: Callable[[], Awaitable[object]], tasks: int
) -> tuple[float, list[object]]:
    started = time.monotonic()
    results = await asyncio.gather(*(call() for _ in range(tasks)))
    return time.monotonic() - started, results


def report(what: str, operation: Operation, tasks: int, elapsed: float, speedup: float) -> str:
    """Achieved rate against the rate the limits allow for ``tasks`` requests, and a check
    that the limits really bound (the run took at least as long as they require)."""
    steady_window = 60 / speedup
    floor = math.floor((tasks - 1) / operation.steady) * steady_window
    assert elapsed >= floor, "faster than the steady limit allows: the limiter did not bind"
    allowed = operation.steady / steady_window  # over many windows the steady limit binds
    achieved = tasks / elapsed
    return (
        f"\n{what}: {tasks} concurrent {operation.id} at speedup {speedup:g} in {elapsed:.2f} s; "
        f"achieved {achieved:.0f}/s of {allowed:.0f}/s allowed ({achieved / allowed:.0%}); "
        f"limits {operation.burst}/{1 / speedup:g} s and {operation.steady}/{steady_window:g} s"
    )


async def test_a_thousand_concurrent_gets_meet_no_429(fake: FakeKlaviyo) -> None:
    """In-process, so the limiter (not the event loop serving both ends) sets the pace."""
    [campaign_id] = fake.seed_campaigns(1)
    answers = Answers()
    async with (
        httpx.AsyncClient(transport=fake.transport(), event_hooks=answers.hooks()) as http,
        Klaviyo(KEY, base_url=fake.base_url, http_client=http, limiter=limiter()) as kl,
    ):
        elapsed, results = await run(kl, lambda: kl.stable.get_campaign(campaign_id), 1000)

    assert [r.data.id for r in results] == [campaign_id] * 1000  # type: ignore[attr-defined]
    assert answers.statuses == Counter({200: 1000})  # not one 429, so no retry either
    assert fake.counters.requests["get_campaign"] == 1000
    print(report("in-process", STABLE_OPERATIONS["get_campaign"], 1000, elapsed, SPEEDUP))


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_thousand_concurrent_gets_over_loopback_meet_no_429(transport: str) -> None:
    """Over real sockets, where a request reaches the server's fixed windows some time after
    the limiter let it go (connects, pool waits, one event loop serving both ends, other
    processes on the CPU). Slots timed by their send needed a margin wider than that jitter,
    and still met a few 429s in a thousand on a loaded machine; timed by their answers, they
    need none. Speedup 100: windows of 10 ms and 0.6 s, so loopback latency is a large part of
    a burst window, the case where send-timed slots fail. On both transports: aiohttp (the
    SDK's own client) and httpcore."""
    speedup = 100.0
    fake = FakeKlaviyo(speedup=speedup, validate=False, seed=5)
    [campaign_id] = fake.seed_campaigns(1)
    answers = Answers()
    async with (
        fake.serve() as url,
        http_client(
            transport, limits=httpx.Limits(), event_hooks=answers.hooks(), timeout=30
        ) as http,
        Klaviyo(KEY, base_url=url, http_client=http, limiter=limiter(speedup)) as kl,
    ):
        elapsed, results = await run(kl, lambda: kl.stable.get_campaign(campaign_id), 1000)

    assert [r.data.id for r in results] == [campaign_id] * 1000  # type: ignore[attr-defined]
    assert answers.statuses == Counter({200: 1000})  # not one 429, so no retry either
    assert fake.counters.requests["get_campaign"] == 1000
    print(
        report(f"loopback ({transport})", STABLE_OPERATIONS["get_campaign"], 1000, elapsed, speedup)
    )


def arrivals_recorded(app: Any, arrivals: list[float], clock: Callable[[], float]) -> Any:
    """`app`, noting the moment each API request reached it (on the fake's clock)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope.get("path", "").startswith("/api/"):
            arrivals.append(clock())
        await app(scope, receive, send)

    return wrapped


def assert_every_span_within(arrivals: list[float], limit: int, window: float) -> None:
    """No half-open span of `window` seconds, wherever it starts, holds more than `limit`."""
    times = sorted(arrivals)
    for i in range(len(times) - limit):
        span = times[i + limit] - times[i]
        assert span >= window, f"{limit + 1} arrivals within {span * 1e3:.2f} ms (< {window} s)"


@pytest.mark.parametrize("kind", [WindowLimiter, PacedLimiter])
async def test_arrivals_at_the_server_keep_every_span_within_both_limits(
    kind: type[WindowLimiter],
) -> None:
    """The span proof, for each limiter: arrival times recorded at the server over loopback,
    every span of each window's length checked (not only the fake's aligned windows)."""
    speedup = 100.0
    fake = FakeKlaviyo(speedup=speedup, validate=False, seed=5)
    [campaign_id] = fake.seed_campaigns(1)
    arrivals: list[float] = []
    answers = Answers()
    operation = STABLE_OPERATIONS["get_campaign"]
    async with (
        serve(arrivals_recorded(fake.app, arrivals, fake.clock.seconds)) as url,
        httpx.AsyncClient(event_hooks=answers.hooks(), timeout=30) as http,
        Klaviyo(
            KEY,
            base_url=url,
            http_client=http,
            limiter=kind(burst_window=1 / speedup, steady_window=60 / speedup),
        ) as kl,
    ):
        elapsed, _ = await run(kl, lambda: kl.stable.get_campaign(campaign_id), 400)

    assert answers.statuses == Counter({200: 400})
    assert len(arrivals) == 400
    assert_every_span_within(arrivals, operation.burst, 1 / speedup)
    assert_every_span_within(arrivals, operation.steady, 60 / speedup)
    print(report(f"span proof, {kind.__name__}", operation, 400, elapsed, speedup))


async def test_hundreds_of_concurrent_calls_on_one_client_all_return(fake: FakeKlaviyo) -> None:
    fake.limiter.enabled = False
    ids = fake.seed_campaigns(300)
    async with (
        httpx.AsyncClient(transport=fake.transport()) as http,
        Klaviyo(KEY, base_url=fake.base_url, http_client=http, limiter=limiter()) as kl,
    ):
        results = await asyncio.gather(*(kl.stable.get_campaign(i) for i in ids))
    assert [r.data.id for r in results] == ids
