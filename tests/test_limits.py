"""The window limiter: no span of a window's length ever holds more than the window's limit.

Most tests run on a virtual clock (`VirtualTime`): a sleeping task wakes only when the test moves
time, so send times are exact and the tests take no real time. One test runs on real time at a
small scale to show the same holds with asyncio's own timers.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import itertools
import math
import random
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import pytest

from klaviyo_campaigns import ConfigurationError, Klaviyo
from klaviyo_campaigns._headroom import RateLimitSnapshot, parse_rate_limit_headers
from klaviyo_campaigns._limits import (
    Bucket,
    Limiter,
    WindowLimiter,
    key_fingerprint,
    shared_limit,
)

MARGIN = 0.01


class VirtualTime:
    """A clock and a sleep for the limiter; time moves only in `run_until`."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `coro` as a task on this clock (kept here so it is not collected mid-wait)."""
        task = asyncio.create_task(coro)
        self.tasks.append(task)
        return task

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(delay, 0.0), next(self._seq), future))
        await future

    def pending(self) -> int:
        return sum(1 for *_, future in self._timers if not future.done())

    async def settle(self) -> None:
        # Let every task that can run, run: lock hand-overs take a few loop iterations each.
        for _ in range(400):
            await asyncio.sleep(0)

    async def run_until(self, deadline: float) -> None:
        """Fire timers in time order up to `deadline`, letting tasks run after each."""
        await self.settle()
        while self._timers:
            when, _, future = self._timers[0]
            if future.done():  # its sleeper was cancelled
                heapq.heappop(self._timers)
                continue
            if when > deadline:
                break
            heapq.heappop(self._timers)
            self.now = max(self.now, when)
            future.set_result(None)
            await self.settle()
        self.now = max(self.now, deadline)


def limiter_on(clock: VirtualTime, **kwargs: float) -> WindowLimiter:
    return WindowLimiter(margin=MARGIN, clock=clock, sleep=clock.sleep, **kwargs)


async def send_at(limiter: Limiter, bucket: Bucket, clock: VirtualTime, sent: list[float]) -> None:
    """One request answered the instant it is sent."""
    await limiter.acquire(bucket)
    sent.append(clock())
    limiter.release(bucket)


def assert_within(sent: Sequence[float], limit: int, window: float) -> None:
    """No half-open span of `window` seconds holds more than `limit` of the `sent` times."""
    times = sorted(sent)
    for i in range(len(times) - limit):
        span = times[i + limit] - times[i]
        assert span >= window, (
            f"{limit + 1} sends within {span:.4f} s (< {window} s): {times[i : i + limit + 1]}"
        )


def ideal_schedule(
    arrivals: Sequence[float], burst: int, steady: int, w1: float, w60: float
) -> list[float]:
    """Earliest send times, FIFO, that keep N + 1 sends at least a window (+ margin) apart."""
    sent: list[float] = []
    for arrival in arrivals:
        t = arrival if not sent else max(arrival, sent[-1])
        if len(sent) >= burst:
            t = max(t, sent[-burst] + w1 + MARGIN)
        if len(sent) >= steady:
            t = max(t, sent[-steady] + w60 + MARGIN)
        sent.append(t)
    return sent


# --- the bound, for many concurrent acquirers -----------------------------------------------


async def test_300_concurrent_acquirers_never_exceed_either_window() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=40)
    sent: list[float] = []
    tasks = [clock.start(send_at(limiter, bucket, clock, sent)) for _ in range(300)]

    await clock.run_until(1000.0)

    assert all(task.done() for task in tasks)
    assert len(sent) == 300
    assert_within(sent, 10, 1.0)
    assert_within(sent, 40, 60.0)


