"""The paced limiter: the window limiter's bound, each bucket's requests evenly spaced.

aiolimiter reads asyncio's loop clock, which no test can move, so these run on real time at a
small scale (windows of 0.1 s and 1 s). The loopback span proof, shared with the window
limiter, is in `test_rate_limits_e2e.py`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence

import pytest
from aiolimiter import AsyncLimiter

from klaviyo_campaigns import ConfigurationError, Klaviyo, PacedLimiter, WindowLimiter
from klaviyo_campaigns._limits import Bucket, Limiter

W1, W60, MARGIN = 0.1, 1.0, 0.005
BUCKET = Bucket("k:GET /api/campaigns", burst=10, steady=40)


def paced(share: float = 1.0) -> PacedLimiter:
    return PacedLimiter(share=share, burst_window=W1, steady_window=W60, margin=MARGIN)


def assert_within(sent: Sequence[float], limit: int, window: float) -> None:
    """No half-open span of `window` seconds holds more than `limit` of the `sent` times."""
    times = sorted(sent)
    for i in range(len(times) - limit):
        assert times[i + limit] - times[i] >= window, f"{limit + 1} sends within {window} s"


async def send(limiter: Limiter, bucket: Bucket, sent: list[float]) -> None:
    await limiter.acquire(bucket)
    sent.append(time.monotonic())
    limiter.release(bucket)


def test_aiolimiter_as_it_comes_admits_twice_the_limit_in_one_window() -> None:
    # Why the buckets are of one: AsyncLimiter(N, T) admits N at once after idle, then refills.
    async def run(limiter: AsyncLimiter, calls: int) -> list[float]:
        sent = []
        for _ in range(calls):
            await limiter.acquire()
            sent.append(time.monotonic())
        return sent

    n, window = 10, 0.2
    as_it_comes = asyncio.run(run(AsyncLimiter(n, window), 2 * n - 1))
    assert as_it_comes[-1] - as_it_comes[0] < window  # 2N - 1 within one window
    bucket_of_one = asyncio.run(run(AsyncLimiter(1, window / n), 2 * n))
    assert_within(bucket_of_one, n, window - 0.002)  # timer granularity, at most N per window


async def test_requests_are_evenly_spaced_and_within_both_windows() -> None:
    limiter = paced()
    sent: list[float] = []
    started = time.monotonic()
    await asyncio.gather(*(send(limiter, BUCKET, sent) for _ in range(30)))

    gaps = [b - a for a, b in itertools.pairwise(sent)]
    spacing = (W60 + MARGIN) / BUCKET.steady  # the steady window's spacing binds: 25 ms
    assert min(gaps) >= spacing - 0.002  # the loop's timer granularity
    assert_within(sent, BUCKET.burst, W1)
    assert_within(sent, BUCKET.steady, W60)
    # No burst: the 30th goes 29 spacings in, where the window limiter sends 10 at once.
    assert sent[-1] - started >= 29 * spacing - 0.01


async def test_a_steady_run_keeps_the_full_sustained_rate() -> None:
    # 90 requests: the window limiter needs two full steady windows for the last 10 as well.
    limiter = paced()
    sent: list[float] = []
    started = time.monotonic()
    await asyncio.gather(*(send(limiter, BUCKET, sent) for _ in range(90)))

    assert_within(sent, BUCKET.steady, W60)
    elapsed = sent[-1] - started
    ideal = 89 * (W60 + MARGIN) / BUCKET.steady
    assert elapsed >= ideal - 0.01
    assert ideal / elapsed >= 0.9  # wake-up lateness on a loaded machine


async def test_requests_in_flight_hold_their_slots_until_answered() -> None:
    limiter = paced()
    bucket = Bucket("k:GET /api/campaigns", burst=2, steady=100)
    await limiter.acquire(bucket)
    await limiter.acquire(bucket)  # both in flight, neither answered
    waiter = asyncio.create_task(limiter.acquire(bucket))
    await asyncio.sleep(0.3)  # three bursts windows, many spacings
    assert not waiter.done()  # however long they take: they may still be reaching the server

    limiter.release(bucket)
    answered = time.monotonic()
    await waiter
    assert time.monotonic() - answered >= W1 + MARGIN - 0.002  # timed by the answer


async def test_cancelled_waiters_take_no_slot_and_leave_the_queue_moving() -> None:
    limiter = paced()
    sent: list[float] = []
    tasks = [asyncio.create_task(send(limiter, BUCKET, sent)) for _ in range(10)]
    await asyncio.sleep(0.06)  # about three sent (one per 25 ms), the rest waiting
    for task in tasks[5:]:  # due at 125 ms and later: surely still waiting
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    assert all(t.cancelled() for t in tasks[5:])
    assert len(sent) == 5
    assert limiter._states[BUCKET.key].in_flight == 0  # no slot held for the cancelled
    await asyncio.wait_for(send(limiter, BUCKET, sent), 1.0)  # the lock is free
    assert_within(sent, BUCKET.burst, W1)


async def test_pause_holds_every_waiter() -> None:
    limiter = paced()
    sent: list[float] = []
    await send(limiter, BUCKET, sent)
    await limiter.pause(BUCKET, 0.3)
    paused = time.monotonic()
    await asyncio.gather(*(send(limiter, BUCKET, sent) for _ in range(3)))

    assert min(sent[1:]) >= paused + 0.3 - 0.002


async def test_share_paces_to_the_share_of_each_limit() -> None:
    limiter = paced(share=0.5)
    sent: list[float] = []
    await asyncio.gather(*(send(limiter, BUCKET, sent) for _ in range(25)))

    assert_within(sent, 5, W1)
    assert_within(sent, 20, W60)
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= (W60 + MARGIN) / 20 - 0.002


def test_the_window_limiter_stays_the_default() -> None:
    kl = Klaviyo("pk_test_paced_0123456789abcdef")
    assert type(kl.limiter) is WindowLimiter
    chosen = Klaviyo("pk_test_paced_0123456789abcdef", limiter=PacedLimiter(share=0.5))
    assert isinstance(chosen.limiter, PacedLimiter) and chosen.limiter.share == 0.5


@pytest.mark.parametrize("share", [0, -0.5, 1.01, float("nan"), float("inf"), True, "0.5", None])
def test_a_bad_share_is_a_configuration_error(share: object) -> None:
    with pytest.raises(ConfigurationError, match="share"):
        PacedLimiter(share=share)  # type: ignore[arg-type]
