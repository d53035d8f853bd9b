"""`PacedLimiter`: the window limiter's bound, with each bucket's requests spaced evenly.

`WindowLimiter` lets a bucket's requests go as early as the limits allow: a queue of 30 sends 10
at once, 10 a second later, and so on, and a long run sends each minute's 150 in its first
fifteen seconds. That is the fastest a client alone can go. On an account whose quota other
integrations share, an evenly spaced flow is the better citizen: it leaves room in every second
and never meets another client's burst head on.

The spacing is aiolimiter's, used in the one shape in which it keeps a fixed window's limit.
`AsyncLimiter(N, T)` as it comes is a leaky bucket of capacity N draining at N per T: after an
idle period it admits N at once and then N more over the next T, so up to 2N - 1 requests in one
window of length T, which Klaviyo answers with 429s. A bucket of one refilled N times per window,
`AsyncLimiter(1, T / N)`, admits one request per T / N: never more than N in any span of length
T, at the full sustained rate. It gives up bursting, not throughput. Each bucket has one for the
burst window and one for the steady window, each `T` widened by the margin.

Spacing alone is timed by sends, and arrivals are not sends: a request let go on time can reach
the server late, after the next one. So the limiter keeps the window limiter's rule as well (a
request holds its slot until its answer and the slot is timed by the answer), which no network
delay can break, and the spacing comes on top. With the same rule come the same promises: FIFO
per bucket, a waiter cancelled takes nothing, `pause` holds every waiter, `share` and the
server's reports (`observe`) apply alike.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._limits import Bucket, WindowLimiter, _BucketState

if TYPE_CHECKING:  # aiolimiter (and the importlib.metadata it reads) loads on first use
    from aiolimiter import AsyncLimiter

__all__ = ["PacedLimiter"]


@dataclass(slots=True)
class _Pacers:
    """The aiolimiter buckets of one rate-limit bucket, for the limits they were built for."""

    burst: int
    steady: int
    burst_pacer: AsyncLimiter
    steady_pacer: AsyncLimiter


class PacedLimiter(WindowLimiter):
    """In-process limiter that spaces each bucket's requests evenly (built on aiolimiter).

    No span of a window's length holds more than the window's limit of arrivals, as with
    `WindowLimiter`, and consecutive requests of a bucket go at least `(window + margin) / limit`
    apart for each of its two windows: with Klaviyo's 10/s and 150/min, one every 0.4 s.
    Each request's wake-up lateness is lost to the spacing (a bucket of one keeps no credit),
    a fraction of a percent at Klaviyo's spacing. `next_slot` reports the window rule only.

    Args:
        share: use at most this fraction (0 < share <= 1) of each limit, rounded down, at
            least one request per window.
        adapt: slow a bucket to fit what the server says is left when others draw on it.
        burst_window: the burst window in seconds (1; tests shrink it).
        steady_window: the steady window in seconds (60).
        margin: widens every window, for the spacing and for the answer-timed slots alike; it
            absorbs network jitter between requests sent one spacing apart.
        clock: the clock the window rule reads (`time.monotonic`, which is also what asyncio's
            loop and so aiolimiter read).
        sleep: how to wait for the window rule (`asyncio.sleep`).
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
        super().__init__(
            share=share,
            adapt=adapt,
            burst_window=burst_window,
            steady_window=steady_window,
            margin=margin,
            clock=clock,
            sleep=sleep,
        )
        self._pacers: dict[str, _Pacers] = {}

    async def acquire(self, bucket: Bucket) -> None:
        """Wait (FIFO per bucket) until the window rule and the spacing both let a request go.

        The spacing's token is taken after the window rule opens and the rule is checked again
        after it (a pause may have begun meanwhile); a token taken for nothing only widens the
        spacing once. Cancelled while waiting, a task takes no slot.
        """
        state = self._state(bucket)
        limits = bucket.scaled(self.share)
        pacers = self._pacers_of(limits)
        async with state.lock:
            while True:
                await self._until_open(state, limits)
                await pacers.burst_pacer.acquire()
                await pacers.steady_pacer.acquire()
                if self._is_open(state, limits):
                    break
            self._count(state)

    def _is_open(self, state: _BucketState, bucket: Bucket) -> bool:
        now = self._clock()
        return self._opens_at(state, bucket, now) <= now

    def _pacers_of(self, bucket: Bucket) -> _Pacers:
        # One pair per bucket key, rebuilt if its limits change (one endpoint reached through
        # operations with different limits): the spacing then starts afresh, the window rule
        # holds throughout.
        pacers = self._pacers.get(bucket.key)
        if pacers is None or (pacers.burst, pacers.steady) != (bucket.burst, bucket.steady):
            from aiolimiter import AsyncLimiter

            pacers = self._pacers[bucket.key] = _Pacers(
                bucket.burst,
                bucket.steady,
                AsyncLimiter(1, (self._burst_window + self._margin) / bucket.burst),
                AsyncLimiter(1, (self._steady_window + self._margin) / bucket.steady),
            )
        return pacers