async def test_sends_as_early_as_the_limits_allow() -> None:
    # Efficiency: every send happens at the first instant both windows allow it, so the
    # achieved rate is the allowed rate (up to the margin).
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=40)
    sent: list[float] = []
    for _ in range(300):
        clock.start(send_at(limiter, bucket, clock, sent))

    await clock.run_until(1000.0)

    assert sent == pytest.approx(ideal_schedule([0.0] * 300, 10, 40, 1.0, 60.0), abs=1e-9)
    # 40 per minute, each minute 60 s + margin long: the 281st send opens the 8th minute.
    assert sent[280] == pytest.approx(7 * (60.0 + MARGIN))
    assert (280 / sent[280]) / (40 / 60) >= 0.98


async def test_burst_alone_lets_exactly_burst_per_second() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=1000)
    sent: list[float] = []
    for _ in range(35):
        clock.start(send_at(limiter, bucket, clock, sent))

    await clock.run_until(100.0)

    step = 1.0 + MARGIN
    assert sent == pytest.approx([i // 10 * step for i in range(35)])


@pytest.mark.parametrize("seed", range(12))
async def test_random_arrivals_and_limits_keep_the_bound_fifo_and_no_idle_time(seed: int) -> None:
    # Property test over seeds: arbitrary arrival times and limits; sends stay in arrival
    # order, never exceed either window, and never wait longer than the limits require.
    rng = random.Random(seed)
    burst = rng.randint(1, 12)
    steady = rng.randint(burst, 60)
    w1, w60 = rng.choice([(1.0, 60.0), (0.5, 5.0), (2.0, 7.0)])
    arrivals = sorted(rng.uniform(0, 40) for _ in range(rng.randint(20, 150)))
    clock = VirtualTime()
    limiter = limiter_on(clock, burst_window=w1, steady_window=w60)
    bucket = Bucket("k:POST /api/campaigns", burst=burst, steady=steady)
    order: list[int] = []
    sent: list[float] = []

    async def client(i: int) -> None:
        await limiter.acquire(bucket)
        order.append(i)
        sent.append(clock())
        limiter.release(bucket)

    for i, arrival in enumerate(arrivals):
        await clock.run_until(arrival)
        clock.start(client(i))
    await clock.run_until(10_000.0)

    assert order == list(range(len(arrivals)))
    assert_within(sent, burst, w1)
    assert_within(sent, steady, w60)
    assert sent == pytest.approx(ideal_schedule(arrivals, burst, steady, w1, w60), abs=1e-9)


async def test_margin_widens_every_span() -> None:
    clock = VirtualTime()
    limiter = WindowLimiter(margin=0.05, clock=clock, sleep=clock.sleep)
    bucket = Bucket("k:GET /api/campaigns", burst=2, steady=100)
    sent: list[float] = []
    for _ in range(3):
        clock.start(send_at(limiter, bucket, clock, sent))

    await clock.run_until(10.0)

    assert sent == pytest.approx([0.0, 0.0, 1.05])


async def test_next_slot_reports_when_the_window_opens() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=2, steady=100)
    assert limiter.next_slot(bucket) == 0.0
    await limiter.acquire(bucket)
    clock.now = 0.25
    await limiter.acquire(bucket)
    assert limiter.next_slot(bucket) == math.inf  # both in flight: it depends on their answers
    limiter.release(bucket)
    clock.now = 0.5
    limiter.release(bucket)

    assert limiter.next_slot(bucket) == pytest.approx(1.25 + MARGIN)


# --- requests in flight: slots are timed by their answers --------------------------------------


def assert_arrivals_within(spans: Sequence[tuple[float, float]], limit: int, window: float) -> None:
    """Wherever in its (sent, answered) span each request reached the server, no half-open span
    of `window` seconds held more than `limit` arrivals: no such span meets more than `limit`
    of the request spans. The most it meets is just after one of them enters it."""
    for sent, _ in spans:
        start = sent - window + 1e-9
        met = [(s, a) for s, a in spans if s < start + window and a >= start]
        assert len(met) <= limit, f"{len(met)} requests may arrive within {window} s: {met}"


async def test_requests_in_flight_hold_their_slots_until_answered() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=2, steady=100)
    await limiter.acquire(bucket)
    await limiter.acquire(bucket)  # two in flight, neither answered
    sent: list[float] = []
    clock.start(send_at(limiter, bucket, clock, sent))
    await clock.run_until(30.0)
    assert sent == []  # however long they take: they may still be reaching the server
    assert clock.pending() == 0  # waiting for an answer, not polling

    limiter.release(bucket)  # answered at 30: its slot ages out one window (+ margin) later
    await clock.run_until(100.0)

    assert sent == [pytest.approx(31.0 + MARGIN)]


