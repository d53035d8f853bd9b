"""1. Per-call overhead: one GET of a 100-campaign page, reading what a user reads, against the
same GET with bare httpx + ``json.loads`` on the same transport, for each transport (aiohttp:
the SDK's own client; httpcore: an injected plain client), and the official ``klaviyo-api``.

Every side reads ``id``, ``name``, ``status`` and ``send_time`` of every campaign on the page:
the SDK through its typed models (an enum and a ``datetime`` come out), raw through the dicts
``json.loads`` made, ``klaviyo-api`` through what it returns. A second SDK row converts every
campaign back to a dict (``to_dict()``): every field of every item parsed and rendered.

All sides fetch the same fixed bytes from the same loopback server, one call at a time; blocks
of calls alternate sides so background load falls on every side alike.

``python -m bench.overhead [--repeats N] [--calls N]`` runs these rows alone.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from klaviyo_campaigns import Klaviyo

from . import official, processes, progress
from .bodies import PAGE_SIZE
from .clients import FILTER, raw, sdk
from .table import Row, render, summarize

GOAL = 1.3
GOAL_OFFICIAL = 2.5  # klaviyo-api at least this much slower than the SDK on the same page
# The SDK/raw ratio of the typed row (aiohttp) when models were parsed eagerly (every object on
# the page built at once), commit 82e8ce5: 4.51x, 5.53x and 4.51x in three runs of this module
# (9.0 to 9.8 ms/call). The to_dict() row may not be slower than that.
EAGER = 4.51


def read_typed(page: Any) -> int:
    """What a user of the SDK reads: four fields of each campaign, typed."""
    seen = 0
    for campaign in page.data:
        attributes = campaign.attributes
        seen += bool((campaign.id, attributes.name, attributes.status, attributes.send_time))
    return seen


def read_dicts(document: Any) -> int:
    """The same four fields from ``json.loads``'s dicts."""
    seen = 0
    for campaign in document["data"]:
        attributes = campaign["attributes"]
        seen += bool(
            (campaign["id"], attributes["name"], attributes["status"], attributes["send_time"])
        )
    return seen


def read_official(result: Any) -> int:
    """The same four fields from what ``klaviyo-api`` returns (dicts, or its pydantic models)."""
    if isinstance(result, dict):
        return read_dicts(result)
    return read_typed(result)


async def _block(call: Callable[[], Awaitable[object]], calls: int) -> tuple[float, float]:
    """Seconds per call over ``calls`` sequential calls: wall time, and this process's CPU time
    (what the client itself spends: the server runs in another process; unlike wall time, not
    lengthened by other processes taking the CPU)."""
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - started) / calls, (time.process_time() - cpu) / calls


