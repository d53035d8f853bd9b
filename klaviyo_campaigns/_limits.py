"""Client-side rate limiting: the `Limiter` protocol and the in-process `WindowLimiter`.

Klaviyo limits each endpoint per API key in fixed windows of 1 s (burst) and 60 s (steady) whose
alignment the client cannot see, so a client is safe only if no span of a window's length ever
holds more than that window's limit of *arrivals at Klaviyo*. The client cannot see arrivals
either, only that each one falls between the moment it let the request go (`acquire`) and the
moment the answer came back (`release`). So every request holds a slot from `acquire` to
`release`, and the slot is timed by its release: a request may go only while fewer than N
requests of the bucket are in flight or were answered within the last window (plus a margin).

Why that bound is exact whatever the network does: if N + 1 arrivals fell in one window, take
the last of them to be let go, at `t`; every other one arrived after `t - W`, so was answered
after `t - W` (an answer follows its arrival) and was sent before `t`: N requests that were in
flight or answered within one window of `t`, which the rule forbids. Transit delay, pool waits,
a server reading requests late or a loaded event loop cannot break it. Timing slots from their
send time instead (as aiolimiter and most limiters do) is only as safe as the margin is wider
than the jitter between send and arrival: over loopback on a loaded machine that jitter reached
tens of milliseconds and let a few requests in a thousand meet a 429.

The price is one round trip per window: a bucket sends at most N per (window + latency + margin)
rather than N per window; with Klaviyo's limits the steady window binds in long runs, where that
costs latency / 60 s. Within that bound `WindowLimiter` sends as early as it may, so a burst goes
at once; `PacedLimiter` (in `_paced.py`) keeps the same bound and spaces the requests evenly.

Both take a `share` of every limit (for an account whose quota other integrations use too) and
adapt to the server's own count (`RateLimit-*` headers, see `_headroom.py`) through `observe`.

A `Limiter` is anything with `acquire`, `release` and `pause`; a shared, multi-process
implementation (Redis) replaces `WindowLimiter` behind the same three methods.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from ._headroom import Headroom, RateLimitSnapshot
from .errors import ConfigurationError

__all__ = [
    "AdaptingLimiter",
    "Bucket",
    "Limiter",
    "WindowLimiter",
    "check_share",
    "shared_limit",
]


@dataclass(frozen=True, slots=True)
class Bucket:
    """One rate-limit bucket: an endpoint's limits for one API key.

    `key` names the bucket (a hash of the API key plus the endpoint) and never contains the key
    itself; build it with `Bucket.for_endpoint`. Requests whose buckets share a `key` share one
    budget, each checked against its own `burst` and `steady`.
    """

    key: str
    burst: int  # requests per burst window (1 s)
    steady: int  # requests per steady window (60 s)

    def __post_init__(self) -> None:
        if self.burst < 1 or self.steady < 1:
            raise ValueError(
                f"limits must be at least 1, got burst={self.burst}, steady={self.steady}"
            )

    @classmethod
    def for_endpoint(
        cls, api_key: str, method: str, path: str, *, burst: int, steady: int
    ) -> Bucket:
        """The bucket of `method path` (a path template such as `/api/campaigns/{id}`) for a key.

        Keyed by endpoint rather than by operation id, so an endpoint reached through both the
        stable and the `.pre` revision shares one budget: never above the limit if Klaviyo counts
        them together, at worst a little slower if it counts them apart.
        """
        return cls(f"{key_fingerprint(api_key)}:{method.upper()} {path}", burst, steady)

    def scaled(self, share: float) -> Bucket:
        """This bucket with `share` of each limit (see `shared_limit`)."""
        if share == 1.0:
            return self
        return Bucket(self.key, shared_limit(self.burst, share), shared_limit(self.steady, share))


def check_share(share: object, name: str = "share") -> float:
    """`share` as a float in (0, 1], or a `ConfigurationError` naming the argument."""
    if isinstance(share, bool) or not isinstance(share, int | float):
        raise ConfigurationError(f"{name} must be a number in (0, 1], got {share!r}")
    if not (math.isfinite(share) and 0 < share <= 1):
        raise ConfigurationError(f"{name} must be more than 0 and at most 1, got {share!r}")
    return float(share)


def shared_limit(limit: int, share: float) -> int:
    """`share` of `limit`, rounded down (never above the share), and at least 1.

    The tolerance keeps a product that floating point puts just under a whole number (0.29 * 100
    is 28.999...) from losing a request; it is far below one request of any real limit.
    """
    return max(1, math.floor(limit * share + 1e-9))


def key_fingerprint(api_key: str) -> str:
    """A short, stable, non-reversible name for an API key (16 hex digits of its SHA-256)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


