"""3. Listing: 10,000 campaigns (100 pages of 100) from the fake over loopback, with a consumer
that spends a fixed time on each page.

Server-bound time ``S``: a bare httpx loop walking the same 100 pages (``json.loads``, no
models, no consumer): the floor for fetching. Consumer-bound time ``C``: 100 x the consumer's
time per page, set equal to ``S / 100`` from a first walk, the case where prefetch has the most
to hide (either side alone would take the whole time). Ideal: ``T = max(S, C)`` plus one page.
Each repeat walks raw then SDK (order alternating), and ``T / max(S, C)`` uses that repeat's
``S``.

With one page fetched ahead, a page that takes the server longer than the consumer's ``C / 100``
is waited for, whatever the client does, and the server's time per page varies. So the row
also gives ``T`` against the best any one-page-ahead client could do at the server's own times
in the same SDK walk (request sent to answer's headers, ``ti``):
``t1 + sum(max(C / 100, ti) for the later pages) + C / 100``. What is left is the client's
own work on the way: reading and decoding a page the consumer waits for, sending the next.

Memory is traced (tracemalloc) on separate walks, as tracing slows the client: the SDK and, for
comparison, raw httpx with the same consumer, from page 10 to page 99; and the SDK's own client
(on aiohttp) over 500 smaller pages, from page 300 to page 499, where the caches that keep
each distinct URL (bounded by their size) are full. Each reading is taken as the consumer gets
a page and drops it, after one turn of the event loop and before the next page has arrived:
whether one more page is alive at a reading (the next one, or this one still held by the
loop's handle that delivered it) would swing it by a page (~400 KB). Garbage is collected
before the readings compared: garbage waiting for the collector is not growth. (The last page
is not compared: no fetch follows it.) Each traced walk starts with those URL caches empty, as
a process's first listing does.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
import tracemalloc
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType

import httpx
import yarl

from . import progress
from .clients import FILTER, LIMITS, Transport, raw, sdk
from .table import Row, summarize

PAGES = 100
QUICK_PAGES = 25  # --quick: a harness check, not numbers
PAGE_SIZE = 100
GOAL = 1.1
MEMORY_GOAL = 100_000  # bytes of growth from page 10 to page 100 (read at 99: see above)
STEADY_PAGES = 500  # the steady-state memory walk: all the campaigns in 500 smaller pages,
STEADY_FROM = 300  # read from page 300 on, once the URL caches (128 entries each) are full
QUICK_STEADY_PAGES = 125  # --quick: the same walk, shorter (its caches do not fill)


@dataclass
class Tracer:
    """tracemalloc readings after each page of one walk; garbage is collected before the
    readings at pages 1, 10 and 99 and at the two pages the drift compares."""

    since: int
    until: int
    readings: dict[int, int] = field(default_factory=dict)
    peak: int = 0

    def __enter__(self) -> Tracer:
        _empty_url_caches()
        tracemalloc.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tracemalloc.stop()

    async def page(self, number: int) -> None:
        """Read after page ``number`` (counting from 1)."""
        if number in (1, 10, 99, self.since, self.until):
            # One turn of the event loop: when the consumer had waited for this page, the
            # loop's handle that woke it still holds the finished fetch, and with it the page.
            await asyncio.sleep(0)
            gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        self.readings[number] = current
        self.peak = max(self.peak, peak)

    @property
    def drift(self) -> int:
        """Bytes traced after page ``until`` minus after page ``since``."""
        return self.readings[self.until] - self.readings[self.since]

    @property
    def peak_growth(self) -> int:
        """The highest traced memory during the walk, minus that after page 1."""
        return self.peak - self.readings[1]


def _empty_url_caches() -> None:
    """Empty the caches that keep each distinct URL: ``urllib.parse``'s (filled by httpx's cookie
    code) and yarl's (aiohttp's). A traced walk starts as a process's first listing does, not
    with the URLs of the same pages already cached by the walk before it."""
    clear = getattr(urllib.parse.urlsplit, "cache_clear", None)  # an lru_cache since 3.11
    if clear is not None:
        clear()
    yarl.cache_clear()


async def raw_walk(
    base_url: str,
    pages_expected: int = PAGES,
    *,
    per_page: float = 0.0,
    tracer: Tracer | None = None,
) -> float:
    """Seconds for bare httpx to walk every page (``links.next``), with ``per_page`` seconds of
    consumer work a page (none: the server-bound walk)."""
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
            del response, document
            if tracer is not None:
                await tracer.page(pages)
            if per_page:
                await asyncio.sleep(per_page)
        elapsed = time.perf_counter() - started
    if pages != pages_expected:
        raise RuntimeError(f"expected {pages_expected} pages, walked {pages}")
    return elapsed


async def sdk_walk(
    base_url: str,
    per_page: float,
    *,
    tracer: Tracer | None = None,
    pages_expected: int = PAGES,
    page_size: int = PAGE_SIZE,
    transport: Transport = "httpcore",
    page_times: list[float] | None = None,
) -> float:
    """Seconds for ``kl.paginate(...).pages()`` with ``per_page`` seconds of consumer work; the
    server's time for each page (request sent to answer's headers) goes to ``page_times``."""
    http = None
    if page_times is not None:
        sent: list[float] = []

        async def on_request(request: httpx.Request) -> None:
            sent.append(time.perf_counter())

        async def on_response(response: httpx.Response) -> None:
            page_times.append(time.perf_counter() - sent.pop())

        hooks: dict[str, list[Callable[..., Awaitable[None]]]] = {
            "request": [on_request],
            "response": [on_response],
        }
        http = httpx.AsyncClient(limits=LIMITS, timeout=30.0, event_hooks=hooks)
    async with sdk(base_url, transport=transport, http=http) as kl:
        started = time.perf_counter()
        items = pages = 0
        walk = kl.paginate(kl.stable.get_campaigns, filter=FILTER, page_size=page_size).pages()
        async for page in walk:
            items += len(page.data)
            pages += 1
            del page
            if tracer is not None:  # before the next page has arrived, so none is held
                await tracer.page(pages)
            if per_page:
                await asyncio.sleep(per_page)  # the consumer: I/O-bound work on the page
        elapsed = time.perf_counter() - started
    if items != pages_expected * page_size:
        raise RuntimeError(f"expected {pages_expected * page_size} campaigns, got {items}")
    return elapsed


def one_ahead(page_times: list[float], per_page: float) -> float:
    """The best time any client fetching one page ahead can reach: the consumer waits for each
    page the server takes longer on than the consumer took on the page before."""
    first, *later = page_times
    return first + sum(max(per_page, t) for t in later) + per_page


async def measure(
    base_url: str, *, repeats: int, pages: int = PAGES, steady_pages: int = STEADY_PAGES
) -> list[Row]:
    """``T / max(S, C)`` over repeats, and the memory readings of the traced walks."""
    per_page = await raw_walk(base_url, pages) / pages  # calibrate: C = S
    ratios, bounds, sdk_s, raw_s = [], [], [], []
    for repeat in range(repeats):
        progress.note(f"repeat {repeat + 1}/{repeats} (raw and SDK walks)")
        page_times: list[float] = []
        if repeat % 2 == 0:
            s = await raw_walk(base_url, pages)
            t = await sdk_walk(base_url, per_page, pages_expected=pages, page_times=page_times)
        else:
            t = await sdk_walk(base_url, per_page, pages_expected=pages, page_times=page_times)
            s = await raw_walk(base_url, pages)
        ratios.append(t / max(s, per_page * pages))
        bounds.append(t / one_ahead(page_times, per_page))
        sdk_s.append(t)
        raw_s.append(s)
    progress.note("memory: traced SDK and raw walks")
    with Tracer(10, pages - 1) as sdk_memory:
        await sdk_walk(base_url, per_page, tracer=sdk_memory, pages_expected=pages)
    with Tracer(10, pages - 1) as raw_memory:
        await raw_walk(base_url, pages, per_page=per_page, tracer=raw_memory)
    progress.note(f"memory: the SDK's own client over {steady_pages} smaller pages")
    size = pages * PAGE_SIZE // steady_pages
    since = steady_pages * STEADY_FROM // STEADY_PAGES
    with Tracer(since, steady_pages - 1) as steady:
        await sdk_walk(
            base_url,
            0.0,
            tracer=steady,
            pages_expected=steady_pages,
            page_size=size,
            transport="aiohttp",
        )
    ratio, best = summarize(ratios), summarize(bounds)
    return [
        Row(
            f"3. list {pages * PAGE_SIZE:,} campaigns ({pages} pages), SDK iterator / "
            "max(server, consumer)",
            f"{ratio.median:.2f}x",
            ratio.spread(),
            f"<= {GOAL}x",
            ratio.median <= GOAL,
            f"T {summarize(sdk_s).median:.1f} s, S {summarize(raw_s).median:.1f} s, "
            f"C {per_page * pages:.1f} s ({per_page * 1e3:.0f} ms/page); T is "
            f"{best.median:.2f}x ({best.low:.2f}..{best.high:.2f}) the best one page ahead "
            "allows at the server's page times in the same walk",
        ),
        Row(
            f"   memory while listing (tracemalloc), page 10 -> {pages - 1}",
            f"{sdk_memory.drift / 1e3:+.0f} KB",
            "",
            f"<= {MEMORY_GOAL / 1e3:.0f} KB",
            sdk_memory.drift <= MEMORY_GOAL,
            f"raw httpx + json.loads {raw_memory.drift / 1e3:+.0f} KB; SDK peak "
            f"{sdk_memory.peak_growth / 1e6:.1f} MB above page 1",
        ),
        Row(
            f"   same, SDK's own client, page {since} -> {steady_pages - 1} of {size}",
            f"{steady.drift / 1e3:+.0f} KB",
            detail=f"page 10 -> 99 of the same walk: "
            f"{(steady.readings[99] - steady.readings[10]) / 1e3:+.0f} KB",
        ),
    ]