async def test_a_slow_answer_holds_the_window_from_when_it_came() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=1, steady=100)
    await limiter.acquire(bucket)  # sent at 0, answered at 0.75
    await clock.run_until(0.75)
    limiter.release(bucket)
    sent: list[float] = []
    clock.start(send_at(limiter, bucket, clock, sent))
    await clock.run_until(100.0)

    # Timed by its send, the next could go at 1.01; it may have arrived as late as 0.75.
    assert sent == [pytest.approx(1.75 + MARGIN)]


@pytest.mark.parametrize("seed", range(10))
async def test_random_latencies_keep_every_possible_arrival_within_the_limits(seed: int) -> None:
    # Property test: requests take random times to answer (some far longer than a window);
    # wherever in its flight each one reached the server, no window held more than the limit.
    rng = random.Random(seed)
    burst = rng.randint(1, 8)
    steady = rng.randint(burst, 40)
    w1, w60 = 1.0, rng.choice([5.0, 60.0])
    clock = VirtualTime()
    limiter = limiter_on(clock, burst_window=w1, steady_window=w60)
    bucket = Bucket("k:GET /api/campaigns", burst=burst, steady=steady)
    spans: list[tuple[float, float]] = []

    async def request(latency: float) -> None:
        await limiter.acquire(bucket)
        sent = clock()
        try:
            await clock.sleep(latency)
        finally:
            spans.append((sent, clock()))
            limiter.release(bucket)

    tasks = []
    for _ in range(rng.randint(30, 120)):
        await clock.run_until(clock() + rng.expovariate(4.0))
        latency = rng.choice([0.0, rng.uniform(0, 0.3), rng.uniform(0, 3.0)])
        tasks.append(clock.start(request(latency)))
    await clock.run_until(100_000.0)

    assert all(task.done() for task in tasks)
    assert len(spans) == len(tasks)
    assert_arrivals_within(spans, burst, w1)
    assert_arrivals_within(spans, steady, w60)


async def test_a_cancelled_request_releases_when_cancelled() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=1, steady=100)

    async def request() -> None:
        await limiter.acquire(bucket)
        try:
            await clock.sleep(50.0)
        finally:
            limiter.release(bucket)

    task = clock.start(request())
    await clock.run_until(2.0)
    task.cancel()
    await clock.run_until(2.0)
    sent: list[float] = []
    clock.start(send_at(limiter, bucket, clock, sent))
    await clock.run_until(100.0)

    assert sent == [pytest.approx(3.0 + MARGIN)]


def test_release_without_acquire_is_an_error() -> None:
    limiter = WindowLimiter()
    with pytest.raises(RuntimeError, match="without a matching acquire"):
        limiter.release(Bucket("k:GET /api/campaigns", burst=1, steady=1))


# --- cancellation ---------------------------------------------------------------------------


async def test_cancelled_waiters_take_no_slot_and_leave_the_queue_moving() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=2, steady=100)
    sent: dict[str, float] = {}

    async def client(name: str) -> None:
        await limiter.acquire(bucket)
        sent[name] = clock()
        limiter.release(bucket)

    tasks = {name: clock.start(client(name)) for name in "abcdefg"}
    await clock.run_until(0.5)
    assert sent == {"a": 0.0, "b": 0.0}
    # c is the head, asleep until the window opens; d waits for the lock; g is last.
    for name in "cdg":
        tasks[name].cancel()
    await clock.run_until(100.0)

    step = 1.0 + MARGIN
    assert sent == pytest.approx({"a": 0.0, "b": 0.0, "e": step, "f": step})
    assert all(tasks[name].cancelled() for name in "cdg")
    assert clock.pending() == 0


