"""1. Per-call overhead: one GET of a 100-campaign page, parsed into the SDK's models, against
the same GET with bare httpx + ``json.loads`` on the same transport, for each transport (aiohttp:
the SDK's own client; httpcore: an injected plain client), and the official ``klaviyo-api``.

All sides fetch the same fixed bytes from the same loopback server, one call at a time; blocks
of calls alternate sides so background load falls on every side alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

import httpx

from klaviyo_campaigns import Klaviyo

from . import official, progress
from .bodies import PAGE_SIZE
from .clients import FILTER, raw, sdk
from .table import Row, summarize

GOAL = 1.5


async def _block(call: Callable[[], Awaitable[object]], calls: int) -> float:
    """Seconds per call over ``calls`` sequential calls."""
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - started) / calls


async def measure(base_url: str, *, repeats: int, calls: int) -> list[Row]:
    """SDK/raw per-call time of a 100-campaign page on each transport (the SDK's own client is
    aiohttp; an injected plain httpx client is httpcore); klaviyo-api/raw alongside."""
    theirs = official.client(base_url)
    async with (
        sdk(base_url, transport="aiohttp") as kl,
        sdk(base_url, transport="httpcore") as kl_httpcore,
        raw(base_url, transport="aiohttp") as http_aiohttp,
        raw(base_url, transport="httpcore") as http,
    ):

        def sdk_call(client: Klaviyo) -> Callable[[], Awaitable[object]]:
            async def call() -> object:
                page = await client.stable.get_campaigns(filter=FILTER, page_size=PAGE_SIZE)
                assert len(page.data) == PAGE_SIZE
                return page

            return call

        def raw_call(client: httpx.AsyncClient) -> Callable[[], Awaitable[object]]:
            async def call() -> object:
                response = await client.get(
                    "/api/campaigns", params={"filter": FILTER, "page[size]": str(PAGE_SIZE)}
                )
                response.raise_for_status()
                return json.loads(response.content)

            return call

        async def official_call() -> object:
            assert theirs is not None
            return theirs.Campaigns.get_campaigns(filter=FILTER)  # it takes no page size

        sides: dict[str, Callable[[], Awaitable[object]]] = {
            "sdk": sdk_call(kl),
            "raw_aiohttp": raw_call(http_aiohttp),
            "sdk_httpcore": sdk_call(kl_httpcore),
            "raw": raw_call(http),
        }
        if theirs is not None:
            sides["official"] = official_call
        times: dict[str, list[float]] = {name: [] for name in sides}
        for call in sides.values():  # warm up: connections, imports, caches
            await _block(call, 3)
        for repeat in range(repeats):
            order = list(sides.items())
            progress.note(f"repeat {repeat + 1}/{repeats}")
            for name, call in order if repeat % 2 == 0 else reversed(order):
                times[name].append(await _block(call, calls))
    ms = {name: summarize(t).median * 1e3 for name, t in times.items()}
    rows = []
    for label, (a, b) in [
        (
            "1. GET 100-campaign page, SDK typed / raw httpx+json.loads (aiohttp)",
            ("sdk", "raw_aiohttp"),
        ),
        ("   same, on httpcore (an injected plain httpx client)", ("sdk_httpcore", "raw")),
    ]:
        ratio = summarize([s / r for s, r in zip(times[a], times[b], strict=True)])
        rows.append(
            Row(
                label,
                f"{ratio.median:.2f}x",
                ratio.spread(),
                f"<= {GOAL}x",
                ratio.median <= GOAL,
                f"{ms[a]:.1f} vs {ms[b]:.1f} ms/call",
            )
        )
    if "official" in times:
        theirs_ratio = summarize(
            [o / r for o, r in zip(times["official"], times["raw"], strict=True)]
        )
        rows.append(
            Row(
                "   same page, klaviyo-api (sync, pydantic) / raw (httpcore)",
                f"{theirs_ratio.median:.2f}x",
                theirs_ratio.spread(),
                detail=f"{ms['official']:.1f} ms/call ({official.version()})",
            )
        )
    return rows
