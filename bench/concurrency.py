"""2. Concurrency: 2,000 GETs of one campaign with 100 in flight, through one SDK client, through
one raw ``httpx.AsyncClient``, and through the official ``klaviyo-api`` on 100 threads.

The SDK runs with a limiter that admits everything (``AdmitAll``): this measures the client, not
the rate limits. Each side gets the same fixed bytes from the same loopback server.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import official
from .bodies import SINGLE_ID
from .clients import raw, sdk
from .table import Row, summarize

REQUESTS = 2_000
IN_FLIGHT = 100


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
    """req/s of each side; the SDK/raw ratio is the headline."""
    theirs = official.client(base_url)
    async with sdk(base_url) as kl, raw(base_url) as http:

        async def sdk_call() -> object:
            return await kl.stable.get_campaign(SINGLE_ID)

        async def raw_call() -> object:
            response = await http.get(f"/api/campaigns/{SINGLE_ID}")
            response.raise_for_status()
            return json.loads(response.content)

        rates: dict[str, list[float]] = {"sdk": [], "raw": [], "official": []}
        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            loop = asyncio.get_running_loop()

            async def official_side(n: int) -> float:
                return await loop.run_in_executor(None, _run_threads, theirs, pool, n)

            sides: dict[str, Callable[[int], Awaitable[float]]] = {
                "sdk": lambda n: _run(sdk_call, n),
                "raw": lambda n: _run(raw_call, n),
            }
            if theirs is not None:
                sides["official"] = official_side
            for side in sides.values():  # warm up: open the connections, import the models
                await side(IN_FLIGHT * 2)
            for repeat in range(repeats):
                order = list(sides.items())
                for name, side in order if repeat % 2 == 0 else reversed(order):
                    rates[name].append(await side(requests))
    ratio = summarize([s / r for s, r in zip(rates["sdk"], rates["raw"], strict=True)])
    per_s = {name: summarize(r) for name, r in rates.items() if r}
    rows = [
        Row(
            f"2. {requests} GETs, {IN_FLIGHT} in flight: SDK / raw httpx req/s (no limiter)",
            f"{ratio.median:.2f}x",
            ratio.spread(),
            detail=f"{per_s['sdk'].median:.0f} vs {per_s['raw'].median:.0f} req/s",
        )
    ]
    if "official" in per_s:
        theirs_ratio = summarize(
            [o / s for o, s in zip(rates["official"], rates["sdk"], strict=True)]
        )
        rows.append(
            Row(
                f"   same, klaviyo-api on {IN_FLIGHT} threads / SDK req/s",
                f"{theirs_ratio.median:.2f}x",
                theirs_ratio.spread(),
                detail=f"{per_s['official'].median:.0f} req/s ({official.version()})",
            )
        )
    return rows