async def test_after_mass_cancellation_exactly_n_per_window_still_go() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=40)
    sent: list[float] = []
    tasks = [clock.start(send_at(limiter, bucket, clock, sent)) for _ in range(200)]
    await clock.run_until(2.5)  # 30 sent, the rest waiting
    rng = random.Random(7)
    cancelled = [task for task in tasks if not task.done() and rng.random() < 0.5]
    for task in cancelled:
        task.cancel()
    await clock.run_until(10_000.0)

    assert len(sent) == 200 - len(cancelled)
    assert_within(sent, 10, 1.0)
    assert_within(sent, 40, 60.0)
    # No slot lost to the cancelled: the survivors go on the same ideal schedule.
    assert sent == pytest.approx(ideal_schedule([0.0] * len(sent), 10, 40, 1.0, 60.0), abs=1e-9)


async def test_cancelling_the_only_waiter_leaves_the_bucket_usable() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=1, steady=100)
    await limiter.acquire(bucket)
    limiter.release(bucket)
    waiter = asyncio.create_task(limiter.acquire(bucket))
    await clock.run_until(0.5)
    waiter.cancel()
    await clock.run_until(0.6)

    await clock.run_until(2.0)
    sent: list[float] = []
    task = clock.start(send_at(limiter, bucket, clock, sent))
    await clock.run_until(2.0)

    assert task.done()
    assert sent == [2.0]  # the cancelled waiter took nothing; the lock is free


# --- pause ----------------------------------------------------------------------------------


async def test_pause_holds_every_waiter_and_new_arrivals() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=1000)
    sent: list[float] = []
    for _ in range(10):
        clock.start(send_at(limiter, bucket, clock, sent))
    await clock.run_until(0.0)
    assert len(sent) == 10
    for _ in range(15):  # waiting for the next second
        clock.start(send_at(limiter, bucket, clock, sent))
    await clock.run_until(0.3)

    await limiter.pause(bucket, 5.0)  # while the head sleeps until 1.01
    await clock.run_until(2.0)
    for _ in range(5):  # arrive during the pause
        clock.start(send_at(limiter, bucket, clock, sent))
    await clock.run_until(100.0)

    later = sent[10:]
    assert later == pytest.approx([5.3] * 10 + [5.3 + 1.0 + MARGIN] * 10)


async def test_a_shorter_pause_does_not_shorten_a_longer_one() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=1000)
    await limiter.pause(bucket, 3.0)
    await limiter.pause(bucket, 1.0)
    sent: list[float] = []
    clock.start(send_at(limiter, bucket, clock, sent))
    await clock.run_until(100.0)

    assert sent == [3.0]


async def test_pause_of_one_bucket_leaves_others_alone() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    paused = Bucket("k:GET /api/campaigns", burst=10, steady=1000)
    other = Bucket("k:GET /api/campaigns/{id}", burst=10, steady=1000)
    await limiter.pause(paused, 3.0)
    sent_paused: list[float] = []
    sent_other: list[float] = []
    clock.start(send_at(limiter, paused, clock, sent_paused))
    clock.start(send_at(limiter, other, clock, sent_other))
    await clock.run_until(100.0)

    assert sent_paused == [3.0]
    assert sent_other == [0.0]


# --- buckets --------------------------------------------------------------------------------


