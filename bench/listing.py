"""3. Listing: 10,000 campaigns (100 pages of 100) from the fake over loopback, with a consumer
that spends a fixed time on each page.

Server-bound time ``S``: a bare httpx loop walking the same 100 pages (``json.loads``, no
models, no consumer): the floor for fetching. Consumer-bound time ``C``: 100 x the consumer's
time per page, set equal to ``S / 100`` from a first walk, the case where prefetch has the most
to hide (either side alone would take the whole time). Ideal: ``T = max(S, C)`` plus one page.
Each repeat walks raw then SDK (order alternating), and ``T / max(S, C)`` uses that repeat's
``S``. Memory is traced (tracemalloc) on a separate SDK walk, as tracing slows the client.
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from dataclasses import dataclass

from . import progress
from .clients import FILTER, raw, sdk
from .table import Row, summarize

PAGES = 100
QUICK_PAGES = 25  # --quick: a harness check, not numbers
PAGE_SIZE = 100
GOAL = 1.1
MEMORY_GOAL = 100_000  # bytes of growth from page 10 to page 100


@dataclass(frozen=True)
class Memory:
    """tracemalloc readings over one walk, in bytes, relative to after the first page."""

    peak_growth: int  # highest traced memory during the walk, minus that after page 1
    drift: int  # traced memory after the last page minus after page 10


async def raw_walk(base_url: str, pages_expected: int = PAGES) -> float:
    """Seconds for bare httpx to walk every page (``links.next``), no consumer."""
    async with raw(base_url) as http:
        started = time.perf_counter()
        url: str | None = "/api/campaigns"
        params: dict[str, str] | None = {"filter": FILTER, "page[size]": str(PAGE_SIZE)}
        pages = 0
        while url:
            response = await http.get(url, params=params)
            response.raise_for_status()
            document = json.loads(response.content)
            url, params, pages = document["links"].get("next"), None, pages + 1
        elapsed = time.perf_counter() - started
    if pages != pages_expected:
        raise RuntimeError(f"expected {pages_expected} pages, walked {pages}")
    return elapsed


async def sdk_walk(
    base_url: str, per_page: float, *, trace: bool = False, pages_expected: int = PAGES
) -> tuple[float, Memory]:
    """Seconds for ``kl.paginate(...).pages()`` with ``per_page`` seconds of consumer work."""
    readings: list[tuple[int, int]] = []
    async with sdk(base_url) as kl:
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        items = 0
        pages = kl.paginate(kl.stable.get_campaigns, filter=FILTER, page_size=PAGE_SIZE).pages()
        async for page in pages:
            items += len(page.data)
            del page
            await asyncio.sleep(per_page)  # the consumer: I/O-bound work on the page
            if trace:
                readings.append(tracemalloc.get_traced_memory())
        elapsed = time.perf_counter() - started
        if trace:
            tracemalloc.stop()
    if items != pages_expected * PAGE_SIZE:
        raise RuntimeError(f"expected {pages_expected * PAGE_SIZE} campaigns, got {items}")
    if not trace:
        return elapsed, Memory(0, 0)
    first = readings[0][0]
    peak = max(p for _, p in readings)
    return elapsed, Memory(peak - first, readings[-1][0] - readings[9][0])


async def measure(base_url: str, *, repeats: int, pages: int = PAGES) -> list[Row]:
    """``T / max(S, C)`` over repeats, and the memory readings of one traced walk."""
    per_page = await raw_walk(base_url, pages) / pages  # calibrate: C = S
    ratios, sdk_s, raw_s = [], [], []
    for repeat in range(repeats):
        progress.note(f"repeat {repeat + 1}/{repeats} (raw and SDK walks)")
        if repeat % 2 == 0:
            s = await raw_walk(base_url, pages)
            t, _ = await sdk_walk(base_url, per_page, pages_expected=pages)
        else:
            t, _ = await sdk_walk(base_url, per_page, pages_expected=pages)
            s = await raw_walk(base_url, pages)
        ratios.append(t / max(s, per_page * pages))
        sdk_s.append(t)
        raw_s.append(s)
    progress.note("memory: a traced SDK walk")
    _, memory = await sdk_walk(base_url, per_page, trace=True, pages_expected=pages)
    ratio = summarize(ratios)
    return [
        Row(
            f"3. list {pages * PAGE_SIZE:,} campaigns ({pages} pages), SDK iterator / "
            "max(server, consumer)",
            f"{ratio.median:.2f}x",
            ratio.spread(),
            f"<= {GOAL}x",
            ratio.median <= GOAL,
            f"T {summarize(sdk_s).median:.1f} s, S {summarize(raw_s).median:.1f} s, "
            f"C {per_page * pages:.1f} s ({per_page * 1e3:.0f} ms/page)",
        ),
        Row(
            f"   memory while listing (tracemalloc), page 10 -> {pages}",
            f"{memory.drift / 1e3:+.0f} KB",
            "",
            f"<= {MEMORY_GOAL / 1e3:.0f} KB",
            memory.drift <= MEMORY_GOAL,
            f"peak {memory.peak_growth / 1e6:.1f} MB above page 1",
        ),
    ]
