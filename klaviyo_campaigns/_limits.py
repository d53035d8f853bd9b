"""Client-side rate limiting: the `Limiter` protocol and the in-process `WindowLimiter`.

Klaviyo limits each endpoint per API key in fixed windows of 1 s (burst) and 60 s (steady) whose
alignment the client cannot see, so a client is safe only if no span of a window's length ever holds
more than that window's limit. `WindowLimiter` keeps a sliding-window log of send times and admits
a request only when the N-th most recent send is at least one window (plus a margin) old: that
bound is exact for both windows at once. aiolimiter is not used: its leaky bucket admits `capacity
+ rate * window` (twice the limit) per window, and shrinking it to fit costs half the throughput.

A `Limiter` is anything with `acquire` and `pause`; a shared, multi-process implementation (Redis)
can replace `WindowLimiter` behind the same two methods.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Bucket", "Limiter", "WindowLimiter"]


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


def key_fingerprint(api_key: str) -> str:
    """A short, stable, non-reversible name for an API key (16 hex digits of its SHA-256)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


class Limiter(Protocol):
    """Decides when a request may be sent. Implementations must be safe to share across tasks."""

    async def acquire(self, bucket: Bucket) -> None:
        """Wait until one request may be sent in `bucket`, and count it as sent.

        A task cancelled while waiting takes nothing: no slot is counted for it.
        """
        ...

    async def pause(self, bucket: Bucket, seconds: float) -> None:
        """Send nothing in `bucket` for `seconds` (the server said 429 with this Retry-After)."""
        ...


@dataclass(slots=True)
class _BucketState:
    sent: deque[float]  # send times, oldest first, as many as the largest limit seen
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # FIFO: its holder is the next to send
    paused_until: float = float("-inf")


class WindowLimiter:
    """In-process limiter enforcing both a bucket's burst and steady limit over any span.

    Waiters are served first come, first served: the head of a bucket's queue sleeps until the
    exact moment the next slot opens (no polling), then records its send time and hands over.

    `burst_window` and `steady_window` are the window lengths in seconds (1 and 60; tests shrink
    them). `margin` widens every span checked, so sends stay within the limit even when the
    server sees them up to `margin` seconds closer together than the client sent them. Its
    default, 50 ms, is there because a send is stamped when `acquire` returns, before httpx's
    pool wait and connect: over loopback, arrivals were seen up to 40-70 ms later than their
    stamps, and a 10 ms margin let 1-3 of 200 requests meet a 429. It costs 5% of the burst
    window; the steady limit, which binds in long runs, loses under 0.1%.
    `clock` and `sleep` default to `time.monotonic` and `asyncio.sleep`.
    """

    def __init__(
        self,
        *,
        burst_window: float = 1.0,
        steady_window: float = 60.0,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if burst_window <= 0 or steady_window <= 0 or margin < 0:
            raise ValueError("windows must be positive and the margin not negative")
        self._burst_window = burst_window
        self._steady_window = steady_window
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._states: dict[str, _BucketState] = {}

    def __repr__(self) -> str:
        return (
            f"WindowLimiter(burst_window={self._burst_window}, "
            f"steady_window={self._steady_window}, margin={self._margin}, "
            f"buckets={len(self._states)})"
        )

    async def acquire(self, bucket: Bucket) -> None:
        """Wait (FIFO per bucket) until a request may be sent in `bucket`, then count it."""
        state = self._state(bucket)
        async with state.lock:
            while True:
                now = self._clock()
                opens_at = self._opens_at(state, bucket)
                if opens_at <= now:
                    state.sent.append(now)
                    return
                # Recheck after waking: a pause may have started while we slept.
                await self._sleep(opens_at - now)

    async def pause(self, bucket: Bucket, seconds: float) -> None:
        """Hold every waiter and new arrival in `bucket` for `seconds` from now.

        A pause never shortens one already in force.
        """
        state = self._state(bucket)
        state.paused_until = max(state.paused_until, self._clock() + max(seconds, 0.0))

    def next_slot(self, bucket: Bucket) -> float:
        """The clock time at which the next request in `bucket` may go (now or later)."""
        return max(self._clock(), self._opens_at(self._state(bucket), bucket))

    def _state(self, bucket: Bucket) -> _BucketState:
        size = max(bucket.burst, bucket.steady)
        state = self._states.get(bucket.key)
        if state is None:
            state = self._states[bucket.key] = _BucketState(deque(maxlen=size))
        elif state.sent.maxlen is not None and state.sent.maxlen < size:
            state.sent = deque(state.sent, maxlen=size)
        return state

    def _opens_at(self, state: _BucketState, bucket: Bucket) -> float:
        # With limit N over a window W, a send at t is allowed iff the N-th most recent send
        # happened at or before t - W - margin: then no span of W + margin holds N + 1 sends.
        opens_at = state.paused_until
        sent = state.sent
        for limit, window in (
            (bucket.burst, self._burst_window),
            (bucket.steady, self._steady_window),
        ):
            if len(sent) >= limit:
                opens_at = max(opens_at, sent[-limit] + window + self._margin)
        return opens_at