async def test_buckets_of_different_keys_and_endpoints_are_independent() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    buckets = [
        Bucket.for_endpoint("pk_one", "GET", "/api/campaigns", burst=3, steady=100),
        Bucket.for_endpoint("pk_two", "GET", "/api/campaigns", burst=3, steady=100),
        Bucket.for_endpoint("pk_one", "POST", "/api/campaigns", burst=3, steady=100),
    ]
    sent: dict[int, list[float]] = {i: [] for i in range(len(buckets))}
    for i, bucket in enumerate(buckets):
        for _ in range(4):
            clock.start(send_at(limiter, bucket, clock, sent[i]))
    await clock.run_until(100.0)

    for times in sent.values():
        assert times == pytest.approx([0.0, 0.0, 0.0, 1.0 + MARGIN])


async def test_one_endpoint_shares_one_budget_whatever_its_limits() -> None:
    # Two operations on one endpoint (stable and .pre) share the log; each honours its limit.
    clock = VirtualTime()
    limiter = limiter_on(clock)
    strict = Bucket("k:GET /api/campaigns/{id}/tags", burst=3, steady=60)
    loose = Bucket("k:GET /api/campaigns/{id}/tags", burst=10, steady=150)
    sent: list[float] = []
    for bucket in [loose] * 3 + [strict]:
        clock.start(send_at(limiter, bucket, clock, sent))
    await clock.run_until(100.0)

    assert sent == pytest.approx([0.0, 0.0, 0.0, 1.0 + MARGIN])


def test_bucket_key_names_the_api_key_without_containing_it() -> None:
    api_key = "pk_0123456789abcdef0123456789abcdef01"
    bucket = Bucket.for_endpoint(api_key, "get", "/api/campaigns", burst=10, steady=150)

    assert bucket.key == f"{key_fingerprint(api_key)}:GET /api/campaigns"
    assert api_key not in repr(bucket)
    assert api_key[3:] not in repr(bucket)
    assert len(key_fingerprint(api_key)) == 16
    assert key_fingerprint(api_key) != key_fingerprint(api_key + "x")


def test_bucket_rejects_limits_below_one() -> None:
    with pytest.raises(ValueError):
        Bucket("k", burst=0, steady=10)
    with pytest.raises(ValueError):
        Bucket("k", burst=10, steady=0)


def test_window_limiter_is_a_limiter() -> None:
    limiter: Limiter = WindowLimiter()
    assert "WindowLimiter(" in repr(limiter)


# --- real time ------------------------------------------------------------------------------


async def test_real_time_small_scale_keeps_the_bound_and_the_rate() -> None:
    # Windows scaled down 10x and 60x: 10 per 0.1 s and 40 per 1 s; 90 tasks take ~2 s.
    w1, w60, margin = 0.1, 1.0, 0.005
    limiter = WindowLimiter(burst_window=w1, steady_window=w60, margin=margin)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=40)
    sent: list[float] = []

    async def client() -> None:
        await limiter.acquire(bucket)
        sent.append(time.monotonic())  # no await in between: the limiter's own time
        limiter.release(bucket)

    # A full garbage collection mid-run is a pause of its own (a tenth of a second or more
    # once the whole suite's objects are alive), not the limiter's lateness: none during it.
    gc.collect()
    gc.disable()
    try:
        start = time.monotonic()
        await asyncio.gather(*(client() for _ in range(90)))
    finally:
        gc.enable()

    times = [t - start for t in sent]
    assert_within(times, 10, w1)
    assert_within(times, 40, w60)
    # The 81st send can go no earlier than two steady windows (and margins) in.
    ideal_last = 2 * (w60 + margin)
    assert times[-1] >= ideal_last
    assert ideal_last / times[-1] >= 0.98


# --- a share of the quota ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "share", "expected"),
    [
        (10, 0.5, 5),
        (150, 0.5, 75),
        (10, 0.33, 3),  # 3.3: down, never above the share
        (150, 0.34, 51),
        (100, 0.29, 29),  # 28.999... in floating point: still 29
        (3, 0.5, 1),
        (3, 0.1, 1),  # 0.3: at least one request per window
        (10, 1.0, 10),
    ],
)
def test_a_share_rounds_down_and_keeps_one_per_window(
    limit: int, share: float, expected: int
) -> None:
    assert shared_limit(limit, share) == expected
    bucket = Bucket("k", burst=limit, steady=limit).scaled(share)
    assert (bucket.burst, bucket.steady) == (expected, expected)