class Limiter(Protocol):
    """Decides when a request may be sent. Implementations must be safe to share across tasks.

    Used like a semaphore: `await acquire(bucket)` before a request goes out, then
    `release(bucket)` exactly once when its answer has arrived or it failed (in a `finally`).
    """

    async def acquire(self, bucket: Bucket) -> None:
        """Wait until one request may be sent in `bucket`, and count it as in flight.

        A task cancelled while waiting takes nothing: no slot is counted for it.
        """
        ...

    def release(self, bucket: Bucket) -> None:
        """One request of `bucket` acquired earlier has been answered (or failed): from now on
        it cannot reach the server any more, and its slot ages out one window from now."""
        ...

    async def pause(self, bucket: Bucket, seconds: float) -> None:
        """Send nothing in `bucket` for `seconds` (the server said 429 with this Retry-After)."""
        ...


class AdaptingLimiter(Limiter, Protocol):
    """A `Limiter` that also reads the server's count: the client hands it every report."""

    def observe(self, bucket: Bucket, report: RateLimitSnapshot) -> None:
        """The server's `RateLimit-*` headers on an answer in `bucket` (after its `release`)."""
        ...


@dataclass(slots=True)
class _BucketState:
    answered: list[float] = field(default_factory=list)  # release times, ascending
    in_flight: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # FIFO: its holder is the next to send
    released: asyncio.Event = field(default_factory=asyncio.Event)  # set by every release
    paused_until: float = float("-inf")
    headroom: Headroom | None = None  # None while not adapting