async def measure(base_url: str, *, repeats: int, calls: int) -> list[Row]:
    """SDK/raw per-call time of a 100-campaign page read field by field on each transport (the
    SDK's own client is aiohttp; an injected plain httpx client is httpcore), the SDK's
    ``to_dict()`` of every item, and klaviyo-api against the SDK."""
    theirs = official.client(base_url)
    async with (
        sdk(base_url, transport="aiohttp") as kl,
        sdk(base_url, transport="httpcore") as kl_httpcore,
        raw(base_url, transport="aiohttp") as http_aiohttp,
        raw(base_url, transport="httpcore") as http,
    ):

        def sdk_call(client: Klaviyo, read: Callable[[Any], int]) -> Callable[[], Awaitable[int]]:
            async def call() -> int:
                page = await client.stable.get_campaigns(filter=FILTER, page_size=PAGE_SIZE)
                assert read(page) == PAGE_SIZE
                return PAGE_SIZE

            return call

        def raw_call(client: httpx.AsyncClient) -> Callable[[], Awaitable[int]]:
            async def call() -> int:
                response = await client.get(
                    "/api/campaigns", params={"filter": FILTER, "page[size]": str(PAGE_SIZE)}
                )
                response.raise_for_status()
                assert read_dicts(json.loads(response.content)) == PAGE_SIZE
                return PAGE_SIZE

            return call

        def as_dicts(page: Any) -> int:
            return len([campaign.to_dict() for campaign in page.data])

        async def official_call() -> int:
            assert theirs is not None
            result = theirs.Campaigns.get_campaigns(filter=FILTER)  # it takes no page size
            assert read_official(result) == PAGE_SIZE
            return PAGE_SIZE

        sides: dict[str, Callable[[], Awaitable[object]]] = {
            "sdk": sdk_call(kl, read_typed),
            "raw_aiohttp": raw_call(http_aiohttp),
            "sdk_dict": sdk_call(kl, as_dicts),
            "sdk_httpcore": sdk_call(kl_httpcore, read_typed),
            "raw": raw_call(http),
        }
        if theirs is not None:
            sides["official"] = official_call
        times: dict[str, list[float]] = {name: [] for name in sides}
        cpu: dict[str, list[float]] = {name: [] for name in sides}
        for call in sides.values():  # warm up: connections, imports, caches
            await _block(call, 3)
        # What is alive now (klaviyo-api, pydantic, the modules of every side) is left out of
        # the cyclic collector's passes: a full pass over it landed on whichever side happened
        # to run then, the main source of spread. What each call allocates is still collected.
        gc.collect()
        gc.freeze()
        for repeat in range(repeats):
            order = list(sides.items())
            progress.note(f"repeat {repeat + 1}/{repeats}")
            for name, call in order if repeat % 2 == 0 else reversed(order):
                wall, used = await _block(call, calls)
                times[name].append(wall)
                cpu[name].append(used)
    gc.unfreeze()
    ms = {name: summarize(t).median * 1e3 for name, t in times.items()}

    def cpu_ratio(a: str, b: str) -> str:
        ratio = summarize([s / r for s, r in zip(cpu[a], cpu[b], strict=True)])
        return f"CPU {ratio.median:.2f}x ({ratio.low:.2f}..{ratio.high:.2f})"

    rows = []
    for label, (a, b), goal in [
        (
            "1. GET 100-campaign page, read id/name/status/send_time of each: "
            "SDK typed / raw httpx+json.loads (aiohttp)",
            ("sdk", "raw_aiohttp"),
            GOAL,
        ),
        ("   same, on httpcore (an injected plain httpx client)", ("sdk_httpcore", "raw"), GOAL),
        (
            "   same page, SDK to_dict() of every campaign / raw reads (aiohttp)",
            ("sdk_dict", "raw_aiohttp"),
            EAGER,
        ),
    ]:
        ratio = summarize([s / r for s, r in zip(times[a], times[b], strict=True)])
        rows.append(
            Row(
                label,
                f"{ratio.median:.2f}x",
                ratio.spread(),
                f"<= {goal}x",
                ratio.median <= goal,
                f"{ms[a]:.2f} vs {ms[b]:.2f} ms/call; {cpu_ratio(a, b)}",
            )
        )
    if "official" in times:
        theirs_ratio = summarize(
            [o / s for o, s in zip(times["official"], times["sdk"], strict=True)]
        )
        rows.append(
            Row(
                "   same page and reads, klaviyo-api (sync, pydantic) / SDK typed (aiohttp)",
                f"{theirs_ratio.median:.2f}x",
                theirs_ratio.spread(),
                f">= {GOAL_OFFICIAL}x",
                theirs_ratio.median >= GOAL_OFFICIAL,
                f"{ms['official']:.2f} ms/call ({official.version()}); "
                f"{cpu_ratio('official', 'sdk')}",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run the per-call rows alone, against a fixed server in its own process."""
    parser = argparse.ArgumentParser(prog="python -m bench.overhead")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--calls", type=int, default=8)
    args = parser.parse_args(argv)
    progress.start(total=1)
    progress.section("1. per-call overhead")
    with processes.fixed_server() as fixed:
        rows = asyncio.run(measure(fixed.url, repeats=args.repeats, calls=args.calls))
    print(render(rows))


if __name__ == "__main__":
    main()
