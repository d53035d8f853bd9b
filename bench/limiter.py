"""4. Limiter: 1,000 concurrent calls through the default ``WindowLimiter`` against the fake
enforcing the spec's limits for ``GET /api/campaigns`` (10/s burst, 150/min steady).

Both sides are sped up by the same factor: the fake's ``speedup`` shrinks its fixed windows to
1/speedup s and 60/speedup s, and the client's ``WindowLimiter(burst_window=, steady_window=)``
is given the same lengths (its ``margin`` stays at the default 10 ms; the limiter times each
slot by its request's answer, so loopback latency, which does not shrink, counts against every
window: the speed-up is kept at x10, where it is a small part of the 6 s steady window, as a
real round trip is of 60 s). Achieved rate is taken after the first steady window's allowance
(sent at burst pace), against the steady limit ``steady / steady_window``. Extra wait per call
is the time from the earliest moment the limits allowed that send (given the sends before it)
to the send itself: the latency of the answer that held its slot, the margin, and how late the
limiter wakes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from klaviyo_campaigns import RateLimitError
from klaviyo_campaigns._generated.operations import STABLE_OPERATIONS
from klaviyo_campaigns._limits import Bucket, WindowLimiter

from . import progress
from .clients import FILTER, LIMITS, sdk
from .table import Row, summarize

CALLS = 1_000
SPEEDUP = 10.0
QUICK_SPEEDUP = 30.0  # --quick: a harness check, not numbers
GOAL = 0.98


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


def extra_waits(sent: list[float], start: float, limits: list[tuple[int, float]]) -> list[float]:
    """For each send, seconds after the earliest moment ``limits`` allowed it."""
    waits = []
    for i, at in enumerate(sent):
        earliest = start
        for limit, window in limits:
            if i >= limit:
                earliest = max(earliest, sent[i - limit] + window)
        waits.append(at - earliest)
    return waits


@dataclass(frozen=True)
class Run:
    """One run: achieved/allowed per steady window, extra waits, 429s, client CPU share."""

    ratios: list[float]
    waits: list[float]
    throttled: int
    cpu: float  # client process CPU seconds per wall second during the run


async def run_once(base_url: str, calls: int, speedup: float) -> Run:
    """Send ``calls`` concurrent calls through a ``WindowLimiter`` sped up like the fake."""
    operation = STABLE_OPERATIONS["get_campaigns"]
    burst_window, steady_window = 1.0 / speedup, 60.0 / speedup
    limiter = Recording(WindowLimiter(burst_window=burst_window, steady_window=steady_window))
    throttled = 0

    async def count(response: httpx.Response) -> None:
        nonlocal throttled
        throttled += response.status_code == 429

    http = httpx.AsyncClient(limits=LIMITS, timeout=30.0, event_hooks={"response": [count]})
    async with sdk(base_url, limiter=limiter, http=http) as kl:
        start, cpu = time.monotonic(), time.process_time()
        results = await asyncio.gather(
            *(kl.stable.get_campaigns(filter=FILTER) for _ in range(calls)),
            return_exceptions=True,
        )
        cpu = (time.process_time() - cpu) / (time.monotonic() - start)
    failures = [r for r in results if isinstance(r, BaseException)]
    if any(not isinstance(f, RateLimitError) for f in failures):
        raise next(f for f in failures if not isinstance(f, RateLimitError))
    sent, steady = limiter.sent, operation.steady
    allowed = steady / steady_window
    # Whole steady windows after the first (whose allowance goes at burst pace from the start):
    # within a window the limiter sends in bursts, so only whole windows compare with the limit.
    ratios = [
        steady / (sent[k + steady] - sent[k]) / allowed
        for k in range(steady, len(sent) - steady, steady)
    ]
    waits = extra_waits(sent, start, [(operation.burst, burst_window), (steady, steady_window)])
    return Run(ratios, waits, throttled, cpu)


async def measure(
    base_url: str, *, repeats: int, calls: int = CALLS, speedup: float = SPEEDUP
) -> list[Row]:
    """Achieved/allowed rate and p99 extra wait over ``repeats`` runs of ``calls`` calls."""
    runs = []
    for repeat in range(repeats):
        progress.note(f"run {repeat + 1}/{repeats} ({calls} calls)")
        runs.append(await run_once(base_url, calls, speedup))
    ratio = summarize([r for run in runs for r in run.ratios])
    waits = sorted(w for run in runs for w in run.waits)
    p99 = waits[int(0.99 * (len(waits) - 1))] * 1e3
    throttled = sum(run.throttled for run in runs)
    cpu = max(run.cpu for run in runs)
    return [
        Row(
            f"4. limiter, {calls} tasks vs fake at 10/s+150/min (x{speedup:g}): achieved / allowed",
            f"{ratio.median:.3f}",
            ratio.spread("{:.3f}"),
            f">= {GOAL}, 0 x 429",
            ratio.median >= GOAL and throttled == 0,
            f"{throttled} responses 429; spread over steady windows; client CPU {cpu:.0%}",
        ),
        Row(
            "   p99 extra wait per call (answer latency + margin 10 ms + wake-up lateness)",
            f"{p99:.1f} ms",
            detail=f"median {waits[len(waits) // 2] * 1e3:.1f} ms",
        ),
    ]
