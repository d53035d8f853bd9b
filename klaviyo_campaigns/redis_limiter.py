"""`RedisLimiter`: one account's rate limits shared by every process and host, kept in Redis.

Klaviyo counts each endpoint's requests per account, so ten worker processes each pacing
themselves to the full limit make a 429 storm. One line moves a service onto the shared limiter::

    from klaviyo_campaigns.redis_limiter import RedisLimiter

    kl = Klaviyo(limiter=RedisLimiter.from_url("redis://redis.internal:6379/0"))

It needs the `redis` extra (`pip install 'klaviyo-campaigns[redis]'`); importing
`klaviyo_campaigns` alone never imports redis.

How it works. Each bucket is a sorted set of requests and a pause-until value, with the same
bound as `WindowLimiter`: a request holds its slot from `acquire` until `release` and its slot
is timed by its answer, so no span of a window's length can hold more than the window's limit
of arrivals at Klaviyo, whatever the network between any host and Klaviyo does. A request in
flight is scored with the end of its lease (`lease` seconds after `acquire`), an answered one
with the moment of its answer. One Lua script per attempt, run atomically by Redis with EVALSHA
(loaded once, reloaded by redis-py only if the server lost it), reads Redis's own `TIME`, checks
the burst and the steady window together and either records the request or answers how many
microseconds until the next slot opens (or, when requests in flight hold every slot, until it
is worth asking again: `poll_interval`); the client sleeps that long and tries again. `release`
stamps the answer with Redis's `TIME` in a second script, in the background. Acquire, arrival,
answer and release follow one another in real time, so no host's clock enters the decision and
clock skew between hosts does not matter; a process that dies with requests in flight holds
their slots until their leases run out. `pause` (a 429 with Retry-After) sets the bucket's
pause-until in Redis, which every process's script honours. Within one process, waiters of a
bucket queue first come, first served on a local lock, so only the head of each process's
queue talks to Redis; across processes the heads race for each slot as it opens (no global
queue). A waiter cancelled while its script is in flight gives back the slot the script may
have recorded for it.

Keys are `<prefix>{<bucket key>}:log` and `...:pause`; the bucket key holds a hash of the API
key (`Bucket.for_endpoint`), never the key. The braces are a Redis Cluster hash tag: both keys
of a bucket live in one slot, as a script's keys must.

When Redis fails or does not answer within `redis_timeout`, `on_redis_error` decides:
`"fail"` (the default) raises `LimiterUnavailableError` and sends nothing; `"fallback"` logs one
warning per outage and paces this process alone with an in-process `WindowLimiter` (so N
processes may together send N times the limit, and Klaviyo's 429s then pace them), trying
Redis again every `retry_interval` seconds.

Why not an existing library (checked: limits 5.8.0, pyrate-limiter 4.5.1, throttled-py 3.5.0):

- limits: its moving-window script takes the timestamp from the client (`time.time()`), so
  hosts with skewed clocks disagree about the window; one `RateLimitItem` per `hit`, so the
  burst and steady windows are two round trips and not atomic (a hit can use up the burst slot
  and then fail the steady one); `hit` answers only yes or no (the reset time is a second call);
  no blocking acquire; expiries in whole seconds, so windows cannot be scaled down for tests.
- pyrate-limiter: checks several rates in one atomic script and has an async, blocking acquire
  with a timeout, the closest fit; but `RedisBucket.now()` is the client's `time_ns()` (its own
  docstring: "We are not using redis' built-in TIME"), so skew breaks the shared window; it
  adds a fixed `buffer_ms` (50 ms by default) to every wait; and it has no shared pause, so one
  process's 429 cannot hold the others.
- throttled-py: its sliding window is an estimate from two fixed-window counters (it can admit
  more than N in some span) fed by the client's clock; its GCRA and token-bucket scripts use
  Redis `TIME` but with whole-second resolution, take one rate per call (two calls, not
  atomic) and let up to twice the limit through one window (the initial burst plus refill);
  no shared pause.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import uuid
from collections import deque
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ._limits import Bucket, WindowLimiter, check_share
from .errors import LimiterUnavailableError

__all__ = ["DEFAULT_PREFIX", "RedisLimiter"]

T = TypeVar("T")

logger = logging.getLogger(__name__.rpartition(".")[0])

DEFAULT_PREFIX = "klaviyo-campaigns:ratelimit:"

# KEYS: request log (sorted set of members naming requests, score = Redis time in µs: when the
# request was answered, or, while it is in flight, when its lease runs out), pause-until (µs).
# ARGV: burst, steady, burst window µs, steady window µs, margin µs, lease µs, poll µs, member.
# Returns 0 when the request is recorded (in flight), else the microseconds to wait before
# asking again. Numbers go to redis.call as Lua numbers, never concatenated: tostring would
# round them.
ACQUIRE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local margin = tonumber(ARGV[5])
local lease = tonumber(ARGV[6])
local longest = math.max(tonumber(ARGV[3]), tonumber(ARGV[4])) + margin
-- An answer at or before now - longest can no longer hold back any request.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local opens = tonumber(redis.call('GET', KEYS[2]) or 0)
-- With limit N over a window W, a request may go at t iff fewer than N requests are in
-- flight or were answered after t - W - margin. Answers score at most now and in-flight
-- requests more, so the k-th lowest recent score says when enough answers will have aged.
for i = 0, 1 do
  local limit = tonumber(ARGV[1 + i])
  local window = tonumber(ARGV[3 + i])
  local after = now - window - margin + 1
  local recent = redis.call('ZCOUNT', KEYS[1], after, '+inf')
  if recent >= limit then
    local kth = redis.call(
      'ZRANGEBYSCORE', KEYS[1], after, '+inf', 'WITHSCORES', 'LIMIT', recent - limit, 1)
    local at = tonumber(kth[2]) + window + margin
    if tonumber(kth[2]) > now then
      at = now + tonumber(ARGV[7])  -- held by a request in flight: ask again soon
    end
    if at > opens then opens = at end
  end
end
if opens > now then
  return math.ceil(opens - now)
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[8])
redis.call('PEXPIRE', KEYS[1], math.ceil((longest + lease) / 1000) + 1)
return 0
"""

