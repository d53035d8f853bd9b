"""2. Concurrency: 2,000 GETs of one campaign with 100 in flight, through the SDK on the client it
builds for itself (aiohttp) and on an injected plain httpx client (httpcore), through raw
``httpx.AsyncClient`` on each transport, and through the official ``klaviyo-api`` on 100 threads.

The SDK runs with a limiter that admits everything (``AdmitAll``): this measures the client, not
the rate limits. Each side gets the same fixed bytes from the same loopback server.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from klaviyo_campaigns import Klaviyo

from . import official, progress
from .bodies import SINGLE_ID
from .clients import raw, sdk
from .table import Row, Summary, summarize

REQUESTS = 2_000
IN_FLIGHT = 100
GOAL_OFFICIAL = 3.0  # the SDK's own client: at least 3x the official SDK on 100 threads
GOAL_RAW = 1.3  # ... and within 1.3x of raw httpx on the same (aiohttp) transport


async def _run(call: Callable[[], Awaitable[object]], requests: int) -> float:
    """Requests per second with ``IN_FLIGHT`` workers sharing ``requests`` calls."""
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return requests / (time.perf_counter() - started)


def _run_threads(theirs: Any, pool: ThreadPoolExecutor, requests: int) -> float:
    """Requests per second with the official client on ``IN_FLIGHT`` threads, as its users do."""
    started = time.perf_counter()
    futures = [pool.submit(theirs.Campaigns.get_campaign, SINGLE_ID) for _ in range(requests)]
    for future in futures:
        future.result()
    return requests / (time.perf_counter() - started)


async def measure(base_url: str, *, repeats: int, requests: int = REQUESTS) -> list[Row]:
    """req/s of each side; the SDK on its own client against raw httpx on the same transport
    and against the official SDK are the headlines."""
    theirs = official.client(base_url)
    async with (
        sdk(base_url, transport="aiohttp") as kl,
        sdk(base_url, transport="httpcore") as kl_httpcore,
        raw(base_url, transport="aiohttp") as http_aiohttp,
        raw(base_url, transport="httpcore") as http,
    ):

        def sdk_call(client: Klaviyo) -> Callable[[], Awaitable[object]]:
            async def call() -> object:
                return await client.stable.get_campaign(SINGLE_ID)

            return call

        def raw_call(client: httpx.AsyncClient) -> Callable[[], Awaitable[object]]:
            async def call() -> object:
                response = await client.get(f"/api/campaigns/{SINGLE_ID}")
                response.raise_for_status()
                return json.loads(response.content)

            return call

        calls = {
            "sdk": sdk_call(kl),
            "sdk_httpcore": sdk_call(kl_httpcore),
            "raw_aiohttp": raw_call(http_aiohttp),
            "raw": raw_call(http),
        }
        rates: dict[str, list[float]] = {name: [] for name in [*calls, "official"]}
        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            loop = asyncio.get_running_loop()

            async def official_side(n: int) -> float:
                return await loop.run_in_executor(None, _run_threads, theirs, pool, n)

            sides: dict[str, Callable[[int], Awaitable[float]]] = {
                name: functools.partial(_run, call) for name, call in calls.items()
            }
            if theirs is not None:
                sides["official"] = official_side
            for side in sides.values():  # warm up: open the connections, import the models
                await side(IN_FLIGHT * 2)
            for repeat in range(repeats):
                order = list(sides.items())
                for name, side in order if repeat % 2 == 0 else reversed(order):
                    progress.note(f"repeat {repeat + 1}/{repeats}, {name}")
                    rates[name].append(await side(requests))

    def ratio(a: str, b: str) -> Summary:
        return summarize([x / y for x, y in zip(rates[a], rates[b], strict=True)])

    per_s = {name: summarize(r).median for name, r in rates.items() if r}
    head = f"2. {requests} GETs, {IN_FLIGHT} in flight"
    on_aiohttp = ratio("sdk", "raw_aiohttp")
    rows = [
        Row(
            f"{head}: SDK (own client, aiohttp) / raw httpx on aiohttp req/s",
            f"{on_aiohttp.median:.2f}x",
            on_aiohttp.spread(),
            f">= {1 / GOAL_RAW:.2f}x",
            on_aiohttp.median >= 1 / GOAL_RAW,
            f"{per_s['sdk']:.0f} vs {per_s['raw_aiohttp']:.0f} req/s (no limiter)",
        )
    ]
    if "official" in per_s:
        over_official = ratio("sdk", "official")
        rows.append(
            Row(
                f"   same, SDK / klaviyo-api on {IN_FLIGHT} threads req/s",
                f"{over_official.median:.2f}x",
                over_official.spread(),
                f">= {GOAL_OFFICIAL:g}x",
                over_official.median >= GOAL_OFFICIAL,
                f"{per_s['official']:.0f} req/s ({official.version()})",
            )
        )
    for name, (a, b), detail in [
        (
            "SDK on httpcore (plain httpx client) / raw httpx on httpcore",
            ("sdk_httpcore", "raw"),
            "",
        ),
        ("SDK own client (aiohttp) / SDK on httpcore", ("sdk", "sdk_httpcore"), "before/after"),
        ("raw httpx: aiohttp / httpcore transport", ("raw_aiohttp", "raw"), ""),
    ]:
        r = ratio(a, b)
        rows.append(
            Row(
                f"   same, {name} req/s",
                f"{r.median:.2f}x",
                r.spread(),
                detail=f"{per_s[a]:.0f} vs {per_s[b]:.0f} req/s"
                + (f" ({detail})" if detail else ""),
            )
        )
    return rows