@pytest.mark.parametrize("share", [0, -0.1, 1.5, math.nan, math.inf, True, "0.5", None])
def test_a_bad_share_is_a_configuration_error_naming_it(share: object) -> None:
    with pytest.raises(ConfigurationError, match="share"):
        WindowLimiter(share=share)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="rate_share"):
        Klaviyo("pk_test_share_0123456789abcdef", rate_share=share)  # type: ignore[arg-type]


def test_a_share_is_given_once() -> None:
    with pytest.raises(ConfigurationError, match="one of them"):
        Klaviyo("pk_test_share_0123456789abcdef", rate_share=0.5, limiter=WindowLimiter(share=0.5))
    Klaviyo("pk_test_share_0123456789abcdef", rate_share=0.5, limiter=WindowLimiter())


async def test_a_share_holds_every_span_to_its_part_of_each_limit() -> None:
    clock = VirtualTime()
    limiter = WindowLimiter(share=0.5, margin=MARGIN, clock=clock, sleep=clock.sleep)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=40)
    sent: list[float] = []
    for _ in range(100):
        clock.start(send_at(limiter, bucket, clock, sent))

    await clock.run_until(1000.0)

    assert len(sent) == 100
    assert_within(sent, 5, 1.0)
    assert_within(sent, 20, 60.0)
    assert sent == pytest.approx(ideal_schedule([0.0] * 100, 5, 20, 1.0, 60.0), abs=1e-9)


# --- the server's count (RateLimit-* headers) ---------------------------------------------------


def report(remaining: int, reset: float, limit: int = 40) -> RateLimitSnapshot:
    return RateLimitSnapshot(limit, remaining, reset, received_at=0.0, whole_seconds=False)


def test_headers_parse_into_a_snapshot() -> None:
    headers = {"RateLimit-Limit": "150", "RateLimit-Remaining": "42", "RateLimit-Reset": "17"}
    snapshot = parse_rate_limit_headers(headers, now=100.0)
    assert snapshot == RateLimitSnapshot(150, 42, 17.0, 100.0, whole_seconds=True)
    assert snapshot is not None and snapshot.resets_at == 117.0 and snapshot.used == 108
    listed = {**headers, "RateLimit-Limit": "150, 150;w=60", "RateLimit-Reset": "0.250"}
    parsed = parse_rate_limit_headers(listed, now=0.0)
    assert parsed is not None and (parsed.limit, parsed.reset, parsed.whole_seconds) == (
        150,
        0.25,
        False,
    )
    assert parse_rate_limit_headers({"Retry-After": "3"}, now=0.0) is None  # a 429
    assert parse_rate_limit_headers({**headers, "RateLimit-Remaining": "lots"}, now=0.0) is None
    assert parse_rate_limit_headers({**headers, "RateLimit-Limit": "0"}, now=0.0) is None


async def adapting_run(
    limiter: WindowLimiter,
    clock: VirtualTime,
    bucket: Bucket,
    calls: int,
    server: Callable[[float], RateLimitSnapshot],
    sent: list[float],
    until: float = 1000.0,
) -> None:
    """`calls` requests answered at once, each answer carrying the report `server(now)`."""

    async def call() -> None:
        await limiter.acquire(bucket)
        sent.append(clock())
        limiter.release(bucket)
        limiter.observe(bucket, server(clock()))

    for _ in range(calls):
        clock.start(call())
    await clock.run_until(until)


async def test_a_client_alone_is_not_slowed_by_the_reports() -> None:
    # The server counts exactly this client's requests: the burst goes as without reports.
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=40)
    sent: list[float] = []

    def server(now: float) -> RateLimitSnapshot:
        window = math.floor(now / 60.0)
        mine = sum(1 for t in sent if math.floor(t / 60.0) == window)
        return report(40 - mine, (window + 1) * 60.0 - now)

    await adapting_run(limiter, clock, bucket, 100, server, sent)

    assert not limiter.shared(bucket)
    assert sent == pytest.approx(ideal_schedule([0.0] * 100, 10, 40, 1.0, 60.0), abs=1e-9)