# KEYS: request log. ARGV: member. The request was answered: its score becomes Redis's now.
RELEASE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return 0
"""

# KEYS: pause-until. ARGV: pause length in µs. A pause never shortens one already in force.
PAUSE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local till = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or 0)
if till > current then
  redis.call('SET', KEYS[1], till, 'PX', math.ceil((till - now) / 1000) + 1)
end
return 0
"""

_REDIS_FAILURES = (RedisError, OSError, TimeoutError)


@dataclass(slots=True)
class _LocalBucket:
    """This process's side of one bucket."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # FIFO: only its holder asks Redis
    # This process's requests in flight, oldest first: the Redis member of each, or None for
    # one the fallback limiter let go. Any one of a kind may be released for any other: in
    # flight, they count alike.
    in_flight: deque[str | None] = field(default_factory=deque)


class RedisLimiter:
    """A `Limiter` whose windows and pauses live in Redis, shared by every process using it.

    Args:
        client: a `redis.asyncio.Redis` (or cluster) client; its connection pool is reused for
            every call. Give its sockets timeouts; `from_url` does.
        prefix: put before every key, so several services or tests can share one Redis.
        share: use at most this fraction (0 < share <= 1) of each limit, rounded down and at
            least one request per window, leaving the rest of the account's quota to its other
            integrations. Every process of one service should give the same share: each request
            is checked against its own process's limits.
        burst_window: the burst window in seconds, as for `WindowLimiter` (1 s; tests shrink
            it as the fake's `speedup` does).
        steady_window: the steady window in seconds (60 s; shrunk likewise).
        margin: how much wider than a window every checked span is (10 ms, as in-process).
        lease: how long a request never released (its process died) holds its slot; longer
            than any request may take (the client's timeout, 30 s by default).
        poll_interval: while requests in flight hold every slot, how often the head waiter of
            each process asks Redis again.
        on_redis_error: `"fail"` raises `LimiterUnavailableError`; `"fallback"` warns and
            paces this process with an in-process `WindowLimiter` until Redis answers again.
        redis_timeout: seconds one Redis call may take before it counts as a failure.
        retry_interval: in fallback, seconds between attempts to get back onto Redis.
        owns_client: close `client` in `aclose` (`from_url` sets it).
    """

    def __init__(
        self,
        client: aioredis.Redis | aioredis.RedisCluster,
        *,
        prefix: str = DEFAULT_PREFIX,
        share: float = 1.0,
        burst_window: float = 1.0,
        steady_window: float = 60.0,
        margin: float = 0.01,
        lease: float = 120.0,
        poll_interval: float = 0.01,
        on_redis_error: Literal["fail", "fallback"] = "fail",
        redis_timeout: float = 1.0,
        retry_interval: float = 5.0,
        owns_client: bool = False,
    ) -> None:
        if burst_window <= 0 or steady_window <= 0 or margin < 0:
            raise ValueError("windows must be positive and the margin not negative")
        if on_redis_error not in ("fail", "fallback"):
            raise ValueError(f'on_redis_error must be "fail" or "fallback", not {on_redis_error!r}')
        if lease <= 0 or poll_interval <= 0:
            raise ValueError("lease and poll_interval must be positive")
        if redis_timeout <= 0 or retry_interval < 0:
            raise ValueError("redis_timeout must be positive and retry_interval not negative")
        self.share = check_share(share)
        self._redis = client
        self._prefix = prefix
        self._windows_us = (_micros(burst_window), _micros(steady_window), _micros(margin))
        self._lease_us = _micros(lease)
        self._poll_us = _micros(poll_interval)
        self._on_redis_error = on_redis_error
        self._timeout = redis_timeout
        self._retry_interval = retry_interval
        self._owns_client = owns_client
        self._acquire_script = client.register_script(ACQUIRE_SCRIPT)
        self._pause_script = client.register_script(PAUSE_SCRIPT)
        self._release_script = client.register_script(RELEASE_SCRIPT)
        self._fallback = WindowLimiter(
            share=share, burst_window=burst_window, steady_window=steady_window, margin=margin
        )
        self._buckets: dict[str, _LocalBucket] = {}
        self._instance = uuid.uuid4().hex[:12]  # names this limiter's sends in the logs
        self._sends = itertools.count()
        self._redis_down_until: float | None = None  # loop time; None while Redis answers
        self._redis_down_since = 0.0  # loop time the current outage was first seen
        self._background: set[asyncio.Task[None]] = set()

    @classmethod
    def from_url(cls, url: str, *, redis_timeout: float = 1.0, **options: Any) -> RedisLimiter:
        """A limiter on a new client for `url` (`redis://host:6379/0`, `rediss://...`).

        The client's connections connect and read with `redis_timeout`, are opened lazily and
        reused; `aclose()` closes them. `options` are the constructor's keyword arguments.
        """
        client = aioredis.Redis.from_url(
            url, socket_timeout=redis_timeout, socket_connect_timeout=redis_timeout
        )
        return cls(client, redis_timeout=redis_timeout, owns_client=True, **options)

    def __repr__(self) -> str:
        return (
            f"RedisLimiter(prefix={self._prefix!r}, share={self.share}, "
            f"on_redis_error={self._on_redis_error!r}, buckets={len(self._buckets)})"
        )

    # -- the Limiter protocol ------------------------------------------------------------------

    async def acquire(self, bucket: Bucket) -> None:
        """Wait until one request may be sent in `bucket` by any process, and count it in flight.

        Waiters in this process go first come, first served. A task cancelled while waiting
        takes nothing. Raises `LimiterUnavailableError` if Redis fails and `on_redis_error`
        is `"fail"`. To bound the wait, wrap the call in `asyncio.timeout`.
        """
        local = self._buckets.get(bucket.key)
        if local is None:
            local = self._buckets[bucket.key] = _LocalBucket()
        in_flight = local.in_flight
        async with local.lock:
            while True:
                if self._in_fallback():
                    await self._fallback.acquire(bucket)
                    in_flight.append(None)
                    return
                member = f"{self._instance}:{next(self._sends)}"
                started = asyncio.get_running_loop().time()
                try:
                    wait_us = await self._try_acquire(bucket, member)
                except _REDIS_FAILURES as exc:
                    self._redis_failed(exc)  # raises, unless we fall back
                    await self._fallback.acquire(bucket)
                    in_flight.append(None)
                    return
                self._redis_answered(started)
                if wait_us <= 0:
                    in_flight.append(member)
                    return
                # Recheck after waking: another process may take the slot, or pause the bucket.
                await asyncio.sleep(wait_us / 1_000_000)

    def release(self, bucket: Bucket) -> None:
        """One request of `bucket` was answered: stamp it with Redis's now, in the background.

        If Redis fails meanwhile, the request keeps its slot until its lease runs out (safe,
        only slower).
        """
        local = self._buckets.get(bucket.key)
        in_flight = local.in_flight if local is not None else None
        if not in_flight:
            raise RuntimeError(f"release() without a matching acquire() in bucket {bucket.key}")
        member = in_flight.popleft()
        if member is None:
            self._fallback.release(bucket)
            return
        self._in_background(self._stamp_answer(self._key(bucket, "log"), member))

    async def pause(self, bucket: Bucket, seconds: float) -> None:
        """Hold `bucket` in every process for `seconds` from now (Redis's now).

        A pause never shortens one already in force.
        """
        await self._fallback.pause(bucket, seconds)  # honoured too if Redis fails later
        if self._in_fallback():
            return
        started = asyncio.get_running_loop().time()
        try:
            await self._call(
                self._pause_script(keys=[self._key(bucket, "pause")], args=[_micros(seconds)])
            )
        except _REDIS_FAILURES as exc:
            self._redis_failed(exc)
        else:
            self._redis_answered(started)

    # -- lifetime ------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Finish stamping answers and giving back cancelled waiters' slots, then close the
        client if we own it."""
        while self._background:
            # Drop what was awaited here, not only in the tasks' done callbacks: from Python 3.12
            # on, gathering tasks that are all done returns without yielding to the loop, so
            # callbacks still queued would never run and this loop would spin forever.
            tasks = list(self._background)
            await asyncio.gather(*tasks, return_exceptions=True)
            self._background.difference_update(tasks)
        if self._owns_client:
            await self._redis.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- internals -----------------------------------------------------------------------------

    def _key(self, bucket: Bucket, part: str) -> str:
        return f"{self._prefix}{{{bucket.key}}}:{part}"

    async def _try_acquire(self, bucket: Bucket, member: str) -> int:
        """One script run: 0 if `member` was recorded in flight, else microseconds to wait."""
        log = self._key(bucket, "log")
        burst_us, steady_us, margin_us = self._windows_us
        limits = bucket.scaled(self.share)
        args: list[int | str] = [
            limits.burst,
            limits.steady,
            burst_us,
            steady_us,
            margin_us,
            self._lease_us,
            self._poll_us,
            member,
        ]
        call = asyncio.ensure_future(
            self._call(self._acquire_script(keys=[log, self._key(bucket, "pause")], args=args))
        )
        try:
            return int(await asyncio.shield(call))
        except asyncio.CancelledError:
            # The script may run (or have run) and record a send no one will make: undo it.
            self._in_background(self._give_back(call, log, member))
            raise

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _stamp_answer(self, log: str, member: str) -> None:
        try:
            await self._call(self._release_script(keys=[log], args=[member]))
        except _REDIS_FAILURES as exc:
            if self._on_redis_error == "fallback":
                self._redis_failed(exc)  # one warning per outage, and pace alone meanwhile
            else:  # nothing to raise into: the next acquire reports the outage
                logger.warning("could not stamp an answer in Redis: its slot waits for its lease")

    async def _give_back(self, call: asyncio.Future[Any], log: str, member: str) -> None:
        await asyncio.wait([call])
        if call.cancelled() or call.exception() is not None or call.result() != 0:
            return
        try:
            await self._call(self._redis.zrem(log, member))
        except _REDIS_FAILURES:
            logger.warning("could not give back a cancelled waiter's slot in Redis")

    async def _call(self, call: Awaitable[T]) -> T:
        async with asyncio.timeout(self._timeout):
            return await call

    def _in_fallback(self) -> bool:
        if self._redis_down_until is None:
            return False
        return asyncio.get_running_loop().time() < self._redis_down_until

    def _redis_failed(self, exc: BaseException) -> None:
        """Raise `LimiterUnavailableError`, or switch this process to its own limiter."""
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if self._on_redis_error == "fail":
            raise LimiterUnavailableError(
                f"the shared rate limiter's Redis failed ({what}); nothing was sent"
            ) from exc
        if self._redis_down_until is None:
            self._redis_down_since = asyncio.get_running_loop().time()
            logger.warning(
                "shared rate limiter's Redis failed (%s): pacing this process alone, "
                "retrying Redis every %g s",
                what,
                self._retry_interval,
            )
        self._redis_down_until = asyncio.get_running_loop().time() + self._retry_interval

    def _redis_answered(self, started: float) -> None:
        # A reply to a call sent before the outage was seen (read from the socket after another
        # call failed) says nothing about Redis now: only a later call ends the outage.
        if self._redis_down_until is not None and started >= self._redis_down_since:
            logger.warning("shared rate limiter's Redis answers again: pacing is shared again")
            self._redis_down_until = None


def _micros(seconds: float) -> int:
    return math.ceil(seconds * 1_000_000)