class WindowLimiter:
    """In-process limiter enforcing both a bucket's burst and steady limit over any span.

    Waiters are served first come, first served: the head of a bucket's queue sleeps until the
    exact moment the next slot opens, or until a release if in-flight requests hold every slot
    (no polling), then counts its request and hands over.

    `burst_window` and `steady_window` are the window lengths in seconds (1 and 60; tests shrink
    them). `margin` widens every span checked; it covers a server that reads a request after the
    client stopped waiting for it (a timeout or a cancelled task releases at once) and timer
    rounding. Transit delay and jitter need no margin: slots are timed by their answers.
    `clock` and `sleep` default to `time.monotonic` and `asyncio.sleep`.

    `share` (0 < share <= 1) uses at most that fraction of each limit, rounded down and at least
    one request per window, leaving the rest of the account's quota to other integrations.
    With `adapt` (the default), the server's `RateLimit-*` reports (`observe`) slow a bucket
    whose quota someone else is drawing on to fit what is left (see `_headroom.py`).
    """

    def __init__(
        self,
        *,
        share: float = 1.0,
        adapt: bool = True,
        burst_window: float = 1.0,
        steady_window: float = 60.0,
        margin: float = 0.01,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if burst_window <= 0 or steady_window <= 0 or margin < 0:
            raise ValueError("windows must be positive and the margin not negative")
        self.share = check_share(share)
        self.adapt = adapt
        self._burst_window = burst_window
        self._steady_window = steady_window
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._states: dict[str, _BucketState] = {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(share={self.share}, burst_window={self._burst_window}, "
            f"steady_window={self._steady_window}, margin={self._margin}, "
            f"buckets={len(self._states)})"
        )

    async def acquire(self, bucket: Bucket) -> None:
        """Wait (FIFO per bucket) until a request may be sent in `bucket`, then count it."""
        state = self._state(bucket)
        async with state.lock:
            await self._until_open(state, bucket.scaled(self.share))
            self._count(state)

    def observe(self, bucket: Bucket, report: RateLimitSnapshot) -> None:
        """The server's count for `bucket`'s steady window (its `RateLimit-*` headers).

        Re-timed to this limiter's clock; ignored unless `adapt`.
        """
        if not self.adapt:
            return
        state = self._state(bucket)
        assert state.headroom is not None
        # Re-timed on this limiter's clock: what counts is the time left, not the timestamp.
        now = self._clock()
        report = RateLimitSnapshot(
            report.limit, report.remaining, report.reset, now, report.whole_seconds
        )
        state.headroom.observe(report, state.in_flight)
        state.released.set()  # a waiter held by an old report looks again

    def shared(self, bucket: Bucket) -> bool:
        """Whether the server's reports show another user drawing on `bucket`'s quota now."""
        state = self._states.get(bucket.key)
        headroom = state.headroom if state is not None else None
        return headroom is not None and headroom.shared(self._clock())

    async def _until_open(self, state: _BucketState, bucket: Bucket) -> None:
        """Return at the first moment a request of `bucket` may go (the caller holds the lock)."""
        while True:
            now = self._clock()
            opens_at = self._opens_at(state, bucket, now)
            if opens_at <= now:
                return
            # Recheck after waking: a pause may have started, or a slot been released.
            if math.isinf(opens_at):
                state.released.clear()
                await state.released.wait()
            else:
                await self._sleep(opens_at - now)

    def _count(self, state: _BucketState) -> None:
        state.in_flight += 1
        if state.headroom is not None:
            state.headroom.sent(self._clock())

    def release(self, bucket: Bucket) -> None:
        """Mark one in-flight request of `bucket` answered now."""
        state = self._states.get(bucket.key)
        if state is None or state.in_flight == 0:
            raise RuntimeError(f"release() without a matching acquire() in bucket {bucket.key}")
        state.in_flight -= 1
        now = self._clock()
        bisect.insort(state.answered, now)
        # Forget answers too old to hold back any send: older than the longest window.
        horizon = now - max(self._burst_window, self._steady_window) - self._margin
        stale = bisect.bisect_right(state.answered, horizon)
        if stale:
            del state.answered[:stale]
        state.released.set()

    async def pause(self, bucket: Bucket, seconds: float) -> None:
        """Hold every waiter and new arrival in `bucket` for `seconds` from now.

        A pause never shortens one already in force.
        """
        state = self._state(bucket)
        state.paused_until = max(state.paused_until, self._clock() + max(seconds, 0.0))

    def next_slot(self, bucket: Bucket) -> float:
        """The clock time at which the next request in `bucket` may go (now or later).

        `math.inf` while in-flight requests hold every slot: it then depends on their answers.
        """
        now = self._clock()
        state = self._states.get(bucket.key)
        if state is None:
            return now
        return max(now, self._opens_at(state, bucket.scaled(self.share), now))

    def _state(self, bucket: Bucket) -> _BucketState:
        # get before create: a new state holds a lock and an event, not to be built per call.
        state = self._states.get(bucket.key)
        if state is None:
            state = self._states[bucket.key] = _BucketState(
                headroom=Headroom(self._steady_window) if self.adapt else None
            )
        return state

    def _opens_at(self, state: _BucketState, bucket: Bucket, now: float) -> float:
        # With limit N over a window W, a send at t is allowed iff fewer than N requests are in
        # flight or were answered after t - W - margin. Answers only age, so the k-th oldest of
        # the recent ones says exactly when enough of them will have aged out.
        opens_at = state.paused_until
        if state.headroom is not None:
            opens_at = max(opens_at, state.headroom.opens_at(now))
        answered = state.answered
        for limit, window in (
            (bucket.burst, self._burst_window),
            (bucket.steady, self._steady_window),
        ):
            start = bisect.bisect_right(answered, now - window - self._margin)
            excess = state.in_flight + len(answered) - start - limit + 1
            if excess <= 0:
                continue
            if excess > len(answered) - start:  # in-flight requests hold every slot
                return math.inf
            opens_at = max(opens_at, answered[start + excess - 1] + window + self._margin)
        return opens_at