async def test_when_others_draw_the_bucket_spreads_what_is_left_and_leaves_them_room() -> None:
    # Someone else has sent 2 a second since the window began and goes on at that rate.
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=40)
    sent: list[float] = []
    others_rate = 0.25  # per second: 15 of the 40 in a window

    def server(now: float) -> RateLimitSnapshot:
        start = math.floor(now / 60.0) * 60.0
        mine = sum(1 for t in sent if t >= start)
        others = math.floor(others_rate * (now - start))
        return report(max(0, 40 - mine - others), start + 60.0 - now)

    await clock.run_until(20.0)
    limiter.observe(bucket, server(clock()))  # an answer at 20 s: 5 used, none of them ours
    assert limiter.shared(bucket)
    await adapting_run(limiter, clock, bucket, 60, server, sent, until=59.999)

    # Unadapted, 10 would have gone at 20 s, 10 more a second later and so on up to 40 (35 are
    # left). Adapted: the others' 10 more by the window's end are left to them, and the rest is
    # spread evenly, never faster than the steady average.
    assert len(sent) + math.floor(others_rate * 60.0) <= 40
    assert len(sent) >= 20  # and most of it is used
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 60.0 / 40 - 1e-9


async def test_an_opening_burst_of_others_is_not_taken_for_their_rate() -> None:
    # Someone else sends 10 at the start of every window and nothing more. In the first window
    # they are seen in, that is all there is to go by (their rate over a quarter window, which
    # leaves nothing here); from the next on, the bucket expects what they drew in the window
    # before and takes most of the other 30.
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=40)
    sent: list[float] = []

    def server(now: float) -> RateLimitSnapshot:
        start = math.floor(now / 60.0) * 60.0
        mine = sum(1 for t in sent if t >= start)
        return report(max(0, 40 - mine - 10), start + 60.0 - now)

    await clock.run_until(1.0)
    limiter.observe(bucket, server(clock()))
    await adapting_run(limiter, clock, bucket, 200, server, sent, until=299.0)

    per_window = [sum(1 for t in sent if w * 60.0 <= t < (w + 1) * 60.0) for w in range(5)]
    assert all(n <= 30 for n in per_window)  # never into the others' 10
    assert min(per_window[1:]) >= 24, per_window  # and most of the rest


async def test_nothing_goes_once_the_server_says_nothing_remains() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=40)
    limiter.observe(bucket, report(remaining=0, reset=12.5))
    sent: list[float] = []
    clock.start(send_at(limiter, bucket, clock, sent))
    await clock.run_until(100.0)

    assert sent == [pytest.approx(12.5 + 0.001)]  # the window's end, to the reset's precision


async def test_an_older_report_overtaken_by_a_newer_one_is_ignored() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=40)
    limiter.observe(bucket, report(remaining=0, reset=30.0))
    limiter.observe(bucket, report(remaining=5, reset=30.0))  # same window, counted less: older
    assert limiter.next_slot(bucket) == pytest.approx(30.001)
    limiter.observe(bucket, report(remaining=40, reset=-30.0))  # the window before: older still
    assert limiter.next_slot(bucket) == pytest.approx(30.001)


async def test_without_adapt_reports_change_nothing() -> None:
    clock = VirtualTime()
    limiter = WindowLimiter(adapt=False, margin=MARGIN, clock=clock, sleep=clock.sleep)
    bucket = Bucket("k:GET /api/campaigns", burst=10, steady=40)
    limiter.observe(bucket, report(remaining=0, reset=30.0))
    assert limiter.next_slot(bucket) == 0.0
    assert not limiter.shared(bucket)
