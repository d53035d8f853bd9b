"""One worker process of the multi-process tests: `python worker.py '<json config>'`.

It builds `Klaviyo(base_url=..., limiter=RedisLimiter(...))`, connects to Redis and opens ten
HTTP connections (as a long-running service has them), prints `ready`, waits for `go` on
stdin, runs `tasks` concurrent `get_campaign` calls, and prints one JSON line: how many
succeeded, how many failed by error class, how many answers were 429, and when each acquire
returned (`time.monotonic`, one clock for every process on this host). With `skew` its wall
clock (`time.time`) is off by that many seconds, as another host's may be.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from collections import Counter
from typing import Any

import httpx


def skew_wall_clock(seconds: float) -> None:
    real_time, real_time_ns = time.time, time.time_ns
    time.time = lambda: real_time() + seconds  # type: ignore[assignment]
    time.time_ns = lambda: real_time_ns() + int(seconds * 1e9)  # type: ignore[assignment]


async def run(config: dict[str, Any]) -> dict[str, Any]:
    from klaviyo_campaigns import Klaviyo
    from klaviyo_campaigns._limits import Bucket
    from klaviyo_campaigns.redis_limiter import RedisLimiter

    sent: list[float] = []
    throttled = 0

    class Recording:
        """The limiter, noting when each acquire returned: the moment of sending."""

        def __init__(self, inner: RedisLimiter) -> None:
            self.inner = inner

        async def acquire(self, bucket: Bucket) -> None:
            await self.inner.acquire(bucket)
            sent.append(time.monotonic())

        def release(self, bucket: Bucket) -> None:
            self.inner.release(bucket)

        async def pause(self, bucket: Bucket, seconds: float) -> None:
            await self.inner.pause(bucket, seconds)

    async def count(response: httpx.Response) -> None:
        nonlocal throttled
        throttled += response.status_code == 429

    speedup = config["speedup"]
    limiter = RedisLimiter.from_url(
        config["redis_url"],
        prefix=config["prefix"],
        burst_window=1.0 / speedup,
        steady_window=60.0 / speedup,
        margin=config["margin"],
        on_redis_error=config.get("on_redis_error", "fail"),
    )
    base_url = config["base_url"]
    async with (
        limiter,
        httpx.AsyncClient(timeout=30.0, event_hooks={"response": [count]}) as http,
        Klaviyo(
            config["api_key"], base_url=base_url, limiter=Recording(limiter), http_client=http
        ) as kl,
    ):
        await limiter._redis.ping()
        await asyncio.gather(*(http.get(f"{base_url}/warm-up") for _ in range(10)))
        throttled = 0
        # Start-up garbage out of the way: a full collection mid-run is a pause of its own.
        gc.collect()
        gc.freeze()
        print("ready", flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if line.strip() != "go":
            return {"aborted": line.strip()}
        campaign_id = config["campaign_id"]
        results = await asyncio.gather(
            *(kl.pre.get_campaign(campaign_id) for _ in range(config["tasks"])),
            return_exceptions=True,
        )
    errors = Counter(type(r).__name__ for r in results if isinstance(r, BaseException))
    ok = sum(1 for r in results if not isinstance(r, BaseException))
    return {"ok": ok, "errors": errors, "throttled": throttled, "sent": sent}


def main() -> None:
    config = json.loads(sys.argv[1])
    if config.get("skew"):
        skew_wall_clock(config["skew"])
    print(json.dumps(asyncio.run(run(config))), flush=True)


if __name__ == "__main__":
    main()
