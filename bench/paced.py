"""4b. Window versus paced limiter, against the fake enforcing ``GET /api/campaigns``'s limits
(10/s burst, 150/min steady), both sides sped up x20 (windows of 50 ms and 3 s).

Two loads, each run on both limiters, a full steady window apart so the fake's counts start
afresh:

- steady: calls arrive one by one at 80% of the steady limit for three steady windows;
- burst: 30 calls at once, then nothing.

Achieved / allowed is the rate of sends against the most the limits allow for that load: for
the steady load the steady limit (so 0.80 is all of it), for the burst the earliest schedule the
limits allow (10 at once, 10 one burst window later, 10 after another). Extra wait per call is
how long after the earliest moment the limits allowed it (given its arrival and the sends
before it) the call was sent. 429s are every 429 the server answered.

``python -m bench.paced`` runs just these rows (a fake server of its own, about 30 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import httpx

from klaviyo_campaigns import Klaviyo, RateLimitError
from klaviyo_campaigns._generated.operations import STABLE_OPERATIONS
from klaviyo_campaigns._limits import Bucket, WindowLimiter
from klaviyo_campaigns._paced import PacedLimiter

from . import progress
from .clients import FILTER, LIMITS, sdk
from .table import Row

SPEEDUP = 20.0
OPERATION = STABLE_OPERATIONS["get_campaigns"]
QUICK_SPEEDUP = 60.0  # --quick: windows of 17 ms and 1 s (a harness check, not numbers)
LOAD, STEADY_WINDOWS, BURST = 0.8, 3, 30


class Recording:
    """Wraps a limiter and records when each acquire returned (the moment of sending)."""

    def __init__(self, inner: WindowLimiter) -> None:
        self.inner = inner
        self.sent: list[float] = []

    async def acquire(self, bucket: Bucket) -> None:
        """Acquire from the wrapped limiter, then note the time."""
        await self.inner.acquire(bucket)
        self.sent.append(time.monotonic())

    def release(self, bucket: Bucket) -> None:
        """Pass through."""
        self.inner.release(bucket)

    async def pause(self, bucket: Bucket, seconds: float) -> None:
        """Pass through."""
        await self.inner.pause(bucket, seconds)


def windows(speedup: float) -> tuple[float, float]:
    """The burst and steady windows, in seconds, sped up by ``speedup``."""
    return 1 / speedup, 60 / speedup


def extra_waits(calls: list[float], sent: list[float], speedup: float = SPEEDUP) -> list[float]:
    """Each send's lateness after the earliest moment its arrival and the limits allowed."""
    burst_window, steady_window = windows(speedup)
    limits = [(OPERATION.burst, burst_window), (OPERATION.steady, steady_window)]
    waits = []
    for i, (called, at) in enumerate(zip(sorted(calls), sent, strict=True)):
        earliest = called
        for limit, window in limits:
            if i >= limit:
                earliest = max(earliest, sent[i - limit] + window)
        waits.append(max(0.0, at - earliest))
    return waits


@dataclass(frozen=True)
class Result:
    """One load on one limiter."""

    ratio: float
    waits: list[float]
    throttled: int

    def percentile(self, p: float) -> float:
        """The p-th percentile extra wait, in ms."""
        ordered = sorted(self.waits)
        return ordered[int(p * (len(ordered) - 1))] * 1e3


async def run(
    base_url: str, kind: type[WindowLimiter], load: str, speedup: float = SPEEDUP
) -> Result:
    """Run one load through one limiter; ``load`` is ``"steady"`` or ``"burst"``."""
    BURST_WINDOW, STEADY_WINDOW = windows(speedup)
    limiter = Recording(kind(burst_window=BURST_WINDOW, steady_window=STEADY_WINDOW))
    throttled = 0

    async def count(response: httpx.Response) -> None:
        nonlocal throttled
        throttled += response.status_code == 429

    calls: list[float] = []

    async def call(kl: Klaviyo) -> None:
        calls.append(time.monotonic())
        with contextlib.suppress(RateLimitError):  # counted by the hook; not retried here
            await kl.stable.get_campaigns(filter=FILTER)

    http = httpx.AsyncClient(limits=LIMITS, timeout=30.0, event_hooks={"response": [count]})
    async with sdk(base_url, limiter=limiter, http=http) as kl:
        if load == "burst":
            await asyncio.gather(*(call(kl) for _ in range(BURST)))
        else:
            interval = STEADY_WINDOW / (LOAD * OPERATION.steady)
            count_calls = round(STEADY_WINDOWS * LOAD * OPERATION.steady)
            started, tasks = time.monotonic(), []
            for n in range(count_calls):
                await asyncio.sleep(max(0.0, started + n * interval - time.monotonic()))
                tasks.append(asyncio.create_task(call(kl)))
            await asyncio.gather(*tasks)
    sent = limiter.sent
    if load == "burst":
        ideal = (BURST - 1) // OPERATION.burst * BURST_WINDOW
        ratio = ideal / (sent[-1] - min(calls))
    else:
        allowed = OPERATION.steady / STEADY_WINDOW
        ratio = (len(sent) - 1) / (sent[-1] - sent[0]) / allowed
    return Result(ratio, extra_waits(calls, sent, speedup), throttled)


async def measure(base_url: str, speedup: float = SPEEDUP) -> list[Row]:
    """The four rows: both loads on both limiters (the fake sped up by ``speedup`` too)."""
    steady_window = windows(speedup)[1]
    rows = []
    for load, what in (
        ("steady", f"steady load at {LOAD:.0%} of the limit"),
        ("burst", f"burst of {BURST} then idle"),
    ):
        for kind in (WindowLimiter, PacedLimiter):
            progress.note(f"{load} load, {kind.__name__}")
            await asyncio.sleep(steady_window + 0.1)  # the fake's windows start afresh
            result = await run(base_url, kind, load, speedup)
            rows.append(
                Row(
                    f"4b. {what}, {kind.__name__} (x{speedup:g}): achieved / allowed",
                    f"{result.ratio:.2f}",
                    goal="0 x 429",
                    met=result.throttled == 0,
                    detail=(
                        f"extra wait p50 {result.percentile(0.5):.1f} ms, "
                        f"p99 {result.percentile(0.99):.1f} ms; {result.throttled} x 429"
                    ),
                )
            )
    return rows


def main() -> None:
    """Run just these rows against a fake server of their own."""
    from .processes import fake_server
    from .table import render

    with fake_server(campaigns=1, rate_limits=True, speedup=SPEEDUP) as fake:
        print(render(asyncio.run(measure(fake.url))))


if __name__ == "__main__":
    main()
